// Source positions for startup errors: protobufjs keeps no positions for options, so the
// loader keeps each file's text and finds the construct an error is about.
import path from 'node:path';

/** A position in a .proto file, 1-based, as compilers print it. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** A startup error that names the file, line and column, and says how to fix it. */
export class ProtoError extends Error {
  override readonly name = 'ProtoError';
  constructor(
    readonly location: SourceLocation,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${formatLocation(location)}: ${problem} (${fix})`);
  }
}

/** `file:line:col`, with the file relative to the working directory when it is below it. */
export function formatLocation(location: SourceLocation): string {
  const relative = path.relative(process.cwd(), location.file);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? location.file : relative;
  return `${shown}:${location.line}:${location.col}`;
}

/** The text of one loaded .proto file, with offset → line:col conversion. */
export class ProtoSource {
  private readonly lineStarts: number[] = [0];
  /** The text with comments blanked out, so searches skip commented-out code. */
  private readonly code: string;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    this.code = stripComments(text);
  }

  /** The location of a character offset. */
  at(offset: number): SourceLocation {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }

  /** The location of line `line` (1-based), at the first occurrence of `token` on it if given. */
  atLine(line: number, token?: string): SourceLocation {
    const start = this.lineStarts[line - 1] ?? 0;
    const end = this.lineStarts[line] ?? this.text.length;
    const col = token === undefined ? -1 : this.text.slice(start, end).indexOf(token);
    return { file: this.file, line, col: col < 0 ? 1 : col + 1 };
  }

  /** Offset of a declaration like `rpc GetBook` / `message Book` / `service Library`, or -1. */
  findDeclaration(keyword: string, name: string, from = 0): number {
    const pattern = new RegExp(`\\b${keyword}\\s+${escapeRegExp(name)}\\b`, 'g');
    pattern.lastIndex = from;
    const found = pattern.exec(this.code);
    return found ? found.index : -1;
  }

  /** Offset of `needle` at or after `from` (comments ignored), or -1. */
  find(needle: string, from = 0): number {
    return this.code.indexOf(needle, from);
  }
}

/** The text with comments blanked out (same length, so offsets still hold). */
function stripComments(text: string): string {
  return text.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (m) =>
    m.startsWith('/') ? m.replace(/[^\n]/g, ' ') : m,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// HttpRule path templates: parsing `google.api.http` paths into the one template model that the
// route table, codegen and the OpenAPI writer all share. Grammar from google/api/http.proto:
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
import { decodeComponent } from './percent-decoding.js';

/** One segment of a template once variables are expanded into their own segments. */
export type Segment =
  | { kind: 'literal'; value: string }
  /** `*`: exactly one path segment. */
  | { kind: 'wildcard' }
  /** `**`: zero or more path segments (http.proto). */
  | { kind: 'deep' };

/** A `{field.path=…}` variable and the segments it covers. */
export interface TemplateVariable {
  /** Proto field names, e.g. `['book', 'name']`. */
  fieldPath: readonly string[];
  /** Index of its first segment in `PathTemplate.segments`. */
  startSegment: number;
  /** Index after its last segment. */
  endSegment: number;
  /** Contains `**` or more than one segment: its value keeps `%2F` encoded (http.proto). */
  multiSegment: boolean;
}

/** A parsed path template. */
export interface PathTemplate {
  /** The template as written. */
  readonly source: string;
  readonly segments: readonly Segment[];
  /** Custom verb without the ':'. */
  readonly verb: string | undefined;
  readonly variables: readonly TemplateVariable[];
}

/** The outcome of `parsePathTemplate`: never an exception. */
export type TemplateParseResult =
  | { ok: true; template: PathTemplate }
  | { ok: false; message: string; /** 0-based char offset in source */ offset: number };

class TemplateSyntaxError {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
// RFC 3986 pchar minus ':' (the verb separator) and '*' (reserved for wildcards); '%' is
// checked separately because it must introduce a two-digit escape.
const LITERAL_CHAR = /[A-Za-z0-9\-._~!$&'()+,;=@]/;
const HEX = /[0-9A-Fa-f]/;

/** Parses an HttpRule path template. Returns an error with a message and offset, never throws. */
export function parsePathTemplate(source: string): TemplateParseResult {
  try {
    return { ok: true, template: new TemplateParser(source).parse() };
  } catch (err) {
    if (err instanceof TemplateSyntaxError) {
      return { ok: false, message: err.message, offset: err.offset };
    }
    throw err;
  }
}

class TemplateParser {
  private pos = 0;
  private readonly segments: Segment[] = [];
  /** Char offset of each entry in `segments`, for errors found after the segment was read. */
  private readonly segmentOffsets: number[] = [];
  private readonly variables: TemplateVariable[] = [];
  private inVariable = false;

  constructor(private readonly source: string) {}

  parse(): PathTemplate {
    const src = this.source;
    if (src.length === 0) this.fail('template is empty; it must begin with "/"', 0);
    if (src[0] !== '/') this.fail(`template must begin with "/", found ${describe(src[0])}`, 0);
    this.pos = 1;
    this.parseSegments();
    let verb: string | undefined;
    if (src[this.pos] === ':') {
      this.pos++;
      verb = this.parseLiteral('verb');
    }
    if (this.pos < src.length) {
      const c = src[this.pos];
      const why =
        c === '}'
          ? 'unbalanced "}" (no variable is open)'
          : c === ':'
            ? 'a custom verb must be the last part of the template'
            : `unexpected ${describe(c)}`;
      this.fail(why, this.pos);
    }
    this.checkDeepIsFollowedByLiterals();
    return Object.freeze({
      source: src,
      segments: Object.freeze(this.segments),
      verb,
      variables: Object.freeze(this.variables),
    });
  }

  private parseSegments(): void {
    this.parseSegment();
    while (this.source[this.pos] === '/') {
      this.pos++;
      this.parseSegment();
    }
  }

  private parseSegment(): void {
    const src = this.source;
    const start = this.pos;
    const c = src[start];
    if (c === undefined || c === '/' || c === ':' || (c === '}' && this.inVariable)) {
      this.fail('empty segment (a template has no "//", trailing "/" or "/:")', start);
    }
    if (c === '}') this.fail('unbalanced "}" (no variable is open)', start);
    if (c === '*') {
      this.pos++;
      const deep = src[this.pos] === '*';
      if (deep) this.pos++;
      const next = src[this.pos];
      if (next !== undefined && next !== '/' && next !== ':' && next !== '}') {
        this.fail('"*" and "**" must be a whole segment', start);
      }
      this.push(deep ? { kind: 'deep' } : { kind: 'wildcard' }, start);
      return;
    }
    if (c === '{') {
      if (this.inVariable) this.fail('nested variables are not allowed', start);
      this.parseVariable();
      return;
    }
    this.push({ kind: 'literal', value: this.parseLiteral('literal') }, start);
  }

  private parseVariable(): void {
    const src = this.source;
    const open = this.pos;
    this.pos++; // '{'
    const fieldPath = this.parseFieldPath();
    const key = fieldPath.join('.');
    if (this.variables.some((v) => v.fieldPath.join('.') === key)) {
      this.fail(`variable "${key}" appears more than once`, open + 1);
    }
    const startSegment = this.segments.length;
    if (src[this.pos] === '=') {
      this.pos++;
      this.inVariable = true;
      this.parseSegments();
      this.inVariable = false;
    } else {
      // http.proto: `{var}` is equivalent to `{var=*}`.
      this.push({ kind: 'wildcard' }, open);
    }
    if (src[this.pos] !== '}') {
      if (this.pos >= src.length) this.fail('unbalanced "{": missing "}"', open);
      this.fail(`expected "}" to close the variable opened at ${open}, found ${describe(src[this.pos])}`, this.pos);
    }
    this.pos++;
    const endSegment = this.segments.length;
    const covered = this.segments.slice(startSegment, endSegment);
    this.variables.push(
      Object.freeze({
        fieldPath: Object.freeze(fieldPath),
        startSegment,
        endSegment,
        multiSegment: endSegment - startSegment > 1 || covered.some((s) => s.kind === 'deep'),
      }),
    );
  }

  private parseFieldPath(): string[] {
    const path = [this.parseIdent()];
    while (this.source[this.pos] === '.') {
      this.pos++;
      path.push(this.parseIdent());
    }
    return path;
  }

  private parseIdent(): string {
    const src = this.source;
    const start = this.pos;
    const first = src[start];
    if (first === undefined || !IDENT_START.test(first)) {
      this.fail(`expected a field name (letter or "_"), found ${describe(first)}`, start);
    }
    this.pos++;
    while (this.pos < src.length && IDENT_PART.test(src[this.pos]!)) this.pos++;
    return src.slice(start, this.pos);
  }

  /** A literal segment or verb; returns it percent-decoded, so it compares with decoded paths. */
  private parseLiteral(what: 'literal' | 'verb'): string {
    const src = this.source;
    const start = this.pos;
    for (;;) {
      const c = src[this.pos];
      if (c === undefined || c === '/' || c === ':' || c === '}') break;
      if (c === '%') {
        if (!HEX.test(src[this.pos + 1] ?? '') || !HEX.test(src[this.pos + 2] ?? '')) {
          this.fail('malformed percent-encoding (expected "%" and two hex digits)', this.pos);
        }
        this.pos += 3;
        continue;
      }
      if (c === '*') this.fail('"*" and "**" must be a whole segment', this.pos);
      if (c === '{') this.fail('a variable must be a whole segment', this.pos);
      if (!LITERAL_CHAR.test(c)) this.fail(`${describe(c)} is not allowed in a ${what} (percent-encode it)`, this.pos);
      this.pos++;
    }
    if (this.pos === start) this.fail(what === 'verb' ? 'empty custom verb after ":"' : 'empty segment', start);
    const decoded = decodeComponent(src.slice(start, this.pos));
    if (decoded === undefined) this.fail('percent-encoding does not decode to UTF-8', start);
    return decoded;
  }

  /**
   * http.proto says `**` must be the last part of the path; Envoy's transcoder relaxes this to
   * "only literal segments may follow `**`" (e.g. `/v1/{name=shelves/**}/books`), which we follow.
   * With literals only after it, a match fixes how many segments `**` takes. A literal-only
   * variable after `**` (`{x=foo}`) passes, as in Envoy, and binds its literal text.
   */
  private checkDeepIsFollowedByLiterals(): void {
    const deepAt = this.segments.findIndex((s) => s.kind === 'deep');
    if (deepAt < 0) return;
    for (let i = deepAt + 1; i < this.segments.length; i++) {
      if (this.segments[i]!.kind !== 'literal') {
        this.fail('only literal segments may follow "**" (the matched length would be ambiguous)', this.segmentOffsets[i]!);
      }
    }
  }

  private push(segment: Segment, offset: number): void {
    this.segments.push(Object.freeze(segment));
    this.segmentOffsets.push(offset);
  }

  private fail(message: string, offset: number): never {
    throw new TemplateSyntaxError(message, offset);
  }
}

function describe(c: string | undefined): string {
  if (c === undefined) return 'end of template';
  return JSON.stringify(c);
}

/**
 * A canonical key so two templates that match the same paths compare equal: `{a}` ≡ `{a=*}` ≡ `*`,
 * variable names ignored, literals compared decoded (`%61` ≡ `a`).
 */
export function templateShapeKey(t: PathTemplate): string {
  let key = '';
  for (const s of t.segments) {
    key += s.kind === 'literal' ? `/=${encodeURIComponent(s.value)}` : s.kind === 'wildcard' ? '/*' : '/**';
  }
  return t.verb === undefined ? key : `${key}:${encodeURIComponent(t.verb)}`;
}

// Request-body stage 1: a strict RFC 8259 JSON parser that keeps what the proto3 JSON mapping
// needs and JSON.parse loses: exact lexemes of big numbers, duplicate-key and depth checks.
import { truncate } from '../../errors/user-input.js';
import { badRequest } from '../../errors/gateway-error.js';

/** A parsed JSON value. Objects have a null prototype, so `"__proto__"` is plain data. */
export type JsonValue = null | boolean | number | string | JsonNumber | JsonValue[] | JsonObject;

/** A parsed JSON object (created with `Object.create(null)`). */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * A number literal whose value a JS number cannot hold exactly (e.g. 9223372036854775807):
 * the lexeme is kept so int64 fields can be converted without going through a lossy double.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** Options of {@link parseJson}. */
export interface ParseJsonOptions {
  /** Maximum nesting of arrays and objects (default 100). */
  maxDepth?: number;
  /** Maximum object members plus array elements in the whole document (default: no limit). */
  maxFields?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses JSON text (bytes must be UTF-8). Throws a GatewayError with reason PG_BAD_JSON on a
 * syntax error (naming the character offset), trailing data, invalid UTF-8, a lone surrogate,
 * nesting deeper than `maxDepth`, more than `maxFields` members and elements, or a key given
 * twice in one object.
 */
export function parseJson(input: Uint8Array | string, options?: ParseJsonOptions): JsonValue {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = utf8.decode(input);
    } catch {
      throw badRequest('PG_BAD_JSON', '', 'the request body is not valid UTF-8');
    }
  }
  const parser = new Parser(text, options?.maxDepth ?? 100, options?.maxFields ?? Infinity);
  parser.skipWhitespace();
  const value = parser.value();
  parser.skipWhitespace();
  if (parser.pos < text.length) parser.fail('unexpected data after the JSON value');
  return value;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

class Parser {
  pos = 0;
  private depth = 0;
  /** Members and elements left before `maxFields` is exceeded. */
  private fieldsLeft: number;

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
    private readonly maxFields: number,
  ) {
    this.fieldsLeft = maxFields;
  }

  fail(what: string, at = this.pos): never {
    throw badRequest('PG_BAD_JSON', '', `invalid JSON at offset ${at}: ${what}`);
  }

  skipWhitespace(): void {
    const s = this.s;
    let i = this.pos;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  value(): JsonValue {
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object();
      case 0x5b /* [ */:
        return this.array();
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        if (Number.isNaN(c)) this.fail('unexpected end of input');
        return this.fail(`unexpected character ${JSON.stringify(this.s[this.pos])}`);
    }
  }

  private literal<T>(word: string, result: T): T {
    if (this.s.startsWith(word, this.pos)) {
      this.pos += word.length;
      return result;
    }
    return this.fail('invalid literal');
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
  }

  /** Counts one member or element; checked before the value is parsed, so a huge array stops early. */
  private countField(): void {
    if (--this.fieldsLeft < 0) {
      throw badRequest('PG_BAD_JSON', '', `the JSON body has more than ${this.maxFields} object members and array elements (limit json.maxFields)`);
    }
  }

  private object(): JsonObject {
    this.enter();
    const obj = Object.create(null) as JsonObject;
    const s = this.s;
    this.pos++;
    this.skipWhitespace();
    if (s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      this.depth--;
      return obj;
    }
    for (;;) {
      this.countField();
      if (s.charCodeAt(this.pos) !== 0x22) this.fail('expected a string key');
      const keyAt = this.pos;
      const key = this.string();
      this.skipWhitespace();
      if (s.charCodeAt(this.pos) !== 0x3a) this.fail('expected ":"');
      this.pos++;
      this.skipWhitespace();
      const v = this.value();
      if (obj[key] !== undefined) this.fail(`duplicate key ${JSON.stringify(truncate(key))}`, keyAt);
      obj[key] = v;
      this.skipWhitespace();
      const c = s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 0x7d) {
        this.pos++;
        this.depth--;
        return obj;
      } else {
        this.fail('expected "," or "}"');
      }
    }
  }

  private array(): JsonValue[] {
    this.enter();
    const arr: JsonValue[] = [];
    const s = this.s;
    this.pos++;
    this.skipWhitespace();
    if (s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      this.depth--;
      return arr;
    }
    for (;;) {
      this.countField();
      arr.push(this.value());
      this.skipWhitespace();
      const c = s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 0x5d) {
        this.pos++;
        this.depth--;
        return arr;
      } else {
        this.fail('expected "," or "]"');
      }
    }
  }

  string(): string {
    const s = this.s;
    const start = ++this.pos;
    let i = start;
    // Fast path: no escapes, no control characters, no surrogates.
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return s.slice(start, i);
      }
      if (c === 0x5c || c < 0x20 || (c >= 0xd800 && c <= 0xdfff) || Number.isNaN(c)) break;
      i++;
    }
    let out = s.slice(start, i);
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c)) this.fail('unterminated string', i);
      if (c === 0x22) {
        this.pos = i + 1;
        return out;
      }
      if (c < 0x20) this.fail('control character in string', i);
      if (c === 0x5c) {
        const e = s.charCodeAt(i + 1);
        i += 2;
        switch (e) {
          case 0x22: out += '"'; break;
          case 0x5c: out += '\\'; break;
          case 0x2f: out += '/'; break;
          case 0x62: out += '\b'; break;
          case 0x66: out += '\f'; break;
          case 0x6e: out += '\n'; break;
          case 0x72: out += '\r'; break;
          case 0x74: out += '\t'; break;
          case 0x75: {
            const u = this.hex4(i);
            i += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
              if (s.charCodeAt(i) !== 0x5c || s.charCodeAt(i + 1) !== 0x75) this.fail('lone surrogate escape', i - 6);
              const lo = this.hex4(i + 2);
              if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone surrogate escape', i - 6);
              i += 6;
              out += String.fromCharCode(u, lo);
            } else if (u >= 0xdc00 && u <= 0xdfff) {
              this.fail('lone surrogate escape', i - 6);
            } else {
              out += String.fromCharCode(u);
            }
            break;
          }
          default:
            this.fail('invalid escape', i - 2);
        }
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = s.charCodeAt(i + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.fail('lone surrogate', i);
        out += s.slice(i, i + 2);
        i += 2;
        continue;
      }
      out += s[i];
      i++;
    }
  }

  private hex4(at: number): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(at + k);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return this.fail('invalid \\u escape', at);
      v = v * 16 + d;
    }
    return v;
  }

  private number(): number | JsonNumber {
    const s = this.s;
    const start = this.pos;
    let i = start;
    let plain = true; // integer syntax: no fraction, no exponent
    if (s.charCodeAt(i) === 0x2d) i++;
    const first = s.charCodeAt(i);
    if (first === 0x30) {
      i++;
    } else if (first >= 0x31 && first <= 0x39) {
      do i++;
      while (isDigit(s.charCodeAt(i)));
    } else {
      this.fail('invalid number', start);
    }
    if (s.charCodeAt(i) === 0x2e) {
      plain = false;
      i++;
      if (!isDigit(s.charCodeAt(i))) this.fail('invalid number', start);
      do i++;
      while (isDigit(s.charCodeAt(i)));
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      plain = false;
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(s.charCodeAt(i))) this.fail('invalid number', start);
      do i++;
      while (isDigit(s.charCodeAt(i)));
    }
    if (isDigit(s.charCodeAt(i)) && first === 0x30) this.fail('leading zero in number', start);
    this.pos = i;
    const text = s.slice(start, i);
    const n = +text;
    // Keep the lexeme when the double may not be the exact value: too big to be a safe integer,
    // overflowing, or many digits that happen to round to an integer ("1.00000000000000001").
    if (!(n <= MAX_SAFE && n >= -MAX_SAFE) || (!plain && text.length > 16 && Number.isInteger(n))) {
      return new JsonNumber(text);
    }
    return n;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}


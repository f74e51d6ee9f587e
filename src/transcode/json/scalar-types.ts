// The proto3 JSON mapping of each scalar type, both directions: JSON value → wire value → Writer,
// and Reader → JSON text. Built once; the per-field closures of the codecs call into these.
import protobuf from 'protobufjs';
import { truncate } from '../../errors/user-input.js';
import { JsonNumber, type JsonValue } from './json-parser.js';
import type { JsonReadOptions } from './codec.js';
import type { Reason } from '../../errors/catalogue.js';

type Writer = protobuf.Writer;
type Reader = protobuf.Reader;

/** A value a field cannot take; the codec adds the field path and turns it into a GatewayError. */
export class ValueError extends Error {
  constructor(
    readonly description: string,
    readonly reason: Reason = 'PG_BAD_FIELD_VALUE',
  ) {
    super(description);
  }
}

/** Short printable form of a JSON value for error messages. */
export function show(v: JsonValue): string {
  if (v instanceof JsonNumber) return truncate(v.text);
  if (typeof v === 'string') return JSON.stringify(truncate(v));
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}

/** A 64-bit integer the Writer accepts: a safe number or low/high 32-bit halves. */
export type Int64 = number | { low: number; high: number };

/** How one scalar type maps to JSON and to the wire. */
export interface ScalarType {
  readonly name: string;
  /** Wire type of one element. */
  readonly wireType: number;
  /** Whether repeated fields of this type may be packed. */
  readonly packable: boolean;
  /** JSON value → wire value; throws ValueError. */
  fromJson(v: JsonValue, opts: JsonReadOptions): unknown;
  /** Map key text → wire value; throws ValueError. */
  fromKey(key: string): unknown;
  /** True for the zero value (not written for implicit-presence fields). */
  isDefault(x: unknown): boolean;
  write(w: Writer, x: unknown): void;
  /** Reads one element from the wire into its output form (number, decimal string, …). */
  read(r: Reader): unknown;
  /** Output form → JSON text. */
  toJson(x: unknown): string;
  /** Output form → map key (unquoted). */
  toKey(x: unknown): string;
  /** JSON text of the default value. */
  readonly defaultJson: string;
  /** True if the output form is the default value. */
  isDefaultOut(x: unknown): boolean;
}

// ---- integers -------------------------------------------------------------------------------

const SMALL_INT = /^-?(?:0|[1-9]\d{0,14})$/;
const NUMBER_SYNTAX = /^(-)?(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const TOO_BIG = 10n ** 30n;

/** The exact integer a JSON number lexeme denotes, or undefined if it is not an integer. */
export function exactInteger(text: string): bigint | undefined {
  const m = NUMBER_SYNTAX.exec(text);
  if (m === null) return undefined;
  const frac = m[3] ?? '';
  let digits = (m[2] + frac).replace(/^0+/, '');
  if (digits === '') return 0n;
  let exp = (m[4] === undefined ? 0 : Number(m[4])) - frac.length;
  let end = digits.length;
  while (digits.charCodeAt(end - 1) === 0x30) end--;
  exp += digits.length - end;
  digits = digits.slice(0, end);
  if (exp < 0) return undefined;
  const negative = m[1] === '-';
  if (digits.length + exp > 30) return negative ? -TOO_BIG : TOO_BIG;
  const value = BigInt(digits) * 10n ** BigInt(exp);
  return negative ? -value : value;
}

function integerFromJson(v: JsonValue, type: string): number | bigint {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v;
    throw new ValueError(`${show(v)} is not an ${type} (not an integer)`);
  }
  let text: string;
  if (typeof v === 'string') {
    if (SMALL_INT.test(v)) return +v;
    text = v;
  } else if (v instanceof JsonNumber) {
    text = v.text;
  } else {
    throw new ValueError(`${show(v)} is not an ${type}`);
  }
  const b = exactInteger(text);
  if (b === undefined) throw new ValueError(`${show(v)} is not an ${type}`);
  return b;
}

function int32Range(min: number, max: number, type: string) {
  return (v: JsonValue): number => {
    const n = integerFromJson(v, type);
    if (typeof n === 'number') {
      if (n >= min && n <= max) return n;
    } else if (n >= BigInt(min) && n <= BigInt(max)) {
      return Number(n);
    }
    throw new ValueError(`${show(v)} is out of range for ${type}`);
  };
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

function int64Range(unsigned: boolean, type: string) {
  const min = unsigned ? 0n : I64_MIN;
  const max = unsigned ? U64_MAX : I64_MAX;
  return (v: JsonValue): Int64 => {
    const n = integerFromJson(v, type);
    if (typeof n === 'number') {
      if (Number.isSafeInteger(n) && (n >= 0 || !unsigned)) return n;
      if (!Number.isSafeInteger(n)) return bigToInt64(BigInt(n), min, max, v, type);
      throw new ValueError(`${show(v)} is out of range for ${type}`);
    }
    return bigToInt64(n, min, max, v, type);
  };
}

function bigToInt64(n: bigint, min: bigint, max: bigint, v: JsonValue, type: string): Int64 {
  if (n < min || n > max) throw new ValueError(`${show(v)} is out of range for ${type}`);
  const u = BigInt.asUintN(64, n);
  return { low: Number(u & 0xffffffffn), high: Number(u >> 32n) };
}

/** Malformed protobuf input (truncated data, bad varint, bad wire type, invalid UTF-8). */
export class WireFormatError extends Error {}

/** A valid message that has no JSON form (e.g. a Duration out of range, a FieldMask path that does not round-trip). */
export class UnrepresentableError extends Error {}

/** Reads a varint of up to 10 bytes and keeps its low 32 bits (as protobuf does for 32-bit fields). */
export function readUint32(r: Reader): number {
  const buf = r.buf;
  let pos = r.pos;
  let b = buf[pos++] as number;
  if (b < 0x80 && pos <= r.len) {
    r.pos = pos;
    return b;
  }
  return readVarint64(r)[0];
}

/** Reads an int32 varint (negative values are 10-byte varints). */
export function readInt32(r: Reader): number {
  return readUint32(r) | 0;
}

/** Skips the value of a field (given its tag), checking group nesting and bounds. */
export function skipField(r: Reader, tag: number): void {
  const wireType = tag & 7;
  switch (wireType) {
    case 0:
      readVarint64(r);
      return;
    case 1:
      advance(r, 8);
      return;
    case 2:
      advance(r, readUint32(r));
      return;
    case 5:
      advance(r, 4);
      return;
    case 3:
      for (;;) {
        if (r.pos >= r.len) throw new WireFormatError('unterminated group');
        const inner = readUint32(r);
        if (inner >>> 3 === 0) throw new WireFormatError('invalid field number 0');
        if ((inner & 7) === 4) {
          if (inner >>> 3 !== tag >>> 3) throw new WireFormatError('mismatched group end tag');
          return;
        }
        skipField(r, inner);
      }
    default:
      throw new WireFormatError(`invalid wire type ${wireType}`);
  }
}

function advance(r: Reader, n: number): void {
  if (r.pos + n > r.len) throw new WireFormatError('field overruns the message');
  r.pos += n;
}

/** Reads a bool varint: any non-zero 64-bit value is true. */
export function readBool(r: Reader): boolean {
  const [lo, hi] = readVarint64(r);
  return lo !== 0 || hi !== 0;
}

/** Reads a varint as two 32-bit halves (protobufjs would go through a double without `long`). */
function readVarint64(r: Reader): [number, number] {
  const buf = r.buf;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    b = buf[pos++] as number;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return finishVarint(r, pos, lo, hi);
  }
  b = buf[pos++] as number;
  lo |= (b & 0x7f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) return finishVarint(r, pos, lo, hi);
  for (let shift = 3; shift < 32; shift += 7) {
    b = buf[pos++] as number;
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) return finishVarint(r, pos, lo, hi);
  }
  throw new WireFormatError('invalid varint encoding');
}

function finishVarint(r: Reader, pos: number, lo: number, hi: number): [number, number] {
  if (pos > r.len) throw new WireFormatError('truncated varint');
  r.pos = pos;
  return [lo >>> 0, hi >>> 0];
}

function readFixed64(r: Reader): [number, number] {
  const lo = r.fixed32();
  return [lo, r.fixed32()];
}

function unsignedDecimal(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function signedDecimal(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  if (hi >= 0xffe00000) return String((hi - 4294967296) * 4294967296 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function zigzagDecimal(lo: number, hi: number): string {
  const u = (BigInt(hi) << 32n) | BigInt(lo);
  return ((u >> 1n) ^ -(u & 1n)).toString();
}

/** Reads a signed int64 varint as a JS number (exact for the ranges the WKTs allow). */
export function readInt64Number(r: Reader): number {
  const [lo, hi] = readVarint64(r);
  return Number(signedDecimal(lo, hi));
}

// ---- floats ---------------------------------------------------------------------------------

const FLOAT_SYNTAX = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function doubleFromJson(v: JsonValue, type: string): number {
  if (typeof v === 'number') return v;
  let n: number;
  if (v instanceof JsonNumber) {
    n = +v.text;
  } else if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (!FLOAT_SYNTAX.test(v)) throw new ValueError(`${show(v)} is not a ${type}`);
    n = +v;
  } else {
    throw new ValueError(`${show(v)} is not a ${type}`);
  }
  if (!Number.isFinite(n)) throw new ValueError(`${show(v)} is out of range for ${type}`);
  return n;
}

function floatFromJson(v: JsonValue): number {
  const n = doubleFromJson(v, 'float');
  if (Number.isFinite(n) && !Number.isFinite(Math.fround(n))) {
    throw new ValueError(`${show(v)} is out of range for float`);
  }
  return n;
}

function formatDouble(x: number): string {
  if (x !== x) return '"NaN"';
  if (x === Infinity) return '"Infinity"';
  if (x === -Infinity) return '"-Infinity"';
  if (x === 0 && 1 / x < 0) return '-0';
  return String(x);
}

/** The shortest decimal that reads back as the same float32. */
export function formatFloat(x: number): string {
  if (x !== x || x === Infinity || x === -Infinity || x === 0) return formatDouble(x);
  for (let p = 1; p < 10; p++) {
    const t = +x.toPrecision(p);
    if (Math.fround(t) === x) return String(t);
  }
  return String(x);
}

// ---- strings and bytes ----------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a length-delimited field as a view into the reader's buffer. */
export function readBytesView(r: Reader): Uint8Array {
  const len = readUint32(r);
  const start = r.pos;
  const end = start + len;
  if (end > r.len) throw new WireFormatError('length-delimited field overruns the message');
  r.pos = end;
  return r.buf.subarray(start, end);
}

/** Reads a string field, rejecting invalid UTF-8. */
export function readString(r: Reader): string {
  const bytes = readBytesView(r);
  const n = bytes.length;
  if (n < 64) {
    let ascii = '';
    let i = 0;
    for (; i < n; i++) {
      const c = bytes[i] as number;
      if (c >= 0x80) break;
      ascii += String.fromCharCode(c);
    }
    if (i === n) return ascii;
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WireFormatError('invalid UTF-8 in a string field');
  }
}

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** Decodes standard or URL-safe base64, with or without padding. */
export function decodeBase64(text: string): Uint8Array {
  if (!BASE64.test(text)) throw new ValueError(`${show(text)} is not base64`);
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if ((pad > 0 && text.length % 4 !== 0) || (text.length - pad) % 4 === 1) {
    throw new ValueError(`${show(text)} is not base64`);
  }
  return Buffer.from(text, 'base64');
}

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function stringFromJson(v: JsonValue, opts: JsonReadOptions): string {
  if (typeof v !== 'string') throw new ValueError(`${show(v)} is not a string`);
  return v;
}

function boolFromJson(v: JsonValue, opts: JsonReadOptions): boolean {
  if (v === true || v === false) return v;
  throw new ValueError(`${show(v)} is not a bool`);
}

// ---- the table ------------------------------------------------------------------------------

const isZero = (x: unknown): boolean => x === 0;
const isPositiveZero = (x: unknown): boolean => x === 0 && 1 / (x as number) > 0;
const isZeroText = (x: unknown): boolean => x === '0';
const numberText = (x: unknown): string => String(x);
const quoted = (x: unknown): string => `"${x as string}"`;
const plainKey = (x: unknown): string => String(x);

function int32Type(
  name: string,
  wireType: number,
  range: (v: JsonValue) => number,
  write: (w: Writer, x: number) => void,
  read: (r: Reader) => number,
): ScalarType {
  return {
    name,
    wireType,
    packable: true,
    fromJson: range,
    fromKey: range,
    isDefault: isZero,
    write: write as (w: Writer, x: unknown) => void,
    read,
    toJson: numberText,
    toKey: plainKey,
    defaultJson: '0',
    isDefaultOut: isZero,
  };
}

function int64Type(
  name: string,
  wireType: number,
  unsigned: boolean,
  write: (w: Writer, x: Int64) => void,
  read: (r: Reader) => string,
): ScalarType {
  const range = int64Range(unsigned, name);
  return {
    name,
    wireType,
    packable: true,
    fromJson: range,
    fromKey: range,
    isDefault: isZero,
    write: write as (w: Writer, x: unknown) => void,
    read,
    toJson: quoted,
    toKey: plainKey,
    defaultJson: '"0"',
    isDefaultOut: isZeroText,
  };
}

const noKey = (): never => {
  throw new ValueError('not a valid map key type');
};

const int32Range32 = int32Range(-2147483648, 2147483647, 'int32');
const uint32Range = int32Range(0, 4294967295, 'uint32');

/** Every scalar type of proto3, by its .proto name. */
export const scalarTypes: Readonly<Record<string, ScalarType>> = {
  int32: int32Type('int32', 0, int32Range32, (w, x) => w.int32(x), (r) => readInt32(r)),
  sint32: int32Type('sint32', 0, int32Range(-2147483648, 2147483647, 'sint32'), (w, x) => w.sint32(x), (r) => { const n = readUint32(r); return (n >>> 1) ^ -(n & 1); }),
  sfixed32: int32Type('sfixed32', 5, int32Range(-2147483648, 2147483647, 'sfixed32'), (w, x) => w.sfixed32(x), (r) => r.sfixed32()),
  uint32: int32Type('uint32', 0, uint32Range, (w, x) => w.uint32(x), (r) => readUint32(r)),
  fixed32: int32Type('fixed32', 5, int32Range(0, 4294967295, 'fixed32'), (w, x) => w.fixed32(x), (r) => r.fixed32()),
  int64: int64Type('int64', 0, false, (w, x) => w.int64(x as never), (r) => signedDecimal(...readVarint64(r))),
  sint64: int64Type('sint64', 0, false, (w, x) => w.sint64(x as never), (r) => zigzagDecimal(...readVarint64(r))),
  sfixed64: int64Type('sfixed64', 1, false, (w, x) => w.sfixed64(x as never), (r) => signedDecimal(...readFixed64(r))),
  uint64: int64Type('uint64', 0, true, (w, x) => w.uint64(x as never), (r) => unsignedDecimal(...readVarint64(r))),
  fixed64: int64Type('fixed64', 1, true, (w, x) => w.fixed64(x as never), (r) => unsignedDecimal(...readFixed64(r))),
  float: {
    name: 'float',
    wireType: 5,
    packable: true,
    fromJson: floatFromJson,
    fromKey: noKey,
    isDefault: isPositiveZero,
    write: (w, x) => w.float(x as number),
    read: (r) => r.float(),
    toJson: (x) => formatFloat(x as number),
    toKey: noKey,
    defaultJson: '0',
    isDefaultOut: isPositiveZero,
  },
  double: {
    name: 'double',
    wireType: 1,
    packable: true,
    fromJson: (v) => doubleFromJson(v, 'double'),
    fromKey: noKey,
    isDefault: isPositiveZero,
    write: (w, x) => w.double(x as number),
    read: (r) => r.double(),
    toJson: (x) => formatDouble(x as number),
    toKey: noKey,
    defaultJson: '0',
    isDefaultOut: isPositiveZero,
  },
  bool: {
    name: 'bool',
    wireType: 0,
    packable: true,
    fromJson: boolFromJson,
    fromKey: (key) => {
      if (key === 'true') return true;
      if (key === 'false') return false;
      throw new ValueError(`${show(key)} is not a bool`);
    },
    isDefault: (x) => x === false,
    write: (w, x) => w.bool(x as boolean),
    read: (r) => readBool(r),
    toJson: (x) => (x ? 'true' : 'false'),
    toKey: (x) => (x ? 'true' : 'false'),
    defaultJson: 'false',
    isDefaultOut: (x) => x === false,
  },
  string: {
    name: 'string',
    wireType: 2,
    packable: false,
    fromJson: stringFromJson,
    fromKey: (key) => key,
    isDefault: (x) => x === '',
    write: (w, x) => w.string(x as string),
    read: readString,
    toJson: (x) => JSON.stringify(x),
    toKey: (x) => x as string,
    defaultJson: '""',
    isDefaultOut: (x) => x === '',
  },
  bytes: {
    name: 'bytes',
    wireType: 2,
    packable: false,
    fromJson: (v) => {
      if (typeof v !== 'string') throw new ValueError(`${show(v)} is not base64 bytes`);
      return decodeBase64(v);
    },
    fromKey: noKey,
    isDefault: (x) => (x as Uint8Array).length === 0,
    write: (w, x) => w.bytes(x as Uint8Array),
    read: readBytesView,
    toJson: (x) => `"${encodeBase64(x as Uint8Array)}"`,
    toKey: noKey,
    defaultJson: '""',
    isDefaultOut: (x) => (x as Uint8Array).length === 0,
  },
};

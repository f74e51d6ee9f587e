// The well-known types whose JSON form is not the generic object form (protobuf.dev JSON mapping):
// Timestamp, Duration, FieldMask, Struct/Value/ListValue, Any and the wrappers. Both directions.
// Empty and NullValue need nothing special (Empty is `{}`; NullValue is handled with enums).
import protobuf from 'protobufjs';
import { badRequest } from '../../errors/gateway-error.js';
import { JsonNumber, type JsonValue } from './json-parser.js';
import {
  readBool,
  readBytesView,
  readInt32,
  readInt64Number,
  readString,
  readUint32,
  scalarTypes,
  show,
  skipField,
  UnrepresentableError,
  ValueError,
  type ScalarType,
} from './scalar-types.js';
import { isJsonObject } from './json-request-decoder.js';
import { joinPath, type CodecLookup, type JsonReadOptions, type JsonWriteOptions } from './codec.js';

type Writer = protobuf.Writer;

/** Both directions of one well-known type with a special JSON form. */
export interface SpecialWellKnownType {
  encode(v: JsonValue, w: Writer, opts: JsonReadOptions, path: string, lookup: CodecLookup): void;
  toJson(bytes: Uint8Array, opts: JsonWriteOptions, lookup: CodecLookup): string;
}

function bad(path: string, description: string): never {
  throw badRequest('PG_BAD_FIELD_VALUE', path, description);
}

// ---- Timestamp ------------------------------------------------------------------------------

// RFC 3339 with an upper-case T and Z (as the reference implementations require).
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const MIN_SECONDS = -62135596800; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

function nanosOf(frac: string | undefined): number {
  return frac === undefined ? 0 : Number(frac.padEnd(9, '0'));
}

/** 0, 3, 6 or 9 fractional digits, with the dot ('' for 0). */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1000000 === 0) return `.${String(nanos / 1000000).padStart(3, '0')}`;
  if (nanos % 1000 === 0) return `.${String(nanos / 1000).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

function readSecondsNanos(bytes: Uint8Array): [number, number] {
  const r = new protobuf.Reader(bytes);
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const tag = readUint32(r);
    if (tag === 8) seconds = readInt64Number(r);
    else if (tag === 16) nanos = readInt32(r);
    else skipField(r, tag);
  }
  return [seconds, nanos];
}

function writeSecondsNanos(w: Writer, seconds: number, nanos: number): void {
  if (seconds !== 0) w.uint32(8).int64(seconds);
  if (nanos !== 0) w.uint32(16).int32(nanos);
}

const timestamp: SpecialWellKnownType = {
  encode(v, w, _opts, path) {
    const m = typeof v === 'string' ? TIMESTAMP.exec(v) : null;
    if (m === null) bad(path, `${show(v)} is not an RFC 3339 timestamp`);
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[] as [number, number, number, number, number, number];
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day);
    if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      bad(path, `${show(v)} is not a valid date and time`);
    }
    let seconds = Math.floor(date.getTime() / 1000) + hour * 3600 + minute * 60 + second;
    if (m[8] !== undefined) {
      const offset = Number(m[9]) * 3600 + Number(m[10]) * 60;
      seconds -= m[8] === '-' ? -offset : offset;
    }
    if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) bad(path, `${show(v)} is outside 0001-01-01..9999-12-31`);
    writeSecondsNanos(w, seconds, nanosOf(m[7]));
  },
  toJson(bytes) {
    const [seconds, nanos] = readSecondsNanos(bytes);
    if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new UnrepresentableError('Timestamp seconds out of range');
    if (nanos < 0 || nanos > 999999999) throw new UnrepresentableError('Timestamp nanos out of range');
    const iso = new Date(seconds * 1000).toISOString();
    return `"${iso.slice(0, 19)}${fraction(nanos)}Z"`;
  },
};

// ---- Duration -------------------------------------------------------------------------------

const DURATION = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;
const MAX_DURATION_SECONDS = 315576000000;

const duration: SpecialWellKnownType = {
  encode(v, w, _opts, path) {
    const m = typeof v === 'string' ? DURATION.exec(v) : null;
    if (m === null) bad(path, `${show(v)} is not a duration (e.g. "1.5s")`);
    let seconds = Number(m[2]);
    let nanos = nanosOf(m[3]);
    if (seconds > MAX_DURATION_SECONDS) bad(path, `${show(v)} is out of range for a Duration (±315576000000s)`);
    if (m[1] === '-') {
      seconds = -seconds;
      nanos = -nanos;
    }
    writeSecondsNanos(w, seconds, nanos);
  },
  toJson(bytes) {
    const [seconds, nanos] = readSecondsNanos(bytes);
    if (Math.abs(seconds) > MAX_DURATION_SECONDS) throw new UnrepresentableError('Duration seconds out of range');
    if (Math.abs(nanos) > 999999999 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
      throw new UnrepresentableError('Duration nanos out of range or of the wrong sign');
    }
    const sign = seconds < 0 || nanos < 0 ? '-' : '';
    return `"${sign}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s"`;
  },
};

// ---- FieldMask ------------------------------------------------------------------------------

const fieldMask: SpecialWellKnownType = {
  encode(v, w, opts, path) {
    if (typeof v !== 'string') bad(path, `${show(v)} is not a field mask string`);
    if (v === '') return;
    for (const p of v.split(',')) {
      // JSON mode: paths are lowerCamel; query mode also takes proto names (update_mask=a_b,c).
      if (p.includes('_')) bad(path, `${show(p)}: field mask paths are lowerCamelCase in JSON`);
      let snake = '';
      for (const ch of p) snake += ch >= 'A' && ch <= 'Z' ? `_${ch.toLowerCase()}` : ch;
      w.uint32(10).string(snake);
    }
  },
  toJson(bytes) {
    const r = new protobuf.Reader(bytes);
    const paths: string[] = [];
    while (r.pos < r.len) {
      const tag = readUint32(r);
      if (tag === 10) paths.push(camelPath(readString(r)));
      else skipField(r, tag);
    }
    return JSON.stringify(paths.join(','));
  },
};

/** snake_case → lowerCamel; fails for paths that would not come back the same way. */
function camelPath(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i] as string;
    if (ch >= 'A' && ch <= 'Z') throw new UnrepresentableError(`field mask path ${JSON.stringify(p)} has an upper-case letter`);
    if (ch === '_') {
      const next = p[i + 1];
      if (next === undefined || next < 'a' || next > 'z') {
        throw new UnrepresentableError(`field mask path ${JSON.stringify(p)} cannot be written in lowerCamelCase`);
      }
      out += next.toUpperCase();
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

// ---- Struct, Value, ListValue ---------------------------------------------------------------

function encodeValue(v: JsonValue, w: Writer, path: string): void {
  if (v === null) w.uint32(8).int32(0);
  else if (typeof v === 'number') w.uint32(17).double(v);
  else if (typeof v === 'string') w.uint32(26).string(v);
  else if (typeof v === 'boolean') w.uint32(32).bool(v);
  else if (v instanceof JsonNumber) {
    const n = Number(v.text);
    if (!Number.isFinite(n)) bad(path, `${show(v)} is out of range for a double`);
    w.uint32(17).double(n);
  } else if (Array.isArray(v)) {
    w.uint32(50).fork();
    encodeList(v, w, path);
    w.ldelim();
  } else {
    w.uint32(42).fork();
    encodeStruct(v, w, path);
    w.ldelim();
  }
}

function encodeStruct(v: JsonValue, w: Writer, path: string): void {
  if (!isJsonObject(v)) bad(path, `${show(v)} is not an object`);
  for (const key in v) {
    w.uint32(10).fork().uint32(10).string(key).uint32(18).fork();
    encodeValue(v[key] as JsonValue, w, joinPath(path, key));
    w.ldelim().ldelim();
  }
}

function encodeList(v: JsonValue, w: Writer, path: string): void {
  if (!Array.isArray(v)) bad(path, `${show(v)} is not an array`);
  for (let i = 0; i < v.length; i++) {
    w.uint32(10).fork();
    encodeValue(v[i] as JsonValue, w, `${path}[${i}]`);
    w.ldelim();
  }
}

function valueJson(bytes: Uint8Array): string {
  const r = new protobuf.Reader(bytes);
  let out = 'null';
  while (r.pos < r.len) {
    const tag = readUint32(r);
    switch (tag) {
      case 8:
        readInt32(r);
        out = 'null';
        break;
      case 17: {
        const n = r.double();
        if (!Number.isFinite(n)) throw new UnrepresentableError('google.protobuf.Value cannot hold NaN or Infinity in JSON');
        out = String(n);
        break;
      }
      case 26:
        out = JSON.stringify(readString(r));
        break;
      case 32:
        out = readBool(r) ? 'true' : 'false';
        break;
      case 42:
        out = structJson(readBytesView(r));
        break;
      case 50:
        out = listJson(readBytesView(r));
        break;
      default:
        skipField(r, tag);
    }
  }
  return out;
}

function structJson(bytes: Uint8Array): string {
  const r = new protobuf.Reader(bytes);
  const entries = new Map<string, Uint8Array>();
  while (r.pos < r.len) {
    const tag = readUint32(r);
    if (tag !== 10) {
      skipField(r, tag);
      continue;
    }
    const e = new protobuf.Reader(readBytesView(r));
    let key = '';
    let value: Uint8Array = new Uint8Array(0);
    while (e.pos < e.len) {
      const t = readUint32(e);
      if (t === 10) key = readString(e);
      else if (t === 18) value = readBytesView(e);
      else skipField(e, t);
    }
    entries.set(key, value);
  }
  let out = '';
  for (const [k, v] of entries) out += `${out === '' ? '' : ','}${JSON.stringify(k)}:${valueJson(v)}`;
  return `{${out}}`;
}

function listJson(bytes: Uint8Array): string {
  const r = new protobuf.Reader(bytes);
  let out = '';
  let first = true;
  while (r.pos < r.len) {
    const tag = readUint32(r);
    if (tag !== 10) {
      skipField(r, tag);
      continue;
    }
    out += (first ? '' : ',') + valueJson(readBytesView(r));
    first = false;
  }
  return `[${out}]`;
}

const struct: SpecialWellKnownType = {
  encode: (v, w, _opts, path) => encodeStruct(v, w, path),
  toJson: structJson,
};
const value: SpecialWellKnownType = {
  encode: (v, w, _opts, path) => encodeValue(v, w, path),
  toJson: valueJson,
};
const listValue: SpecialWellKnownType = {
  encode: (v, w, _opts, path) => encodeList(v, w, path),
  toJson: listJson,
};

// ---- Any ------------------------------------------------------------------------------------

const any: SpecialWellKnownType = {
  encode(v, w, opts, path, lookup) {
    if (!isJsonObject(v)) bad(path, `${show(v)} is not an object (google.protobuf.Any)`);
    const url = v['@type'];
    if (url === undefined) {
      for (const _ in v) bad(path, 'a google.protobuf.Any needs "@type"');
      return; // {} is the empty Any
    }
    if (typeof url !== 'string') bad(joinPath(path, '@type'), `${show(url)} is not a type URL`);
    const codec = lookup.byTypeUrl(url);
    if (codec === undefined) bad(joinPath(path, '@type'), `${show(url)} names an unknown message type`);
    w.uint32(10).string(url).uint32(18).fork();
    if (codec.special) {
      for (const key in v) {
        if (key !== '@type' && key !== 'value') {
          throw badRequest('PG_UNKNOWN_FIELD', joinPath(path, key), `an Any of ${codec.typeName} has only "@type" and "value"`);
        }
      }
      const inner = v['value'];
      if (inner !== undefined) codec.encode(inner, w, opts, joinPath(path, 'value'));
    } else {
      codec.encodeAnyFields(v, w, opts, path);
    }
    w.ldelim();
  },
  toJson(bytes, opts, lookup) {
    const r = new protobuf.Reader(bytes);
    let url = '';
    let payload: Uint8Array = new Uint8Array(0);
    while (r.pos < r.len) {
      const tag = readUint32(r);
      if (tag === 10) url = readString(r);
      else if (tag === 18) payload = readBytesView(r);
      else skipField(r, tag);
    }
    if (url === '') {
      if (payload.length === 0) return '{}';
      throw new UnrepresentableError('google.protobuf.Any has a value but no type_url');
    }
    const codec = lookup.byTypeUrl(url);
    if (codec === undefined) throw new UnrepresentableError(`google.protobuf.Any names an unknown type ${JSON.stringify(url)}`);
    const head = `{"@type":${JSON.stringify(url)}`;
    if (codec.special) return `${head},"value":${codec.toJson(payload, opts)}}`;
    const members = codec.membersJson(payload, opts);
    return members === '' ? `${head}}` : `${head},${members}}`;
  },
};

// ---- wrappers -------------------------------------------------------------------------------

function wrapper(st: ScalarType): SpecialWellKnownType {
  const tag = (1 << 3) | st.wireType;
  return {
    encode(v, w, opts, path) {
      let x: unknown;
      try {
        x = st.fromJson(v, opts);
      } catch (e) {
        if (e instanceof ValueError) throw badRequest(e.reason, path, e.description);
        throw e;
      }
      if (!st.isDefault(x)) {
        w.uint32(tag);
        st.write(w, x);
      }
    },
    toJson(bytes) {
      const r = new protobuf.Reader(bytes);
      let x: unknown;
      while (r.pos < r.len) {
        const t = readUint32(r);
        if (t === tag) x = st.read(r);
        else skipField(r, t);
      }
      return x === undefined ? st.defaultJson : st.toJson(x);
    },
  };
}

/** Well-known types whose JSON form is a string or scalar (full names, no leading dot), so a path or query value can carry them. */
export const scalarFormTypes: ReadonlySet<string> = new Set([
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.FieldMask',
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

/** The wrapper types (short name) and the scalar each wraps; their JSON form is the bare scalar. */
export const wrapperScalars: Readonly<Record<string, string>> = {
  DoubleValue: 'double',
  FloatValue: 'float',
  Int64Value: 'int64',
  UInt64Value: 'uint64',
  Int32Value: 'int32',
  UInt32Value: 'uint32',
  BoolValue: 'bool',
  StringValue: 'string',
  BytesValue: 'bytes',
};

const special = new Map<string, SpecialWellKnownType>([
  ['google.protobuf.Timestamp', timestamp],
  ['google.protobuf.Duration', duration],
  ['google.protobuf.FieldMask', fieldMask],
  ['google.protobuf.Struct', struct],
  ['google.protobuf.Value', value],
  ['google.protobuf.ListValue', listValue],
  ['google.protobuf.Any', any],
  ...Object.entries(wrapperScalars).map(
    ([name, scalar]): [string, SpecialWellKnownType] => [`google.protobuf.${name}`, wrapper(scalarTypes[scalar] as ScalarType)],
  ),
]);

/** The special JSON handling of a well-known type, or undefined for regular messages. */
export function specialWellKnownType(fullName: string): SpecialWellKnownType | undefined {
  return special.get(fullName);
}

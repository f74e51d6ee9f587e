// What both codec directions need to know about a field or an enum, computed once at compile time.
import protobuf from 'protobufjs';
import { JsonNumber, type JsonValue } from './json-parser.js';
import { show, ValueError } from './scalar-types.js';
import type { JsonReadOptions } from './codec.js';

/**
 * The field of `type` named `name` (proto name), or undefined. protobufjs keeps fields in a plain
 * object, so `type.fields['__proto__']` would be Object.prototype: look up own members only.
 */
export function fieldByName(type: protobuf.Type, name: string): protobuf.Field | undefined {
  return Object.prototype.hasOwnProperty.call(type.fields, name) ? type.fields[name] : undefined;
}

/** The JSON name: explicit `json_name`, else protoc's lowerCamel conversion of the proto name. */
export function jsonNameOf(field: protobuf.Field): string {
  const explicit = (field.options as Record<string, unknown> | undefined)?.['json_name'];
  if (typeof explicit === 'string') return explicit;
  // protoc: drop each '_' and upper-case the letter after it; nothing else changes.
  let out = '';
  let upper = false;
  for (const ch of field.name) {
    if (ch === '_') upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

/** Proto3 singular scalar/enum outside any oneof: written and emitted only when not default. */
export function hasImplicitPresence(field: protobuf.Field): boolean {
  if (field.repeated || field.map) return false;
  if (field.resolvedType instanceof protobuf.Type) return false;
  return !field.hasPresence;
}

/** The real (non-synthetic) oneof a field belongs to, if any. */
export function realOneof(field: protobuf.Field): protobuf.OneOf | undefined {
  const oneof = field.partOf;
  if (oneof === null || oneof === undefined) return undefined;
  const synthetic =
    oneof.fieldsArray.length === 1 &&
    (field.options as Record<string, unknown> | undefined)?.['proto3_optional'] === true;
  return synthetic ? undefined : oneof;
}

/** The key type of a map field. */
export function mapKeyType(field: protobuf.Field): string {
  return (field as unknown as { keyType: string }).keyType;
}

/** Full name of a reflection object without the leading dot. */
export function fullNameOf(obj: protobuf.ReflectionObject): string {
  return obj.fullName.startsWith('.') ? obj.fullName.slice(1) : obj.fullName;
}


/** Both directions of one enum type. */
export interface EnumInfo {
  readonly fullName: string;
  /** google.protobuf.NullValue: JSON null is its only value. */
  readonly isNullValue: boolean;
  /** JSON value → number, or undefined when an unknown name is ignored. Throws ValueError. */
  fromJson(v: JsonValue, opts: JsonReadOptions): number | undefined;
  /** number → JSON text. */
  toJson(n: number, asInt: boolean): string;
}

const enumCache = new WeakMap<protobuf.Enum, EnumInfo>();

/** The compiled form of an enum (cached per Enum object). */
export function enumInfo(e: protobuf.Enum): EnumInfo {
  const cached = enumCache.get(e);
  if (cached !== undefined) return cached;
  const fullName = fullNameOf(e);
  const isNullValue = fullName === 'google.protobuf.NullValue';
  const byName = new Map<string, number>();
  const nameText = new Map<number, string>();
  for (const [name, n] of Object.entries(e.values)) {
    byName.set(name, n);
    // The first name declared for a number is the canonical one (aliases come later).
    if (!nameText.has(n)) nameText.set(n, JSON.stringify(name));
  }
  const info: EnumInfo = {
    fullName,
    isNullValue,
    fromJson(v, opts) {
      if (typeof v === 'string') {
        const n = byName.get(v);
        if (n !== undefined) return n;
        if (opts.ignoreUnknownFields) return undefined;
        throw new ValueError(`${show(v)} is not a value of enum ${fullName}`);
      }
      if (typeof v === 'number') {
        if (Number.isInteger(v)) return checkInt32(v, v, fullName);
        throw new ValueError(`${show(v)} is not a value of enum ${fullName}`);
      }
      if (v === null && isNullValue) return 0;
      if (v instanceof JsonNumber) throw new ValueError(`${show(v)} is out of range for enum ${fullName}`);
      throw new ValueError(`${show(v)} is not a value of enum ${fullName}`);
    },
    toJson(n, asInt) {
      if (isNullValue) return 'null';
      if (asInt) return String(n);
      return nameText.get(n) ?? String(n);
    },
  };
  enumCache.set(e, info);
  return info;
}

function checkInt32(n: number, v: JsonValue, fullName: string): number {
  if (n >= -2147483648 && n <= 2147483647) return n;
  throw new ValueError(`${show(v)} is out of range for enum ${fullName}`);
}

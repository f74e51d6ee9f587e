// Request direction of the JSON codec: a parsed JSON value → protobuf fields on a Writer.
// Compiled once per message: a key → field table and one specialised closure per field.
import protobuf from 'protobufjs';
import { badRequest, GatewayError } from '../../errors/gateway-error.js';
import { truncate } from '../../errors/user-input.js';
import { JsonNumber, type JsonObject, type JsonValue } from './json-parser.js';
import { scalarTypes, show, ValueError, type ScalarType } from './scalar-types.js';
import { enumInfo, fullNameOf, hasImplicitPresence, jsonNameOf, mapKeyType, realOneof, type EnumInfo } from './field-info.js';
import { joinPath, type CodecInternals, type CodecLookup, type JsonReadOptions } from './codec.js';

type Writer = protobuf.Writer;

/** Encodes a JSON object as the fields of one message; `skipType` ignores an Any's `@type`. */
export type MessageDecoder = (
  value: JsonValue,
  writer: Writer,
  options: JsonReadOptions,
  path: string,
  skipType: boolean,
) => void;

/** Writes one field's JSON value. `key` is the JSON key as the client wrote it. */
type FieldWriter = (v: JsonValue, w: Writer, opts: JsonReadOptions, path: string, key: string) => void;

interface FieldEntry {
  readonly write: FieldWriter;
  /** The field's other accepted key (proto name vs json name), if different. */
  readonly otherKey: string | undefined;
  /** Index of the real oneof, or -1. */
  readonly oneof: number;
  /** JSON null sets this field (google.protobuf.Value, NullValue) instead of leaving it unset. */
  readonly nullIsValue: boolean;
}

/** True for a JSON object (not an array, not a number lexeme). */
export function isJsonObject(v: JsonValue): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

/** Rethrows a ValueError as a GatewayError naming the field. */
export function fieldError(e: unknown, path: string): unknown {
  if (e instanceof ValueError) return badRequest(e.reason, path, e.description);
  return e;
}

/** Compiles the decoder of one message type. */
export function compileMessageDecoder(type: protobuf.Type, lookup: CodecLookup): MessageDecoder {
  const table = Object.create(null) as Record<string, FieldEntry>;
  const oneofs = new Map<protobuf.OneOf, number>();
  const typeName = fullNameOf(type);
  for (const field of type.fieldsArray) {
    field.resolve();
    const jsonName = jsonNameOf(field);
    const oneof = realOneof(field);
    let oneofIndex = -1;
    if (oneof !== undefined) {
      oneofIndex = oneofs.get(oneof) ?? oneofs.size;
      oneofs.set(oneof, oneofIndex);
    }
    const write = fieldWriter(field, lookup);
    const nullIsValue = nullSetsField(field, lookup);
    const other = jsonName === field.name ? undefined : field.name;
    table[jsonName] = { write, otherKey: other, oneof: oneofIndex, nullIsValue };
    if (other !== undefined) table[other] = { write, otherKey: jsonName, oneof: oneofIndex, nullIsValue };
  }
  const oneofNames = [...oneofs.keys()].map((o) => o.name);

  return function decodeMessage(value, w, opts, path, skipType) {
    if (!isJsonObject(value)) {
      throw badRequest('PG_BAD_FIELD_VALUE', path, `${show(value)} is not an object (message ${typeName})`);
    }
    let oneofSeen: (string | undefined)[] | undefined;
    for (const key in value) {
      const entry = table[key];
      const v = value[key] as JsonValue;
      if (entry === undefined) {
        if (skipType && key === '@type') continue;
        if (opts.ignoreUnknownFields) continue;
        throw badRequest('PG_UNKNOWN_FIELD', joinPath(path, key), `unknown field ${JSON.stringify(truncate(key))} in message ${typeName}`);
      }
      if (entry.otherKey !== undefined && value[entry.otherKey] !== undefined) {
        throw badRequest('PG_BAD_JSON', joinPath(path, key), `the field is given twice (as "${key}" and "${entry.otherKey}")`);
      }
      if (entry.oneof >= 0 && (v !== null || entry.nullIsValue)) {
        oneofSeen ??= [];
        const earlier = oneofSeen[entry.oneof];
        if (earlier !== undefined) {
          throw badRequest(
            'PG_ONEOF_CONFLICT',
            joinPath(path, key),
            `"${earlier}" and "${key}" are both members of oneof ${oneofNames[entry.oneof] ?? ''}; set at most one`,
          );
        }
        oneofSeen[entry.oneof] = key;
      }
      try {
        entry.write(v, w, opts, path, key);
      } catch (e) {
        throw fieldError(e, joinPath(path, key));
      }
    }
  };
}

function nullSetsField(field: protobuf.Field, lookup: CodecLookup): boolean {
  if (field.repeated || field.map) return false;
  const t = field.resolvedType;
  if (t instanceof protobuf.Enum) return enumInfo(t).isNullValue;
  if (t instanceof protobuf.Type) return lookup.get(fullNameOf(t)).acceptsNull;
  return false;
}

/** One element kind: how to convert and write a single value (scalar, enum or message). */
interface ElementKind {
  readonly wireType: number;
  readonly packable: boolean;
  /** Writes tag + value; returns false when the value was dropped (unknown enum name ignored). */
  writeTagged(tag: number, v: JsonValue, w: Writer, opts: JsonReadOptions, path: string): void;
}

function elementKind(field: protobuf.Field, lookup: CodecLookup): ElementKind {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return messageElement(lookup.get(fullNameOf(t)));
  if (t instanceof protobuf.Enum) return enumElement(enumInfo(t));
  const st = scalarTypes[field.type];
  if (st === undefined) throw new Error(`unsupported field type ${field.type} in ${field.fullName}`);
  return scalarElement(st);
}

function scalarElement(st: ScalarType): ElementKind {
  return {
    wireType: st.wireType,
    packable: st.packable,
    writeTagged(tag, v, w, opts) {
      if (v === null) throw new ValueError(`null is not a ${st.name}`);
      const x = st.fromJson(v, opts);
      w.uint32(tag);
      st.write(w, x);
    },
  };
}

function enumElement(info: EnumInfo): ElementKind {
  return {
    wireType: 0,
    packable: true,
    writeTagged(tag, v, w, opts) {
      const n = info.fromJson(v, opts);
      if (n !== undefined) w.uint32(tag).int32(n);
    },
  };
}

function messageElement(child: CodecInternals): ElementKind {
  return {
    wireType: 2,
    packable: false,
    writeTagged(tag, v, w, opts, path) {
      if (v === null && !child.acceptsNull) throw new ValueError(`null is not a ${child.typeName}`);
      w.uint32(tag).fork();
      child.encode(v, w, opts, path);
      w.ldelim();
    },
  };
}

function fieldWriter(field: protobuf.Field, lookup: CodecLookup): FieldWriter {
  if (field.map) return mapWriter(field, lookup);
  const t = field.resolvedType;
  if (field.repeated) return repeatedWriter(field, elementKind(field, lookup));
  const id = field.id;
  if (t instanceof protobuf.Type) {
    const child = lookup.get(fullNameOf(t));
    const tag = ((id << 3) | 2) >>> 0;
    return (v, w, opts, path, key) => {
      if (v === null && !child.acceptsNull) return; // null = unset
      w.uint32(tag).fork();
      child.encode(v, w, opts, joinPath(path, key));
      w.ldelim();
    };
  }
  const implicit = hasImplicitPresence(field);
  if (t instanceof protobuf.Enum) {
    const info = enumInfo(t);
    const tag = (id << 3) >>> 0;
    return (v, w, opts) => {
      if (v === null && !info.isNullValue) return;
      const n = info.fromJson(v, opts);
      if (n === undefined || (implicit && n === 0)) return;
      w.uint32(tag).int32(n);
    };
  }
  const st = scalarTypes[field.type];
  if (st === undefined) throw new Error(`unsupported field type ${field.type} in ${field.fullName}`);
  const tag = ((id << 3) | st.wireType) >>> 0;
  return (v, w, opts) => {
    if (v === null) return;
    const x = st.fromJson(v, opts);
    if (implicit && st.isDefault(x)) return;
    w.uint32(tag);
    st.write(w, x);
  };
}

function repeatedWriter(field: protobuf.Field, kind: ElementKind): FieldWriter {
  const id = field.id;
  const tag = ((id << 3) | kind.wireType) >>> 0;
  const packedTag = ((id << 3) | 2) >>> 0;
  if (kind.packable && field.packed) {
    // Packed: one length-delimited run of untagged values (the proto3 default).
    const st = scalarTypes[field.type];
    const info = field.resolvedType instanceof protobuf.Enum ? enumInfo(field.resolvedType) : undefined;
    return (v, w, opts) => {
      if (v === null) return;
      if (!Array.isArray(v)) throw new ValueError(`${show(v)} is not an array`);
      if (v.length === 0) return;
      w.uint32(packedTag).fork();
      for (let i = 0; i < v.length; i++) {
        const el = v[i] as JsonValue;
        try {
          if (info !== undefined) {
            const n = info.fromJson(el, opts);
            if (n !== undefined) w.int32(n);
          } else {
            if (el === null) throw new ValueError(`null is not a ${field.type}`);
            (st as ScalarType).write(w, (st as ScalarType).fromJson(el, opts));
          }
        } catch (e) {
          throw elementError(e, i);
        }
      }
      w.ldelim();
    };
  }
  return (v, w, opts, path, key) => {
    if (v === null) return;
    if (!Array.isArray(v)) throw new ValueError(`${show(v)} is not an array`);
    const at = joinPath(path, key);
    for (let i = 0; i < v.length; i++) {
      try {
        kind.writeTagged(tag, v[i] as JsonValue, w, opts, `${at}[${i}]`);
      } catch (e) {
        throw elementError(e, i);
      }
    }
  };
}

function elementError(e: unknown, index: number): unknown {
  if (e instanceof ValueError) return new ValueError(`element ${index}: ${e.description}`, e.reason);
  return e;
}

function mapWriter(field: protobuf.Field, lookup: CodecLookup): FieldWriter {
  const keyType = scalarTypes[mapKeyType(field)];
  if (keyType === undefined) throw new Error(`unsupported map key type in ${field.fullName}`);
  const value = elementKind(field, lookup);
  const tag = ((field.id << 3) | 2) >>> 0;
  const keyTag = (1 << 3) | keyType.wireType;
  const valueTag = (2 << 3) | value.wireType;
  const t = field.resolvedType;
  const nullValue = t instanceof protobuf.Enum ? enumInfo(t).isNullValue : false;
  return (v, w, opts, path, fieldKey) => {
    if (v === null) return;
    if (!isJsonObject(v)) throw new ValueError(`${show(v)} is not an object (map)`);
    const at = joinPath(path, fieldKey);
    for (const key in v) {
      const el = v[key] as JsonValue;
      try {
        const k = keyType.fromKey(key);
        if (el === null && !nullValue && !(value.wireType === 2 && t instanceof protobuf.Type && lookup.get(fullNameOf(t)).acceptsNull)) {
          throw new ValueError('null is not allowed as a map value');
        }
        // An unknown enum name that is ignored drops the whole entry.
        if (t instanceof protobuf.Enum && enumInfo(t).fromJson(el, opts) === undefined) continue;
        w.uint32(tag).fork();
        w.uint32(keyTag);
        keyType.write(w, k);
        value.writeTagged(valueTag, el, w, opts, `${at}[${JSON.stringify(key)}]`);
        w.ldelim();
      } catch (e) {
        if (e instanceof ValueError) {
          throw new ValueError(`map key ${JSON.stringify(truncate(key))}: ${e.description}`, e.reason);
        }
        if (e instanceof GatewayError) throw e;
        throw e;
      }
    }
  };
}

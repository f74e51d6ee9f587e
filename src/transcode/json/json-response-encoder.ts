// Response direction of the JSON codec: protobuf bytes → canonical proto3 JSON text.
// Compiled once per message: a field-number table of readers and, in declaration order, one
// emitter per field; output is built by string concatenation.
import protobuf from 'protobufjs';
import { readBytesView, readInt32, readUint32, scalarTypes, skipField, WireFormatError, type ScalarType } from './scalar-types.js';
import { enumInfo, fullNameOf, hasImplicitPresence, jsonNameOf, mapKeyType } from './field-info.js';
import type { CodecInternals, CodecLookup, JsonWriteOptions } from './codec.js';

type Reader = protobuf.Reader;

/** The compiled response encoder of one message type. */
export interface MessageEncoder {
  /** The message's JSON members without braces ('' when nothing is emitted). */
  members(bytes: Uint8Array, options: JsonWriteOptions): string;
  /** JSON of one top-level field (by proto or json name). */
  field(bytes: Uint8Array, fieldName: string, options: JsonWriteOptions): string;
}

/** Per-field slot values while decoding: scalars, arrays, Maps, or lists of message views. */
type Slots = unknown[];

interface FieldPlan {
  readonly index: number;
  readonly protoName: string;
  readonly jsonName: string;
  /** `"jsonName":` */
  readonly prefix: string;
  read(r: Reader, tag: number, slots: Slots): void;
  /** JSON text, or undefined when the field is not emitted. */
  emit(x: unknown, opts: JsonWriteOptions): string | undefined;
  /** JSON of the field when asked for it alone (`response_body`). */
  emitAlone(x: unknown, opts: JsonWriteOptions): string;
}

/** A singular message value: one or more views that concatenate into the merged message. */
function merged(views: Uint8Array[]): Uint8Array {
  if (views.length === 1) return views[0] as Uint8Array;
  return Buffer.concat(views);
}

/** Element reader/emitter for scalars, enums and messages. */
interface ElementPlan {
  readonly wireType: number;
  readonly packable: boolean;
  read(r: Reader): unknown;
  toJson(x: unknown, opts: JsonWriteOptions): string;
  /** Output form of a missing map value. */
  readonly missing: unknown;
}

const EMPTY = new Uint8Array(0);

function elementPlan(field: protobuf.Field, lookup: CodecLookup): ElementPlan {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    const child = lookup.get(fullNameOf(t));
    return {
      wireType: 2,
      packable: false,
      read: readBytesView,
      toJson: (x, opts) => child.toJson(x as Uint8Array, opts),
      missing: EMPTY,
    };
  }
  if (t instanceof protobuf.Enum) {
    const info = enumInfo(t);
    return {
      wireType: 0,
      packable: true,
      read: (r) => readInt32(r),
      toJson: (x, opts) => info.toJson(x as number, opts.enumsAsInts),
      missing: 0,
    };
  }
  const st = scalarOf(field.type, field);
  return {
    wireType: st.wireType,
    packable: st.packable,
    read: st.read,
    toJson: st.toJson,
    missing: st.name === 'bytes' ? EMPTY : st.read(new protobuf.Reader(defaultBytes(st))),
  };
}

/** Encoded zero value of a scalar, to get its output form from the type's own reader. */
function defaultBytes(st: ScalarType): Uint8Array {
  const w = protobuf.Writer.create();
  if (st.wireType === 0) w.uint32(0);
  else if (st.wireType === 1) w.fixed64(0);
  else if (st.wireType === 5) w.fixed32(0);
  else w.uint32(0);
  return w.finish();
}

function scalarOf(type: string, field: protobuf.Field): ScalarType {
  const st = scalarTypes[type];
  if (st === undefined) throw new Error(`unsupported field type ${type} in ${field.fullName}`);
  return st;
}

/** Compiles the response encoder of one message type. */
export function compileMessageEncoder(type: protobuf.Type, lookup: CodecLookup): MessageEncoder {
  const fields = type.fieldsArray.map((f) => {
    f.resolve();
    return f;
  });
  const oneofMembers = new Map<protobuf.OneOf, number[]>();
  fields.forEach((f, i) => {
    const o = f.partOf;
    if (o !== null && o !== undefined) oneofMembers.set(o, [...(oneofMembers.get(o) ?? []), i]);
  });
  const plans = fields.map((f, i) => fieldPlan(f, i, lookup, f.partOf ? (oneofMembers.get(f.partOf) ?? []) : []));
  const byNumber: (FieldPlan | undefined)[] = [];
  const byNumberMap = new Map<number, FieldPlan>();
  fields.forEach((f, i) => {
    if (f.id < 4096) byNumber[f.id] = plans[i];
    else byNumberMap.set(f.id, plans[i] as FieldPlan);
  });
  const byName = new Map<string, FieldPlan>();
  for (const p of plans) {
    byName.set(p.protoName, p);
    byName.set(p.jsonName, p);
  }
  const count = plans.length;

  function decode(bytes: Uint8Array): Slots {
    const r = new protobuf.Reader(bytes);
    const slots: Slots = new Array(count);
    while (r.pos < r.len) {
      const tag = readUint32(r);
      const no = tag >>> 3;
      if (no === 0) throw new WireFormatError('invalid field number 0');
      const plan = no < 4096 ? byNumber[no] : byNumberMap.get(no);
      if (plan === undefined) skipField(r, tag);
      else plan.read(r, tag, slots);
    }
    return slots;
  }

  return {
    members(bytes, opts) {
      const slots = decode(bytes);
      let out = '';
      for (let i = 0; i < count; i++) {
        const plan = plans[i] as FieldPlan;
        const text = plan.emit(slots[i], opts);
        if (text !== undefined) out = out === '' ? plan.prefix + text : `${out},${plan.prefix}${text}`;
      }
      return out;
    },
    field(bytes, fieldName, opts) {
      const plan = byName.get(fieldName);
      if (plan === undefined) throw new Error(`message ${fullNameOf(type)} has no field ${fieldName}`);
      return plan.emitAlone(decode(bytes)[plan.index], opts);
    },
  };
}

function fieldPlan(field: protobuf.Field, index: number, lookup: CodecLookup, siblings: number[]): FieldPlan {
  const jsonName = jsonNameOf(field);
  const base = { index, protoName: field.name, jsonName, prefix: `${JSON.stringify(jsonName)}:` };
  const others = siblings.filter((s) => s !== index);
  // Oneof: the last member seen on the wire wins.
  const clear =
    others.length === 0
      ? undefined
      : (slots: Slots) => {
          for (const o of others) slots[o] = undefined;
        };
  if (field.map) return { ...base, ...mapPlan(field, index, lookup) };
  const el = elementPlan(field, lookup);
  if (field.repeated) return { ...base, ...repeatedPlan(el, index) };
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    const child: CodecInternals = lookup.get(fullNameOf(t));
    const inOneof = field.partOf !== null && field.partOf !== undefined;
    return {
      ...base,
      read(r, tag, slots) {
        if ((tag & 7) !== 2) return skipField(r, tag);
        const view = readBytesView(r);
        const prev = slots[index] as Uint8Array[] | undefined;
        // A message field seen twice is merged: concatenated encodings parse as the merge.
        if (prev === undefined) slots[index] = [view];
        else prev.push(view);
        clear?.(slots);
      },
      emit(x, opts) {
        if (x === undefined) return opts.emitDefaults && !inOneof ? 'null' : undefined;
        return child.toJson(merged(x as Uint8Array[]), opts);
      },
      emitAlone(x, opts) {
        if (x === undefined) return 'null';
        return child.toJson(merged(x as Uint8Array[]), opts);
      },
    };
  }
  const implicit = hasImplicitPresence(field);
  const isDefault: (x: unknown) => boolean =
    t instanceof protobuf.Enum ? (x) => x === 0 : scalarOf(field.type, field).isDefaultOut;
  const defaultJson = el.toJson(el.missing, { emitDefaults: true, enumsAsInts: false });
  const defaultJsonInt = el.toJson(el.missing, { emitDefaults: true, enumsAsInts: true });
  const wireType = el.wireType;
  return {
    ...base,
    read(r, tag, slots) {
      if ((tag & 7) !== wireType) return skipField(r, tag);
      slots[index] = el.read(r);
      clear?.(slots);
    },
    emit(x, opts) {
      if (x === undefined || (implicit && isDefault(x))) {
        if (!implicit || !opts.emitDefaults) return undefined;
        return opts.enumsAsInts ? defaultJsonInt : defaultJson;
      }
      return el.toJson(x, opts);
    },
    emitAlone(x, opts) {
      if (x === undefined) return opts.enumsAsInts ? defaultJsonInt : defaultJson;
      return el.toJson(x, opts);
    },
  };
}

function repeatedPlan(el: ElementPlan, index: number): Pick<FieldPlan, 'read' | 'emit' | 'emitAlone'> {
  const { wireType, packable } = el;
  const emitAlone = (x: unknown, opts: JsonWriteOptions): string => {
    const list = x as unknown[] | undefined;
    if (list === undefined) return '[]';
    let out = '[';
    for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + el.toJson(list[i], opts);
    return `${out}]`;
  };
  return {
    read(r, tag, slots) {
      const wt = tag & 7;
      let list = slots[index] as unknown[] | undefined;
      if (list === undefined) slots[index] = list = [];
      if (wt === 2 && packable) {
        const end = readUint32(r) + r.pos;
        if (end > r.len) throw new WireFormatError('packed field overruns the message');
        while (r.pos < end) list.push(el.read(r));
        if (r.pos !== end) throw new WireFormatError('packed field overruns its length');
      } else if (wt === wireType) {
        list.push(el.read(r));
      } else {
        skipField(r, tag);
      }
    },
    emit(x, opts) {
      if (x === undefined || (x as unknown[]).length === 0) return opts.emitDefaults ? '[]' : undefined;
      return emitAlone(x, opts);
    },
    emitAlone,
  };
}

function mapPlan(field: protobuf.Field, index: number, lookup: CodecLookup): Pick<FieldPlan, 'read' | 'emit' | 'emitAlone'> {
  const keyType = scalarOf(mapKeyType(field), field);
  const value = elementPlan(field, lookup);
  const keyDefault = keyType.read(new protobuf.Reader(defaultBytes(keyType)));
  const keyTag = (1 << 3) | keyType.wireType;
  const valueTag = (2 << 3) | value.wireType;
  const emitAlone = (x: unknown, opts: JsonWriteOptions): string => {
    const entries = x as Map<string, unknown> | undefined;
    if (entries === undefined) return '{}';
    let out = '{';
    for (const [k, v] of entries) out += `${out.length === 1 ? '' : ','}${JSON.stringify(k)}:${value.toJson(v, opts)}`;
    return `${out}}`;
  };
  return {
    read(r, tag, slots) {
      if ((tag & 7) !== 2) return skipField(r, tag);
      const entry = new protobuf.Reader(readBytesView(r));
      let k = keyDefault;
      let v = value.missing;
      while (entry.pos < entry.len) {
        const t = readUint32(entry);
        if (t === keyTag) k = keyType.read(entry);
        else if (t === valueTag) v = value.read(entry);
        else if (t >>> 3 === 0) throw new WireFormatError('invalid field number 0');
        else skipField(entry, t);
      }
      let entries = slots[index] as Map<string, unknown> | undefined;
      if (entries === undefined) slots[index] = entries = new Map();
      entries.set(keyType.toKey(k), v);
    },
    emit(x, opts) {
      if (x === undefined) return opts.emitDefaults ? '{}' : undefined;
      return emitAlone(x, opts);
    },
    emitAlone,
  };
}

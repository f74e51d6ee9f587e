// OpenAPI schemas for protobuf messages and enums in their proto3 JSON form
// (protobuf.dev/programming-guides/json). Components are named by full proto name and built
// on demand: `ref()` queues a type, `components()` drains the queue and sorts by name.
import protobuf from 'protobufjs';
import { fullNameOf, jsonNameOf, mapKeyType, realOneof } from '../../src/transcode/json/field-info.js';
import { fieldNotes, joinText } from './comments.js';
import { wrapperScalars } from '../../src/transcode/json/well-known-types.js';
import { wellKnownSchema } from './well-known-schemas.js';

/** A JSON Schema (2020-12, the OpenAPI 3.1 dialect) as plain data. */
export type Schema = Record<string, unknown>;

const SCHEMA_PREFIX = '#/components/schemas/';

export function refTo(name: string): Schema {
  return { $ref: `${SCHEMA_PREFIX}${name}` };
}

const FLOAT_WORDS = ['NaN', 'Infinity', '-Infinity'];

/** Message types whose own JSON form already includes null. */
const NULLABLE_TYPES: ReadonlySet<string> = new Set([
  'google.protobuf.Value',
  ...Object.keys(wrapperScalars).map((name) => `google.protobuf.${name}`),
]);

/** The proto3 JSON form of a scalar field type; undefined for message and enum types. */
export function scalarSchema(type: string): Schema | undefined {
  switch (type) {
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return { type: 'integer', format: 'int32' };
    case 'uint32':
    case 'fixed32':
      return { type: 'integer', format: 'uint32', minimum: 0, maximum: 4294967295 };
    // 64-bit integers are strings in JSON: a double cannot hold every value.
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return { type: 'string', format: 'int64' };
    case 'uint64':
    case 'fixed64':
      return { type: 'string', format: 'uint64' };
    case 'float':
    case 'double':
      return { oneOf: [{ type: 'number', format: type }, { type: 'string', enum: FLOAT_WORDS }] };
    case 'bool':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string' };
    case 'bytes':
      return { type: 'string', format: 'byte', contentEncoding: 'base64' };
    default:
      return undefined;
  }
}

/** The `google.api.field_behavior` values on a field, in declaration order. */
export function fieldBehaviors(field: protobuf.Field): string[] {
  const found = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string') found.add(value);
    else if (Array.isArray(value)) for (const item of value) add(item);
  };
  for (const entry of (field.parsedOptions ?? []) as Array<Record<string, unknown>>) {
    add(entry['(google.api.field_behavior)']);
  }
  add(optionsOf(field)['(google.api.field_behavior)']);
  return [...found];
}

export function optionsOf(object: protobuf.ReflectionObject): Record<string, unknown> {
  return (object.options ?? {}) as Record<string, unknown>;
}

/** Builds and collects the component schemas that operations reference. */
export class SchemaRegistry {
  private readonly built = new Map<string, Schema>();
  private readonly queued = new Set<string>();
  private readonly pending: Array<protobuf.Type | protobuf.Enum> = [];

  /** A `$ref` to the component for a message or enum, queuing it to be built. */
  ref(type: protobuf.Type | protobuf.Enum): Schema {
    const name = fullNameOf(type);
    if (!this.queued.has(name)) {
      this.queued.add(name);
      this.pending.push(type);
    }
    return refTo(name);
  }

  /** Whether a component of this name is (or will be) emitted. */
  has(name: string): boolean {
    return this.queued.has(name);
  }

  /** Every queued component and all it reaches, sorted by name. */
  components(): Record<string, Schema> {
    for (let type = this.pending.pop(); type !== undefined; type = this.pending.pop()) {
      const name = fullNameOf(type);
      this.built.set(name, type instanceof protobuf.Type ? this.messageSchema(type) : enumSchema(type));
    }
    const out: Record<string, Schema> = {};
    for (const name of [...this.built.keys()].sort()) out[name] = this.built.get(name)!;
    return out;
  }

  /** The object schema of a message, leaving out the named top-level fields (proto names). */
  messageSchema(type: protobuf.Type, omit: ReadonlySet<string> = new Set()): Schema {
    const wellKnown = wellKnownSchema(fullNameOf(type), (name) => this.refByName(type, name), scalarSchema);
    if (wellKnown !== undefined) return wellKnown;
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    const oneofs: Record<string, string[]> = {};
    for (const field of type.fieldsArray) {
      if (omit.has(field.name)) continue;
      const jsonName = jsonNameOf(field);
      properties[jsonName] = this.fieldSchema(field);
      if (fieldBehaviors(field).includes('REQUIRED')) required.push(jsonName);
      const oneof = realOneof(field);
      if (oneof !== undefined) (oneofs[oneof.name] ??= []).push(jsonName);
    }
    const schema: Schema = { type: 'object' };
    if (type.comment) schema['description'] = type.comment;
    schema['properties'] = properties;
    if (required.length > 0) schema['required'] = required;
    if (optionsOf(type)['deprecated'] === true) schema['deprecated'] = true;
    const groups = Object.values(oneofs).filter((members) => members.length > 1);
    if (groups.length === 1) Object.assign(schema, noTwoOf(groups[0]!));
    else if (groups.length > 1) schema['allOf'] = groups.map(noTwoOf);
    if (Object.keys(oneofs).length > 0) schema['x-protogate-oneofs'] = oneofs;
    return schema;
  }

  /** A field's schema with its comment, behaviours and notes. */
  fieldSchema(field: protobuf.Field): Schema {
    field.resolve();
    let schema: Schema;
    if (field.map) {
      schema = { type: 'object', additionalProperties: this.valueSchema(field) };
      const keys = mapKeySchema(mapKeyType(field));
      if (keys !== undefined) schema['propertyNames'] = keys;
    } else if (field.repeated) {
      schema = { type: 'array', items: this.valueSchema(field) };
    } else {
      schema = this.valueSchema(field);
      // protojson with EmitUnpopulated (the gateway's json.emitDefaults) writes an unset singular
      // message field as null; wrappers and Value already admit null.
      if (field.resolvedType instanceof protobuf.Type && !NULLABLE_TYPES.has(fullNameOf(field.resolvedType))) {
        schema = { anyOf: [schema, { type: 'null' }] };
      }
    }
    const description = joinText(field.comment, fieldNotes(field));
    if (description !== '') schema['description'] = description;
    const behaviors = fieldBehaviors(field);
    if (behaviors.includes('OUTPUT_ONLY')) schema['readOnly'] = true;
    if (behaviors.includes('INPUT_ONLY')) schema['writeOnly'] = true;
    if (optionsOf(field)['deprecated'] === true) schema['deprecated'] = true;
    if (behaviors.length > 0) schema['x-protogate-field-behavior'] = behaviors;
    return schema;
  }

  /** The schema of one value of a field (a map value, a list item or the singular value). */
  private valueSchema(field: protobuf.Field): Schema {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type || resolved instanceof protobuf.Enum) return this.ref(resolved);
    return scalarSchema(field.type) ?? {};
  }

  private refByName(from: protobuf.Type, name: string): Schema {
    const found = from.root.lookup(name);
    if (found instanceof protobuf.Type || found instanceof protobuf.Enum) return this.ref(found);
    return refTo(name);
  }
}

/** An enum as the string of its value names (proto3 JSON writes names; parsers also take numbers). */
export function enumSchema(type: protobuf.Enum): Schema {
  if (fullNameOf(type) === 'google.protobuf.NullValue') {
    return { type: 'null', description: 'JSON null.' };
  }
  const names = Object.keys(type.values);
  const valueLines = names
    .filter((name) => type.comments[name])
    .map((name) => `- \`${name}\`: ${type.comments[name]!.replace(/\s*\n\s*/g, ' ')}`);
  const schema: Schema = { type: 'string' };
  const description = joinText(type.comment, valueLines.join('\n'));
  if (description !== '') schema['description'] = description;
  schema['enum'] = names;
  if (optionsOf(type)['deprecated'] === true) schema['deprecated'] = true;
  return schema;
}

/** JSON object keys are strings; say which strings a non-string map key type allows. */
function mapKeySchema(keyType: string): Schema | undefined {
  switch (keyType) {
    case 'string':
      return undefined;
    case 'bool':
      return { enum: ['true', 'false'] };
    case 'uint32':
    case 'fixed32':
    case 'uint64':
    case 'fixed64':
      return { pattern: '^[0-9]+$' };
    default:
      return { pattern: '^-?[0-9]+$' };
  }
}

/**
 * A oneof as JSON Schema: no two members carry a value (protojson reads null as "not set").
 * Written as `not` of the forbidden pairs rather than as `anyOf` variants: type generators such
 * as openapi-typescript turn property-only variants into a union that loses the message's own
 * properties, while they leave `not` out of the types.
 */
function noTwoOf(members: readonly string[]): Schema {
  const pairs: Schema[] = [];
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const a = members[i]!;
      const b = members[j]!;
      pairs.push({ required: [a, b], properties: { [a]: { not: { type: 'null' } }, [b]: { not: { type: 'null' } } } });
    }
  }
  return { not: { anyOf: pairs } };
}

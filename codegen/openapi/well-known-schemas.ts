// The google.protobuf well-known types have their own JSON forms (protobuf.dev JSON mapping);
// their component schemas describe those forms instead of the message fields.
import { scalarFormTypes, wrapperScalars } from '../../src/transcode/json/well-known-types.js';
import type { Schema } from './schemas.js';

const WRAPPED_SCALARS = wrapperScalars;

/** Well-known types whose JSON form is a string or scalar (the codec's list). */
export const SCALAR_FORM_TYPES = scalarFormTypes;

/**
 * The schema of a well-known message type, or undefined for any other message.
 * @param scalarSchema the proto3 JSON form of a scalar type (for the wrappers)
 * @param ref a `$ref` to another component by full name (queues it)
 */
export function wellKnownSchema(
  fullName: string,
  ref: (name: string) => Schema,
  scalarSchema: (type: string) => Schema | undefined,
): Schema | undefined {
  if (!fullName.startsWith('google.protobuf.')) return undefined;
  const name = fullName.slice('google.protobuf.'.length);
  const wrapped = WRAPPED_SCALARS[name];
  if (wrapped !== undefined) {
    return {
      ...orNull(scalarSchema(wrapped)!),
      description: `A ${wrapped} that may be absent: the bare JSON value, or null for no value.`,
    };
  }
  switch (name) {
    case 'Timestamp':
      return {
        type: 'string',
        format: 'date-time',
        description: 'RFC 3339 date-time in UTC ("Z"), with 0, 3, 6 or 9 fractional digits, e.g. "2024-01-15T10:30:00.500Z".',
      };
    case 'Duration':
      return {
        type: 'string',
        pattern: '^-?\\d+(\\.\\d+)?s$',
        description: 'Seconds with up to 9 fractional digits and the suffix "s", e.g. "1.5s" or "-30s".',
      };
    case 'FieldMask':
      return {
        type: 'string',
        description: 'Comma-separated field paths in lowerCamelCase JSON names, e.g. "title,publishTime".',
      };
    case 'Struct':
      return { type: 'object', additionalProperties: ref('google.protobuf.Value'), description: 'Any JSON object.' };
    case 'Value':
      return { description: 'Any JSON value.' };
    case 'ListValue':
      return { type: 'array', items: ref('google.protobuf.Value'), description: 'Any JSON array.' };
    case 'Empty':
      return { type: 'object', properties: {}, additionalProperties: false, description: 'An empty JSON object.' };
    case 'Any':
      return {
        type: 'object',
        description:
          'A message of any type: "@type" names it (e.g. "type.googleapis.com/google.rpc.ErrorInfo") and the other ' +
          'properties are its JSON fields; a well-known type with its own JSON form puts that form under "value".',
        properties: { '@type': { type: 'string', description: 'Type URL; the part after the last "/" is the full message name.' } },
        required: ['@type'],
        additionalProperties: true,
      };
    default:
      return undefined;
  }
}

/** The same schema with JSON null allowed as well. */
function orNull(schema: Schema): Schema {
  if (typeof schema['type'] === 'string') return { ...schema, type: [schema['type'], 'null'] };
  const options = (schema['oneOf'] as Schema[] | undefined) ?? [schema];
  return { oneOf: [...options, { type: 'null' }] };
}

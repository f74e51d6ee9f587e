// Resolves query parameter names (`a.b.c`, json or proto names per segment) to request fields,
// once per distinct name per route: the result is cached, so steady traffic does no type walks.
import protobuf from 'protobufjs';
import { badRequest, type GatewayError } from '../errors/gateway-error.js';
import type { JsonValue } from './json/json-parser.js';
import { fieldByName, jsonNameOf } from './json/field-info.js';
import { scalarFormTypes } from './json/well-known-types.js';
import { truncate } from '../errors/user-input.js';

/** A query parameter (or path variable) that binds a request field. */
export interface QueryField {
  /** Proto field names from the request message down to the leaf. */
  readonly protoPath: readonly string[];
  /** JSON names along the same path (so a body value given under the JSON name can be replaced). */
  readonly jsonPath: readonly string[];
  readonly repeated: boolean;
  /** Turns the text of a query value into the JSON value the field's codec reads. */
  readonly convert: (text: string) => JsonValue;
}

/** What a parameter name resolves to: a field, a field bound elsewhere (ignored), or an error. */
export type QueryResolution = QueryField | 'ignored' | GatewayError;

const MAX_CACHED_NAMES = 1024;

/** Per-route resolver of query parameter names. */
export class QueryFieldResolver {
  private readonly cache = new Map<string, QueryResolution>();

  /**
   * @param request the request message type
   * @param boundElsewhere proto paths bound by the path template or the body field; `'*'` when the
   *        whole message is the body (then every field is bound elsewhere)
   */
  constructor(
    private readonly request: protobuf.Type,
    private readonly boundElsewhere: ReadonlySet<string> | '*',
  ) {}

  resolve(name: string): QueryResolution {
    let result = this.cache.get(name);
    if (result === undefined) {
      result = this.walk(name);
      // Bound the cache: names are client-chosen, and errors need not be remembered.
      if (this.cache.size < MAX_CACHED_NAMES) this.cache.set(name, result);
    }
    return result;
  }

  private walk(name: string): QueryResolution {
    const segments = name.split('.');
    const protoPath: string[] = [];
    const jsonPath: string[] = [];
    let type = this.request;
    for (let i = 0; i < segments.length; i++) {
      const field = findField(type, segments[i]!);
      if (field === undefined) return unknownParameter(name);
      protoPath.push(field.name);
      jsonPath.push(jsonNameOf(field));
      const last = i === segments.length - 1;
      const message = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
      if (!last) {
        if (message === undefined || field.repeated || field.map) return unknownParameter(name);
        if (this.isBoundElsewhere(protoPath)) return 'ignored';
        type = message;
        continue;
      }
      if (this.isBoundElsewhere(protoPath)) return 'ignored';
      if (field.map || (message !== undefined && !scalarFormTypes.has(message.fullName.slice(1)))) {
        return badRequest(
          'PG_UNKNOWN_QUERY_PARAM',
          name,
          `query parameter "${truncate(name)}" names a ${field.map ? 'map' : 'message'} field; query parameters bind scalar fields (use a.b.c for sub-fields)`,
        );
      }
      return { protoPath, jsonPath, repeated: field.repeated, convert: textConverter(field) };
    }
    return unknownParameter(name);
  }

  private isBoundElsewhere(protoPath: readonly string[]): boolean {
    return this.boundElsewhere === '*' || this.boundElsewhere.has(protoPath.join('.'));
  }
}

/**
 * Query and path values are text; the codec reads JSON. Most proto3 JSON forms accept text as
 * is (numbers, 64-bit ints, enum names, bytes, Timestamp, Duration); these need a nudge:
 * bools are JSON booleans, enum numbers are JSON numbers, and a FieldMask in a query may use
 * proto names (`update_mask=labels,version_destroy_ttl`, as Google's clients send it).
 */
function textConverter(field: protobuf.Field): (text: string) => JsonValue {
  const type = field.resolvedType;
  if (field.type === 'bool' || type?.fullName === '.google.protobuf.BoolValue') {
    return (text) => (text === 'true' ? true : text === 'false' ? false : text);
  }
  if (type instanceof protobuf.Enum) return (text) => (/^-?\d+$/.test(text) ? Number(text) : text);
  if (type?.fullName === '.google.protobuf.FieldMask') {
    return (text) => text.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  }
  return (text) => text;
}

/** Resolves a path variable's proto field path (checked at load) to its binding. */
export function resolveTemplateField(request: protobuf.Type, protoPath: readonly string[]): QueryField {
  const jsonPath: string[] = [];
  let type = request;
  let field: protobuf.Field | undefined;
  for (const name of protoPath) {
    field = fieldByName(type, name);
    if (field === undefined) throw new Error(`protogate: ${request.fullName} has no field path ${protoPath.join('.')}`);
    jsonPath.push(jsonNameOf(field));
    if (field.resolvedType instanceof protobuf.Type) type = field.resolvedType;
  }
  return { protoPath, jsonPath, repeated: false, convert: textConverter(field!) };
}

function findField(type: protobuf.Type, name: string): protobuf.Field | undefined {
  const byProtoName = fieldByName(type, name);
  if (byProtoName) return byProtoName;
  return type.fieldsArray.find((field) => jsonNameOf(field) === name);
}

function unknownParameter(name: string): GatewayError {
  return badRequest('PG_UNKNOWN_QUERY_PARAM', name, `query parameter "${truncate(name)}" names no field of the request`);
}

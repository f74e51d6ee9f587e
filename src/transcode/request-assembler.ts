// Assembles the upstream request message from the three HTTP sources — body, query, path —
// into one JSON tree and encodes it to protobuf once. Path values replace body values
// (DESIGN §4). One encoding, not concatenated parts: protobuf says a repeated singular message
// field merges, but protobufjs (behind most Node backends) keeps only the last occurrence.
import protobuf from 'protobufjs';
import { Code } from '../errors/codes.js';
import { badRequest, GatewayError } from '../errors/gateway-error.js';
import type { RouteSpec } from '../gateway-model.js';
import type { PathTemplate } from '../routing/path-template.js';
import { JsonNumber, parseJson, type JsonObject, type JsonValue } from './json/json-parser.js';
import type { CodecRegistry, JsonReadOptions, MessageCodec } from './json/codec.js';
import { QueryFieldResolver, resolveTemplateField, type QueryField } from './query-fields.js';
import { truncate } from '../errors/user-input.js';
import { parseQueryString } from './query-string.js';
import { applySystemParameter, noSystemParameters, type SystemParameters } from './system-parameters.js';
import { rawBodyAsJson, requestTakesRawBody } from './http-body.js';

/** How strictly request JSON is read. */
export interface RequestReadOptions {
  ignoreUnknownFields: boolean;
  maxJsonDepth: number;
  /** Object members plus array elements per body (config json.maxFields); default: no limit. */
  maxJsonFields?: number;
  /** Query parameters per request (config limits.maxQueryParams); default: no limit. */
  maxQueryParams?: number;
}

/** The parts of an HTTP request the assembler reads. */
export interface RequestParts {
  readonly bindings: ReadonlyArray<readonly [fieldPath: readonly string[], value: string]>;
  /** The raw query string without `?` ('' when there is none). */
  readonly query: string;
  readonly body: Uint8Array | undefined;
  readonly contentType: string | undefined;
}

/** The encoded upstream request and the system parameters that shape the response. */
export interface AssembledRequest {
  readonly message: Uint8Array;
  readonly system: Readonly<SystemParameters>;
}

/** Builds the request assembler of one route. */
export function compileRequestAssembler(
  spec: RouteSpec,
  template: PathTemplate,
  request: protobuf.Type,
  codecs: CodecRegistry,
  options: RequestReadOptions,
): (parts: RequestParts) => AssembledRequest {
  const codec: MessageCodec = codecs.codec(spec.requestType);
  const readOptions: JsonReadOptions = { ignoreUnknownFields: options.ignoreUnknownFields };
  const boundElsewhere =
    spec.body === '*' ? ('*' as const) : new Set([...template.variables.map((v) => v.fieldPath.join('.')), ...(spec.body ? [spec.body] : [])]);
  const queryFields = new QueryFieldResolver(request, boundElsewhere);
  const pathFields = template.variables.map((variable) => resolveTemplateField(request, variable.fieldPath));
  const takesBody = spec.body !== '';
  // google.api.HttpBody: the bytes and Content-Type as they came, not JSON (http-body.ts)
  const rawBody = takesBody && requestTakesRawBody(spec, request);
  const jsonLimits = { maxDepth: options.maxJsonDepth, maxFields: options.maxJsonFields ?? Infinity };
  const maxQueryParams = options.maxQueryParams ?? Infinity;

  return (parts) => {
    let tree: JsonValue = emptyObject();
    if (takesBody) {
      const value = rawBody ? rawBodyAsJson(parts.body, parts.contentType) : readJsonBody(parts, jsonLimits);
      if (spec.body === '*') {
        if (value !== undefined) tree = value;
      } else if (value !== undefined) {
        tree[spec.body] = value;
      }
    } else {
      rejectUnexpectedBody(parts);
    }
    // A body that is not an object is the codec's to reject, with its usual message.
    const mergeable = isObject(tree);
    let system: SystemParameters | undefined;
    let seen: Set<QueryField> | undefined;
    if (parts.query !== '' && mergeable) {
      for (const [name, value] of parseQueryString(parts.query, maxQueryParams)) {
        if (name.startsWith('$')) {
          system = applySystemParameter(system, name, value);
          continue;
        }
        const field = queryFields.resolve(name);
        if (field instanceof GatewayError) throw field;
        if (field === 'ignored') continue;
        if (!field.repeated) {
          seen ??= new Set();
          if (seen.has(field)) {
            throw badRequest('PG_BAD_QUERY_PARAM', name, `"${truncate(name)}" is given more than once but is not a repeated field`);
          }
          seen.add(field);
        }
        setLeaf(tree as JsonObject, field, field.convert(value));
      }
    }
    if (mergeable) {
      for (let i = 0; i < pathFields.length; i++) {
        const field = pathFields[i]!;
        setLeaf(tree as JsonObject, field, field.convert(parts.bindings[i]![1]));
      }
    }
    const writer = protobuf.Writer.create();
    codec.encode(tree, writer, readOptions, '');
    return { message: writer.finish(), system: system ?? noSystemParameters };
  };
}

function isObject(value: JsonValue): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof JsonNumber);
}

function emptyObject(): JsonObject {
  return Object.create(null) as JsonObject;
}

/** Parses the JSON body; an empty body reads as "no value". */
function readJsonBody(parts: RequestParts, limits: { maxDepth: number; maxFields: number }): JsonValue | undefined {
  const body = parts.body;
  if (body === undefined || isBlank(body)) return undefined;
  if (!isJsonContentType(parts.contentType)) {
    throw new GatewayError(
      Code.INVALID_ARGUMENT,
      'PG_UNSUPPORTED_MEDIA_TYPE',
      `request body has Content-Type "${truncate(parts.contentType ?? '')}"; send application/json`,
      { httpStatus: 415 },
    );
  }
  return parseJson(body, limits);
}

/** A rule without `body` takes no body; empty bodies (and `{}`) are normal and ignored. */
function rejectUnexpectedBody(parts: RequestParts): void {
  const body = parts.body;
  if (body === undefined || isBlank(body)) return;
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8').trim();
  if (text === '{}') return;
  throw badRequest('PG_BAD_JSON', '', 'this method takes no request body; send its fields in the path and query string');
}

function isBlank(body: Uint8Array): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return true;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Places a value at a field path in the JSON tree (arrays for repeated fields). Path and query
 * values use proto names; a body value for the same field under its JSON name is replaced.
 */
function setLeaf(tree: JsonObject, field: QueryField, value: JsonValue): void {
  const { protoPath, jsonPath } = field;
  let node = tree;
  const last = protoPath.length - 1;
  for (let i = 0; i < last; i++) {
    const key = protoPath[i]!;
    let next = takeMember(node, key, jsonPath[i]!);
    if (!isObject(next ?? null)) next = emptyObject();
    node[key] = next!;
    node = next as JsonObject;
  }
  const leaf = protoPath[last]!;
  if (field.repeated) {
    const existing = node[leaf];
    if (Array.isArray(existing)) existing.push(value);
    else node[leaf] = [value];
    return;
  }
  takeMember(node, leaf, jsonPath[last]!);
  node[leaf] = value;
}

/** Removes and returns a member given under its proto name or its JSON name. */
function takeMember(node: JsonObject, protoName: string, jsonName: string): JsonValue | undefined {
  let value = node[protoName];
  if (jsonName !== protoName && jsonName in node) {
    value = node[jsonName];
    delete node[jsonName];
  }
  return value;
}

// Assembles the upstream request message from the three HTTP sources — body, query, path —
// and encodes it to protobuf. Compiled once per route; the encoded parts are concatenated in
// that order, so where a field appears twice the last one (the path value) wins, as protobuf
// merging does and DESIGN §4 asks.
import protobuf from 'protobufjs';
import { Code } from '../errors/codes.js';
import { badRequest, GatewayError } from '../errors/gateway-error.js';
import type { RouteSpec } from '../gateway-model.js';
import type { PathTemplate } from '../routing/path-template.js';
import { parseJson, type JsonObject, type JsonValue } from './json/json-parser.js';
import type { CodecRegistry, JsonReadOptions, MessageCodec } from './json/codec.js';
import { QueryFieldResolver } from './query-fields.js';
import { parseQueryString, truncate } from './query-string.js';
import { applySystemParameter, noSystemParameters, type SystemParameters } from './system-parameters.js';

/** How strictly request JSON is read. */
export interface RequestReadOptions {
  ignoreUnknownFields: boolean;
  maxJsonDepth: number;
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
  const bodyOptions: JsonReadOptions = { ignoreUnknownFields: options.ignoreUnknownFields, fromQuery: false };
  const stringOptions: JsonReadOptions = { ignoreUnknownFields: false, fromQuery: true };
  const boundElsewhere =
    spec.body === '*' ? ('*' as const) : new Set([...template.variables.map((v) => v.fieldPath.join('.')), ...(spec.body ? [spec.body] : [])]);
  const queryFields = new QueryFieldResolver(request, boundElsewhere);
  const takesBody = spec.body !== '';
  const maxDepth = options.maxJsonDepth;

  return (parts) => {
    const writer = protobuf.Writer.create();
    if (takesBody) {
      const value = readJsonBody(parts, maxDepth);
      if (spec.body === '*') {
        codec.encode(value ?? emptyObject(), writer, bodyOptions, '');
      } else if (value !== undefined) {
        const wrapper = emptyObject();
        wrapper[spec.body] = value;
        codec.encode(wrapper, writer, bodyOptions, '');
      }
    } else {
      rejectUnexpectedBody(parts);
    }
    let system: SystemParameters | undefined;
    if (parts.query !== '') {
      const tree = emptyObject();
      let used = false;
      for (const [name, value] of parseQueryString(parts.query)) {
        if (name.startsWith('$')) {
          system = applySystemParameter(system, name, value);
          continue;
        }
        const field = queryFields.resolve(name);
        if (field instanceof GatewayError) throw field;
        if (field === 'ignored') continue;
        setLeaf(tree, field.protoPath, value, field.repeated, name);
        used = true;
      }
      if (used) codec.encode(tree, writer, stringOptions, '');
    }
    if (parts.bindings.length > 0) {
      const tree = emptyObject();
      for (const [fieldPath, value] of parts.bindings) setLeaf(tree, fieldPath, value, false, fieldPath.join('.'));
      codec.encode(tree, writer, stringOptions, '');
    }
    return { message: writer.finish(), system: system ?? noSystemParameters };
  };
}

function emptyObject(): JsonObject {
  return Object.create(null) as JsonObject;
}

/** Parses the JSON body; an empty body reads as "no value". */
function readJsonBody(parts: RequestParts, maxDepth: number): JsonValue | undefined {
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
  return parseJson(body, { maxDepth });
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

/** Places a string value at a proto path in a JSON tree (arrays for repeated fields). */
function setLeaf(tree: JsonObject, path: readonly string[], value: string, repeated: boolean, name: string): void {
  let node = tree;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    let next = node[key];
    if (next === undefined) {
      next = emptyObject();
      node[key] = next;
    }
    node = next as JsonObject;
  }
  const leaf = path[path.length - 1]!;
  const existing = node[leaf];
  if (repeated) {
    if (existing === undefined) node[leaf] = [value];
    else (existing as JsonValue[]).push(value);
  } else if (existing !== undefined) {
    throw badRequest('PG_BAD_QUERY_PARAM', name, `"${truncate(name)}" is given more than once but is not a repeated field`);
  } else {
    node[leaf] = value;
  }
}

// One OpenAPI operation per route: parameters from the path template and the query string,
// the request body from `body`, the 200 response from `response_body`, and the error responses.
import protobuf from 'protobufjs';
import type { RouteSpec } from '../../src/gateway-model.js';
import { fullNameOf, jsonNameOf } from '../../src/transcode/json/field-info.js';
import { requestTakesRawBody, responseIsRawBody } from '../../src/transcode/http-body.js';
import { joinText, splitComment } from './comments.js';
import type { OpenApiPath, PathParameter } from './paths.js';
import { fieldAt } from './resource-patterns.js';
import { enumSchema, optionsOf, scalarSchema, type Schema, type SchemaRegistry } from './schemas.js';
import { API_KEY_SCHEME, AUTH_ERROR_RESPONSES, BEARER_SCHEME, ERROR_RESPONSES } from './status-schema.js';
import { SCALAR_FORM_TYPES, wellKnownSchema } from './well-known-schemas.js';

/** Query parameter names have at most this many dotted parts. */
const MAX_QUERY_DEPTH = 3;

const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';
const SSE_TYPE = 'text/event-stream';

/** The operation object of one route at its OpenAPI path. */
export function buildOperation(route: RouteSpec, path: OpenApiPath, root: protobuf.Root, registry: SchemaRegistry, tag: string): Schema {
  const service = root.lookupService(route.service);
  const method = service.methods[route.method]!;
  const request = root.lookupType(route.requestType);
  const response = root.lookupType(route.responseType);

  const { summary, description } = splitComment(method.comment);
  const operation: Schema = { tags: [tag] };
  if (summary !== '') operation['summary'] = summary;
  const notes = [description];
  if (route.bindingIndex > 0) notes.push(`Additional HTTP binding ${route.bindingIndex} of \`${route.method}\`.`);
  const rawRequest = route.body !== '' && requestTakesRawBody(route, request);
  if (route.serverStreaming || route.clientStreaming) notes.push(streamingNote(route, rawRequest));
  const roles = route.auth?.public === false ? route.auth.roles ?? [] : [];
  if (roles.length > 0) notes.push(`Requires a credential holding one of the roles ${roles.map((role) => `\`${role}\``).join(', ')} (403 otherwise).`);
  const text = joinText(...notes);
  if (text !== '') operation['description'] = text;
  operation['operationId'] = route.operationId;

  const bound = new Set<string>();
  const parameters: Schema[] = [];
  for (const parameter of path.parameters) {
    if (parameter.fieldPath !== undefined) bound.add(parameter.fieldPath.join('.'));
    parameters.push(pathParameter(parameter, request));
  }
  if (route.body !== '') bound.add(route.body);
  if (route.body !== '*') parameters.push(...queryParameters(request, bound));
  if (parameters.length > 0) operation['parameters'] = parameters;

  if (route.body !== '') {
    operation['requestBody'] = rawRequest ? rawRequestBody(route.clientStreaming) : requestBody(route, request, path, registry);
  }
  const secured = route.auth !== undefined && !route.auth.public;
  operation['responses'] = {
    '200': responseIsRawBody(route, response) ? rawResponse(route.serverStreaming) : route.serverStreaming ? streamResponse(route, responseSchema(route, response, registry)) : {
      description: route.responseBody === '' ? `A \`${route.responseType}\`.` : `The \`${route.responseBody}\` field of a \`${route.responseType}\`.`,
      content: { [JSON_TYPE]: { schema: responseSchema(route, response, registry) } },
    },
    ...ERROR_RESPONSES,
    ...(secured ? AUTH_ERROR_RESPONSES : {}),
  };
  // No annotation: no `security` key, the gateway's `auth.defaultPolicy` decides at runtime.
  if (route.auth !== undefined) operation['security'] = securityOf(route.auth);
  if (optionsOf(method)['deprecated'] === true) operation['deprecated'] = true;
  operation['x-protogate-template'] = route.template;
  operation['x-protogate-grpc-method'] = route.grpcPath;
  return operation;
}

/** Any bytes, as a file upload in Swagger UI (`format: binary`). */
const binary = (): Schema => ({ type: 'string', format: 'binary' });

/**
 * A request body bound to a google.api.HttpBody: the bytes as they are, any media type
 * (src/transcode/http-body.ts); a client stream's in chunks (src/transcode/request-stream-reader.ts).
 */
const rawRequestBody = (streamed: boolean): Schema => ({
  description: streamed
    ? 'The raw body, any media type, streamed to the service as it arrives: cut into `google.api.HttpBody` messages of at most 64 KiB of `data` each, the first carrying the Content-Type. Bounded by the gateway\'s body limit (413 beyond it).'
    : 'The raw body, any media type: the service receives these bytes and the Content-Type as they are (a `google.api.HttpBody`). Bounded by the gateway\'s body limit (413 beyond it).',
  required: !streamed,
  content: { '*/*': { schema: binary() } },
});

/** A google.api.HttpBody answer: the service's bytes with the service's Content-Type. */
const rawResponse = (streamed: boolean): Schema => ({
  description: streamed
    ? 'A download: the data of each `google.api.HttpBody` the service streams, written as it arrives, with the Content-Type of the first one. A failure after the start cuts the transfer off (no complete-looking short file).'
    : 'The raw bytes the service returns, with the Content-Type it names (a `google.api.HttpBody`; `application/octet-stream` when it names none).',
  content: { '*/*': { schema: binary() } },
});

/** `[]` (no credential) for a public route, else the schemes it accepts: a bearer token with the scopes, an API key. */
function securityOf(auth: NonNullable<RouteSpec['auth']>): Schema[] {
  if (auth.public) return [];
  const accepts = (scheme: string): boolean => auth.schemes === undefined || auth.schemes.length === 0 || auth.schemes.includes(scheme);
  return [...(accepts('jwt') ? [{ [BEARER_SCHEME]: [...auth.scopes] }] : []), ...(accepts('api-key') ? [{ [API_KEY_SCHEME]: [] }] : [])];
}

function streamingNote(route: RouteSpec, rawRequest: boolean): string {
  const kind = route.clientStreaming && route.serverStreaming ? 'bidirectional' : route.clientStreaming ? 'client' : 'server';
  if (route.serverStreaming && route.clientStreaming) {
    return `This is a ${kind}-streaming RPC over one HTTP/1.1 request: the request body is ${rawRequest ? 'raw bytes' : 'NDJSON, one request message per line'}, sent to the service as it arrives, while the response streams as a server stream's (below); a client that reads while it writes gets each answer before its body ends.`;
  }
  if (route.clientStreaming) {
    if (rawRequest) return `This is a ${kind}-streaming RPC: the request body is raw bytes, sent to the service as they arrive.`;
    return `This is a ${kind}-streaming RPC: the request body is NDJSON, one request message per line, sent to the service as each line arrives.`;
  }
  return `This is a ${kind}-streaming RPC: the response is a stream of messages, each sent as it arrives (README "Server streams").`;
}

/**
 * The 200 of a server stream: NDJSON (the default) or Server-Sent Events by Accept. OpenAPI 3.1
 * has no schema for the items of a sequence, so `schema` is one NDJSON line's message (the SSE
 * content carries it as `x-protogate-item-schema`, OpenAPI 3.2's `itemSchema` in spirit) and the
 * framing, the in-band error record and the end are described in words.
 */
function streamResponse(route: RouteSpec, message: Schema): Schema {
  const what = route.responseBody === '' ? `\`${route.responseType}\`` : `\`${route.responseBody}\` field of a \`${route.responseType}\``;
  return {
    description: [
      `A stream: one ${what} per upstream message, each flushed as it arrives. An error before the first message is an ordinary error response; a later one ends the stream with an in-band record.`,
      '`application/x-ndjson` (the default, also for `*/*`): one message per line; a failure is a last line `{"error": google.rpc.Status}` (gRPC code, code name, message, details).',
      '`text/event-stream` (Server-Sent Events, as EventSource asks): `data: <message JSON>` per message; `id: <cursor>` when the gateway is configured with a cursor field for this rpc (a reconnecting client sends it back as Last-Event-ID, forwarded to the backend as metadata `last-event-id`); `: ping` comments while idle; `event: error` with a google.rpc.Status as data for a failure; `event: end` when the stream completes.',
    ].join('\n\n'),
    content: {
      [NDJSON_TYPE]: { schema: message },
      [SSE_TYPE]: { schema: { type: 'string' }, 'x-protogate-item-schema': message },
    },
  };
}

function pathParameter(parameter: PathParameter, request: protobuf.Type): Schema {
  const field = parameter.fieldPath === undefined ? undefined : fieldAt(request, parameter.fieldPath);
  const fieldName = parameter.fieldPath?.join('.');
  const schema: Schema = field === undefined ? { type: 'string' } : leafSchema(field);
  if (schema['type'] === 'string' && !('format' in schema) && !('enum' in schema)) schema['pattern'] = parameter.pattern;
  const lines: string[] = [];
  if (field?.comment) lines.push(field.comment);
  if (fieldName === undefined) {
    lines.push(`Matches \`${parameter.variableTemplate}\`; not bound to a request field.`);
  } else if (parameter.partial) {
    const part = parameter.multiSegment ? 'Part' : 'One segment';
    lines.push(`${part} of \`${fieldName}\`: the gateway sets the field to \`${parameter.fieldTemplate ?? parameter.variableTemplate}\` (form \`${parameter.variableTemplate}\`).`);
  } else if (parameter.variableTemplate !== '*') {
    lines.push(`\`${fieldName}\` has the form \`${parameter.variableTemplate}\`.`);
  }
  if (parameter.multiSegment) {
    lines.push('The value spans several path segments: send its "/" characters as they are, not percent-encoded as %2F.');
  }
  const out: Schema = { name: parameter.name, in: 'path', required: true, description: lines.join('\n\n'), schema };
  if (fieldName !== undefined) out['x-protogate-field'] = fieldName;
  out['x-protogate-pattern'] = parameter.pattern;
  return out;
}

/**
 * Query parameters for the request fields that neither the path nor the body binds: scalars,
 * enums and scalar-form well-known types, repeated or not, under dotted JSON names; sub-messages
 * are followed (not into a type already on the way, nor deeper than MAX_QUERY_DEPTH); maps,
 * repeated messages and other message leaves cannot be sent in a query string and are skipped.
 */
function queryParameters(request: protobuf.Type, bound: ReadonlySet<string>): Schema[] {
  const out: Schema[] = [];
  const walk = (type: protobuf.Type, protoPath: readonly string[], jsonPath: readonly string[], seen: readonly protobuf.Type[]): void => {
    for (const field of type.fieldsArray) {
      field.resolve();
      const proto = [...protoPath, field.name];
      if (bound.has(proto.join('.')) || field.map) continue;
      const json = [...jsonPath, jsonNameOf(field)];
      const message = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
      if (message !== undefined && !SCALAR_FORM_TYPES.has(message.fullName.slice(1))) {
        if (!field.repeated && proto.length < MAX_QUERY_DEPTH && !seen.includes(message)) walk(message, proto, json, [...seen, message]);
        continue;
      }
      const item = leafSchema(field);
      const parameter: Schema = { name: json.join('.'), in: 'query' };
      if (field.comment) parameter['description'] = field.comment;
      if (field.repeated) {
        parameter['schema'] = { type: 'array', items: item };
        parameter['style'] = 'form';
        parameter['explode'] = true;
      } else {
        parameter['schema'] = item;
      }
      if (optionsOf(field)['deprecated'] === true) parameter['deprecated'] = true;
      parameter['x-protogate-field'] = proto.join('.');
      out.push(parameter);
    }
  };
  walk(request, [], [], [request]);
  return out;
}

/** A self-contained schema for a path or query value: scalar, enum names or a scalar-form WKT. */
function leafSchema(field: protobuf.Field): Schema {
  field.resolve();
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const { description: _unused, ...schema } = enumSchema(resolved);
    return schema;
  }
  if (resolved instanceof protobuf.Type) {
    const schema = wellKnownSchema(resolved.fullName.slice(1), () => ({}), scalarSchema) ?? { type: 'string' };
    return { ...schema };
  }
  return scalarSchema(field.type) ?? { type: 'string' };
}

function requestBody(route: RouteSpec, request: protobuf.Type, path: OpenApiPath, registry: SchemaRegistry): Schema {
  let schema: Schema;
  let description: string;
  if (route.body === '*') {
    // Top-level fields the path binds are not part of the body.
    const omit = new Set(path.parameters.filter((p) => p.fieldPath?.length === 1).map((p) => p.fieldPath![0]!));
    schema = omit.size === 0 ? registry.ref(request) : registry.messageSchema(request, omit);
    description =
      omit.size === 0
        ? `A \`${route.requestType}\`.`
        : `A \`${route.requestType}\` without the fields the path sets (${[...omit].map((n) => `\`${n}\``).join(', ')}).`;
  } else {
    const field = request.fields[route.body]!;
    field.resolve();
    // The body is the field's value itself, so it is the message, not "the message or null".
    const message = !field.repeated && !field.map && field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    // Fields of the body message that the path binds (`{book.name=…}` with body "book") are set
    // by the gateway from the path: an inline copy of the message leaves them out.
    const omit = new Set(
      path.parameters.filter((p) => p.fieldPath?.length === 2 && p.fieldPath[0] === route.body).map((p) => p.fieldPath![1]!),
    );
    description = `The \`${route.body}\` field of a \`${route.requestType}\`.`;
    if (message === undefined) {
      schema = registry.fieldSchema(field);
    } else if (omit.size === 0) {
      schema = registry.ref(message);
    } else {
      const names = [...omit].map((n) => `\`${n}\``).join(', ');
      const note = `A \`${fullNameOf(message)}\` without ${names}: the path sets ${omit.size === 1 ? 'it' : 'them'}.`;
      schema = registry.messageSchema(message, omit);
      schema['description'] = joinText(note, schema['description'] as string | undefined);
      description = `The \`${route.body}\` field of a \`${route.requestType}\`, without ${names} (set from the path).`;
    }
  }
  if (route.clientStreaming) {
    // pipeline-client-stream.ts: one such message per NDJSON line
    description = `Newline-delimited JSON: one message per line, each ${description.charAt(0).toLowerCase()}${description.slice(1)} A bad line is a 400 naming it.`;
    return { description, required: false, content: { [NDJSON_TYPE]: { schema } } };
  }
  return { description, required: true, content: { [JSON_TYPE]: { schema } } };
}

function responseSchema(route: RouteSpec, response: protobuf.Type, registry: SchemaRegistry): Schema {
  if (route.responseBody === '') return registry.ref(response);
  return registry.fieldSchema(response.fields[route.responseBody]!);
}

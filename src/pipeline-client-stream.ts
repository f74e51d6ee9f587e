// The pipeline's branch for client-streaming methods: the request body is read as it arrives
// (transcode/request-stream-reader.ts: NDJSON, one message per line, or raw google.api.HttpBody
// chunks) and each message is written to the upstream call as soon as it is complete and valid.
// The next bytes are read only once the upstream took the last message, so a slow backend holds
// the client's upload back (HTTP/2 flow control upstream, TCP to the client) instead of filling
// memory here. A bad line cancels the call and answers 400 naming the line. The one response is
// answered as a unary call's. A transport without `clientStream` makes such routes answer 501.
import { Code } from './errors/codes.js';
import { GatewayError, gatewayError } from './errors/gateway-error.js';
import type { GatewayReply, GatewayRequest } from './pipeline.js';
import { RouteTable } from './routing/route-table.js';
import type { CompiledRoute } from './transcode/compiled-route.js';
import { assembleWithoutBody, readRequestStream, type RequestStreamParts } from './transcode/request-stream-reader.js';
import type { AssembledRequest } from './transcode/request-assembler.js';
import { metadataToHeaders } from './upstream/request-metadata.js';
import type { CallFailure, ClientStreamCall, UnaryRequest, UpstreamTransport } from './upstream/transport.js';

/** The request-dependent inputs of one client-streaming call. */
export interface ClientStreamInputs extends RequestStreamParts {
  /** The call without its message (each line is one). */
  readonly call: UnaryRequest;
}

/**
 * The body of a streaming request: the chunks the HTTP adapter streams (client-streaming routes
 * get theirs unread), or the whole body it already read, as one chunk.
 */
export function bodyChunks(request: GatewayRequest): AsyncIterable<Uint8Array> {
  if (request.bodyStream !== undefined) return request.bodyStream;
  const body = request.body;
  return (async function* whole() {
    if (body !== undefined && body.byteLength > 0) yield body;
  })();
}

/**
 * Which requests get their body as a stream: those whose route is client-streaming. The HTTP
 * adapter asks before it reads any body, so every other request must be answered cheaply: by its
 * method, then by a table of the streaming routes alone (a miss there is final); a hit is
 * confirmed against the whole `table`, where a more specific unary route may win.
 * Undefined when no route streams its body: then nobody needs to ask.
 */
export function streamedBodyMatcher(routes: readonly CompiledRoute[], table: RouteTable<CompiledRoute>): ((method: string, url: string) => boolean) | undefined {
  const streaming = routes.filter((route) => route.spec.clientStreaming);
  if (streaming.length === 0) return undefined;
  const methods = new Set(streaming.map((route) => route.spec.httpMethod));
  const candidates = new RouteTable<CompiledRoute>();
  for (const route of streaming) candidates.add(route.spec.httpMethod, route.template, route);
  return (method, url) => {
    if (!methods.has(method)) return false;
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (candidates.match(method, path).kind !== 'found') return false;
    const match = table.match(method, path);
    return match.kind === 'found' && match.route.spec.clientStreaming;
  };
}

/** Runs one client-streaming call; `errorOf` and `fail` render errors as the pipeline does. */
export async function serveClientStream(
  route: CompiledRoute,
  transport: UpstreamTransport,
  inputs: ClientStreamInputs,
  errorOf: (failure: CallFailure) => GatewayError,
  fail: (error: GatewayError, route?: CompiledRoute) => GatewayReply,
): Promise<GatewayReply> {
  const spec = route.spec;
  const open = transport.clientStream;
  if (open === undefined) {
    return fail(
      gatewayError(Code.UNIMPLEMENTED, 'PG_STREAMING_NOT_SUPPORTED', `the upstream transport of ${spec.service} has no client streams`),
      route,
    );
  }
  // Opened at the first message (or the end of an empty body): a body refused at its first
  // bytes (415, 413, a bad first line) never reaches the service.
  let call: ClientStreamCall | undefined;
  let system: AssembledRequest['system'] | undefined;
  try {
    for await (const assembled of readRequestStream(route, inputs)) {
      system ??= assembled.system;
      call ??= open.call(transport, inputs.call);
      // false: the call has already ended (an upstream error, the deadline); its result says how
      if (!(await call.write(assembled.message))) break;
    }
  } catch (error) {
    call?.cancel();
    if (error instanceof GatewayError) return fail(error, route);
    throw error;
  }
  call ??= open.call(transport, inputs.call);
  call.end();
  const result = await call.result;
  const headers: Record<string, string | string[]> = {};
  metadataToHeaders(result.headers, headers);
  metadataToHeaders(result.trailers, headers);
  if (!result.ok) {
    const reply = fail(errorOf(result), route);
    Object.assign(reply.headers, headers);
    return reply;
  }
  try {
    // no message at all: the system parameters still come from the query
    system ??= assembleWithoutBody(route, inputs).system;
    return { statusCode: 200, headers, body: route.encodeResponse(result.message, system), route };
  } catch (cause) {
    if (cause instanceof GatewayError) return fail(cause, route);
    return fail(new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'the upstream response could not be decoded', { httpStatus: 502, cause }), route);
  }
}

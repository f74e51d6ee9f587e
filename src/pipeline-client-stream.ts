// The pipeline's branch for client-streaming methods: the request body is NDJSON, one request
// message per line. Each line is assembled like a unary request's body (with the same path and
// query bindings, which therefore apply to every message) and written to the upstream call as
// soon as it is valid; a bad line cancels the call and answers 400 naming the line. The one
// response is answered as a unary call's.
//
// The body itself is read whole first (Fastify, bounded by limits.maxBodyBytes): lines go to the
// backend one by one, paced by its flow control, but not as they arrive from the client. A
// transport without `clientStream` (every bundled one has it) makes such routes answer 501.
import { Code } from './errors/codes.js';
import { GatewayError, gatewayError } from './errors/gateway-error.js';
import type { GatewayReply } from './pipeline.js';
import type { CompiledRoute } from './transcode/compiled-route.js';
import type { AssembledRequest, RequestParts } from './transcode/request-assembler.js';
import { metadataToHeaders } from './upstream/request-metadata.js';
import type { CallFailure, UnaryRequest, UpstreamTransport } from './upstream/transport.js';

/** The request-dependent inputs of one client-streaming call. */
export interface ClientStreamInputs {
  /** The call without its message (each line is one). */
  readonly call: UnaryRequest;
  readonly bindings: RequestParts['bindings'];
  readonly query: string;
  readonly body: Uint8Array | undefined;
  readonly contentType: string | undefined;
}

/** Media types a client-streaming body may have: newline-delimited JSON under its usual names. */
const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/json-lines'];
const JSON_TYPE = 'application/json';
const NEWLINE = 0x0a;

/** Runs one client-streaming call; `errorOf` and `fail` render errors as the pipeline does. */
export async function serveClientStream(
  route: CompiledRoute,
  transport: UpstreamTransport,
  inputs: ClientStreamInputs,
  errorOf: (failure: CallFailure) => GatewayError,
  fail: (error: GatewayError, route?: CompiledRoute) => GatewayReply,
): Promise<GatewayReply> {
  const spec = route.spec;
  const mediaType = inputs.contentType?.split(';')[0]?.trim().toLowerCase();
  const body = inputs.body;
  if (body !== undefined && body.byteLength > 0 && (mediaType === undefined || !NDJSON_TYPES.includes(mediaType))) {
    return fail(
      gatewayError(
        Code.INVALID_ARGUMENT,
        'PG_UNSUPPORTED_MEDIA_TYPE',
        `${spec.service}/${spec.method} is client-streaming: send its messages as application/x-ndjson, one JSON message per line`,
        { httpStatus: 415 },
      ),
      route,
    );
  }
  if (transport.clientStream === undefined) {
    return fail(
      gatewayError(Code.UNIMPLEMENTED, 'PG_STREAMING_NOT_SUPPORTED', `the upstream transport of ${spec.service} has no client streams`),
      route,
    );
  }
  const call = transport.clientStream(inputs.call);
  let system: AssembledRequest['system'] | undefined;
  let line = 0;
  for (let start = 0; body !== undefined && start < body.byteLength; ) {
    let end = body.indexOf(NEWLINE, start);
    if (end < 0) end = body.byteLength;
    const text = body.subarray(start, end);
    start = end + 1;
    line++;
    if (isBlank(text)) continue;
    let assembled: AssembledRequest;
    try {
      assembled = route.assemble({ bindings: inputs.bindings, query: inputs.query, body: text, contentType: JSON_TYPE });
    } catch (error) {
      call.cancel();
      if (!(error instanceof GatewayError)) throw error;
      return fail(new GatewayError(error.code, error.reason, `line ${line}: ${error.message}`, { details: error.details, ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }) }), route);
    }
    system ??= assembled.system;
    // false: the call has already ended (an upstream error, the deadline); its result says how
    if (!(await call.write(assembled.message))) break;
  }
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
    system ??= route.assemble({ bindings: inputs.bindings, query: inputs.query, body: undefined, contentType: undefined }).system;
    return { statusCode: 200, headers, body: route.encodeResponse(result.message, system), route };
  } catch (cause) {
    if (cause instanceof GatewayError) return fail(cause, route);
    return fail(new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'the upstream response could not be decoded', { httpStatus: 502, cause }), route);
  }
}

function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== NEWLINE) return false;
  return true;
}

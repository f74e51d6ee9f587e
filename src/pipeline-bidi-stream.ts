// The pipeline's branch for bidirectional-streaming methods, over one HTTP/1.1 exchange: the
// request body is read as a client stream's (transcode/request-stream-reader.ts: NDJSON lines or
// raw HttpBody chunks, each written to the call as it arrives) while the responses are answered
// as a server stream's (pipeline-stream.ts: NDJSON or SSE records, each flushed as it arrives).
// Both run at once, so a client that reads while it writes gets each answer before it sends its
// next message; one that sends its whole body first gets the answers after it.
//
// A failure of the request body (a bad line, 413, the client gone) cancels the call: before the
// first response message it is the HTTP answer (400 `line N: …`), after it the in-band error
// record. Never retried. A transport without `bidiStream` makes such routes answer 501.
import { Code } from './errors/codes.js';
import { GatewayError, gatewayError } from './errors/gateway-error.js';
import type { GatewayReply } from './pipeline.js';
import type { CompiledRoute } from './transcode/compiled-route.js';
import { assembleWithoutBody, readRequestStream, type RequestStreamParts } from './transcode/request-stream-reader.js';
import type { SystemParameters } from './transcode/system-parameters.js';
import type { BidiStreamCall, CallFailure, ServerStreamCall, UnaryRequest, UpstreamTransport } from './upstream/transport.js';

/** The request-dependent inputs of one bidirectional call. */
export interface BidiStreamInputs extends RequestStreamParts {
  /** The call without its message (each request message is written to it). */
  readonly call: UnaryRequest;
  readonly accept: string | undefined;
}

/** The response side, as pipeline-stream.ts answers a server stream. */
type Respond = (
  route: CompiledRoute,
  call: ServerStreamCall,
  system: Readonly<SystemParameters>,
  accept: string | undefined,
  failureOf: (status: CallFailure) => GatewayError,
) => Promise<GatewayReply>;

/** Runs one bidirectional call; `errorOf` and `fail` render errors as the pipeline does. */
export function serveBidiStream(
  route: CompiledRoute,
  transport: UpstreamTransport,
  inputs: BidiStreamInputs,
  errorOf: (failure: CallFailure) => GatewayError,
  fail: (error: GatewayError, route?: CompiledRoute) => GatewayReply,
  respond: Respond,
): Promise<GatewayReply> {
  const { service } = route.spec;
  if (transport.bidiStream === undefined) {
    return Promise.resolve(fail(gatewayError(Code.UNIMPLEMENTED, 'PG_STREAMING_NOT_SUPPORTED', `the upstream transport of ${service} has no bidirectional streams`), route));
  }
  let system: Readonly<SystemParameters>;
  try {
    // the response format comes from the query ($alt, $fields…), known before any message
    system = assembleWithoutBody(route, inputs).system;
  } catch (error) {
    if (error instanceof GatewayError) return Promise.resolve(fail(error, route));
    throw error;
  }
  // opened at once: a service may speak first, before the client has sent anything
  const call = transport.bidiStream(inputs.call);
  const sending = sendRequestStream(route, call, inputs);
  return respond(route, call, system, inputs.accept, (status) => sending.failure() ?? errorOf(status));
}

/**
 * Writes the request messages of `parts` to `call` as they arrive and ends its request side at
 * the end of the body. A failure of the body cancels the call; `failure()` then tells what it
 * was (set before the cancellation, so whoever sees the call end sees it).
 */
function sendRequestStream(route: CompiledRoute, call: BidiStreamCall, parts: RequestStreamParts): { failure(): GatewayError | undefined } {
  let failure: GatewayError | undefined;
  const send = async (): Promise<void> => {
    try {
      for await (const assembled of readRequestStream(route, parts)) {
        // false: the call is over (its status says how); the rest of the body is not read
        if (!(await call.write(assembled.message))) return;
      }
      call.end();
    } catch (error) {
      failure = error instanceof GatewayError ? error : new GatewayError(Code.INTERNAL, 'PG_INTERNAL', 'internal error', { cause: error });
      call.cancel();
    }
  };
  void send();
  return { failure: () => failure };
}

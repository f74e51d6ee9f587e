// One unary call on a node:http2 stream: the stream's events go to shared listeners (no closures
// per call), which collect the one length-prefixed response message, check it against the
// receive limit before buffering, and turn headers/trailers into a UnaryResult.
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type IncomingHttpStatusHeader } from 'node:http2';
import { Code } from '../errors/codes.js';
import { codeForHttpStatus, statusOfHeaderBlock } from './http2-metadata.js';
import type { CancelSignal, MetadataPairs, StreamStatus, UnaryResult } from './transport.js';
import { localFailure, markLocalLimit } from './unary-call.js';

type Failure = Extract<UnaryResult, { ok: false }>;

const {
  NGHTTP2_CANCEL,
  NGHTTP2_NO_ERROR,
  NGHTTP2_REFUSED_STREAM,
  NGHTTP2_ENHANCE_YOUR_CALM,
  NGHTTP2_INADEQUATE_SECURITY,
} = http2.constants;

const PREFIX_BYTES = 5;

/** One HTTP/2 connection of a transport, with the calls it carries. */
export interface Http2Connection {
  readonly session: ClientHttp2Session;
  /** calls in flight on this session (it is ref'd while > 0) */
  inFlight: number;
  /** whether the session ever connected (a failure before that means backoff) */
  connected: boolean;
  /** set on GOAWAY, error or close: streams still open on it may end without a status */
  lost: boolean;
  /** streams opened so far (client stream ids run out after 2^30) */
  streamsOpened: number;
}

/** What a call needs from its transport. */
export interface Http2CallOwner {
  readonly target: string;
  readonly maxReceiveMessageBytes: number;
  /** bookkeeping once a call has its result: unlink, counts, drain */
  callSettled(call: Http2Call): void;
  /** the connection failed under a call: stop using it */
  connectionLost(connection: Http2Connection): void;
}

/** The state of one call; also a node of the owner's intrusive list of calls in flight. */
export class Http2Call {
  prev: Http2Call | undefined = undefined;
  next: Http2Call | undefined = undefined;
  done = false;
  stream: ClientHttp2Stream | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  headers: IncomingHttpHeaders | undefined = undefined;
  trailers: IncomingHttpHeaders | undefined = undefined;
  first: Buffer | undefined = undefined;
  chunks: Buffer[] | undefined = undefined;
  received = 0;
  /** prefix + message length once the 5-byte prefix has been read, else -1 */
  expected = -1;
  error: (Error & { code?: string }) | undefined = undefined;

  constructor(
    readonly owner: Http2CallOwner,
    readonly connection: Http2Connection,
    readonly path: string,
    readonly deadline: number,
    readonly signal: CancelSignal | undefined,
    readonly resolve: (result: UnaryResult) => void,
  ) {}
}

const kCall: unique symbol = Symbol('protogate.http2Call');
type CallStream = ClientHttp2Stream & { [kCall]: Http2Call };

/** Wires `stream` to `call` through the shared listeners. */
export function attachStream(call: Http2Call, stream: ClientHttp2Stream): void {
  call.stream = stream;
  (stream as CallStream)[kCall] = call;
  stream.on('response', onResponse);
  stream.on('data', onData);
  stream.on('trailers', onTrailers);
  stream.on('error', onError);
  stream.on('close', onClose);
}

/** Ends the call with `result` now; the stream (if still open) is reset with CANCEL. */
export function settle(call: Http2Call, result: UnaryResult, cancelStream: boolean): void {
  if (call.done) return;
  call.done = true;
  if (call.onAbort !== undefined) call.signal?.removeEventListener('abort', call.onAbort);
  if (cancelStream && call.stream !== undefined && !call.stream.closed) call.stream.close(NGHTTP2_CANCEL);
  call.owner.callSettled(call);
  call.resolve(result);
}

function fail(call: { readonly owner: Http2CallOwner; readonly path: string }, code: number, message: string, cause: string): Failure {
  return localFailure(code, message, `${call.owner.target}${call.path}: ${cause}`);
}

/** The shared deadline sweep found the call past its deadline. */
export function expire(call: Http2Call): void {
  settle(call, fail(call, Code.DEADLINE_EXCEEDED, 'Upstream deadline exceeded', 'deadline exceeded (local timer)'), true);
}

/** The caller's signal aborted: RST_STREAM CANCEL, result CANCELLED. */
export function abort(call: Http2Call): void {
  settle(call, fail(call, Code.CANCELLED, 'Upstream call cancelled', 'cancelled by the caller'), true);
}

function onResponse(this: CallStream, headers: IncomingHttpHeaders & IncomingHttpStatusHeader): void {
  const call = this[kCall];
  if (call.done) return;
  call.headers = headers;
  const problem = nonGrpcResponse(call, headers);
  if (problem !== undefined) settle(call, problem, true);
}

/** The failure when response headers are not a gRPC response (a proxy's error page, other content). */
export function nonGrpcResponse(call: { readonly owner: Http2CallOwner; readonly path: string }, headers: IncomingHttpHeaders & IncomingHttpStatusHeader): Failure | undefined {
  const status = headers[':status'];
  if (status !== 200 && headers['grpc-status'] === undefined) {
    // not a gRPC response (a proxy's error page): gRPC's HTTP → status mapping
    const code = codeForHttpStatus(status ?? 0);
    return fail(call, code, `Upstream answered HTTP ${status ?? 'without a status'}`, `HTTP status ${status}`);
  }
  const contentType = headers['content-type'];
  if (status === 200 && (contentType === undefined || !contentType.startsWith('application/grpc'))) {
    return fail(call, Code.UNKNOWN, 'Upstream answered without gRPC content', `content-type ${contentType}`);
  }
  return undefined;
}

function onData(this: CallStream, chunk: Buffer): void {
  const call = this[kCall];
  if (call.done) return;
  if (call.first === undefined) call.first = chunk;
  else (call.chunks ??= [call.first]).push(chunk);
  call.received += chunk.length;
  if (call.expected < 0) {
    if (call.received < PREFIX_BYTES) return;
    const prefix = call.chunks === undefined ? call.first : Buffer.concat(call.chunks, call.received);
    const flag = prefix[0] as number;
    const length = prefix.readUInt32BE(1);
    if (flag !== 0) {
      // no grpc-accept-encoding was offered, so a compressed (or unknown) flag is a protocol error
      settle(call, fail(call, Code.INTERNAL, 'Upstream protocol error', `message flag ${flag} without a negotiated encoding`), true);
      return;
    }
    const max = call.owner.maxReceiveMessageBytes;
    if (max >= 0 && length > max) {
      const failure = fail(call, Code.RESOURCE_EXHAUSTED, 'Upstream response exceeds the size limit', `Received message larger than max (${length} vs. ${max})`);
      settle(call, markLocalLimit(failure, 'response'), true);
      return;
    }
    call.expected = PREFIX_BYTES + length;
  }
  if (call.received > call.expected) {
    settle(call, fail(call, Code.UNIMPLEMENTED, 'Upstream sent more than one response message', 'Too many responses received'), true);
  }
}

function onTrailers(this: CallStream, trailers: IncomingHttpHeaders): void {
  this[kCall].trailers = trailers;
}

function onError(this: CallStream, error: Error): void {
  this[kCall].error = error;
}

function onClose(this: CallStream): void {
  const call = this[kCall];
  if (call.done) return;
  settle(call, resultOf(call, this.rstCode ?? NGHTTP2_NO_ERROR), false);
}

/** Code for a stream the server reset (PROTOCOL-HTTP2.md "Errors"). */
function codeForRstStream(rstCode: number): number {
  if (rstCode === NGHTTP2_REFUSED_STREAM) return Code.UNAVAILABLE;
  // A server that cancels a call is going away (a backend killed or force-stopped mid-call):
  // PROTOCOL-HTTP2.md says CANCELLED, but to the HTTP client that is an upstream outage, not the
  // 499 "client closed request" it never did — UNAVAILABLE, as the grpc-js transport reports it,
  // which an idempotent call may also retry. Our own cancellations never come through here.
  if (rstCode === NGHTTP2_CANCEL) return Code.UNAVAILABLE;
  if (rstCode === NGHTTP2_ENHANCE_YOUR_CALM) return Code.RESOURCE_EXHAUSTED;
  if (rstCode === NGHTTP2_INADEQUATE_SECURITY) return Code.PERMISSION_DENIED;
  return Code.INTERNAL;
}

function resultOf(call: Http2Call, rstCode: number): UnaryResult {
  const status = streamStatus(call, rstCode);
  if (!status.ok) return status;
  if (call.expected >= 0 && call.received === call.expected) {
    const first = call.first as Buffer;
    const whole = call.chunks === undefined ? first : Buffer.concat(call.chunks, call.received);
    return { ok: true, message: whole.subarray(PREFIX_BYTES), headers: status.headers, trailers: status.trailers };
  }
  const cause = call.received === 0 ? 'No message received' : `truncated message (${call.received} of ${call.expected} bytes)`;
  return withMetadata(fail(call, call.received === 0 ? Code.UNIMPLEMENTED : Code.INTERNAL, 'Upstream protocol error', cause), status.headers, status.trailers);
}

/** What a finished HTTP/2 stream left behind; an Http2Call is one, so is a streaming call. */
export interface Http2StreamEnd {
  readonly owner: Http2CallOwner;
  readonly connection: Http2Connection;
  readonly path: string;
  readonly headers: IncomingHttpHeaders | undefined;
  readonly trailers: IncomingHttpHeaders | undefined;
  readonly error: (Error & { code?: string }) | undefined;
}

/**
 * The gRPC status of a closed stream (unary or streaming): from its trailers (or trailers-only
 * headers), else from how the stream or its connection ended. Messages are the caller's business.
 */
export function streamStatus(call: Http2StreamEnd, rstCode: number): StreamStatus {
  const { headers, trailers, error } = call;
  const trailersOnly = trailers === undefined && headers !== undefined && headers['grpc-status'] !== undefined;
  if (trailers === undefined && !trailersOnly) {
    // The stream ended without a status: the connection went away, or the server reset it.
    // (a session torn down under a stream resets it with CANCEL or INTERNAL_ERROR, not an RST from the server)
    if ((error !== undefined && error.code !== 'ERR_HTTP2_STREAM_ERROR') || call.connection.lost || call.connection.session.destroyed) {
      call.owner.connectionLost(call.connection);
      const reason = error?.message ?? `rst code ${rstCode}`;
      return fail(call, Code.UNAVAILABLE, 'Upstream unavailable', `${headers === undefined ? 'no response' : 'connection lost'}: ${reason}`);
    }
    if (rstCode !== NGHTTP2_NO_ERROR) return fail(call, codeForRstStream(rstCode), 'Upstream reset the call', `RST_STREAM code ${rstCode}`);
    return fail(call, headers === undefined ? Code.UNAVAILABLE : Code.INTERNAL, 'Upstream protocol error', 'stream ended without a status');
  }
  return statusOfHeaderBlock(call.owner.target, call.path, headers, trailersOnly ? undefined : trailers);
}

function withMetadata(failure: Failure, headers: MetadataPairs, trailers: MetadataPairs): Failure {
  failure.headers = headers;
  failure.trailers = trailers;
  return failure;
}

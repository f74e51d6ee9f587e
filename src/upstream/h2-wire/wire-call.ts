// One unary gRPC call on a wire connection: writes its own header fields (path, grpc-timeout,
// metadata), collects the one length-prefixed response message (checked against the receive
// limit from its prefix, before buffering), and turns what the stream ended with into a
// UnaryResult by the same rules as the node:http2 transport (wire-status.ts).
import type { OutgoingHttpHeaders } from 'node:http2';
import { Code } from '../../errors/codes.js';
import { encodeGrpcTimeout } from '../http2-metadata.js';
import type { CancelSignal, UnaryResult } from '../transport.js';
import { localFailure, markLocalLimit } from '../unary-call.js';
import type { HeaderBlockWriter } from './hpack-encoder.js';
import type { WireConnection, WireStream } from './wire-connection.js';
import { grpcStatus, headerMapOf, lostStatus, nonGrpcResponse, resetStatus, type HeaderMap } from './wire-status.js';

type Failure = Extract<UnaryResult, { ok: false }>;

const PREFIX_BYTES = 5;

/** What a call needs from its transport. */
export interface WireCallOwner {
  readonly target: string;
  readonly maxReceiveMessageBytes: number;
  /** bookkeeping once a call has its result: unlink, counts, drain */
  callSettled(call: WireCall): void;
}

/** The state of one call; also a node of the owner's intrusive list of calls in flight. */
export class WireCall implements WireStream {
  prev: WireCall | undefined = undefined;
  next: WireCall | undefined = undefined;
  done = false;
  onAbort: (() => void) | undefined = undefined;
  // WireStream: the connection's bookkeeping
  id = 0;
  sendWindow = 0;
  sent = 0;
  unacknowledged = 0;
  // the response so far
  headers: HeaderMap | undefined = undefined;
  trailers: HeaderMap | undefined = undefined;
  first: Buffer | undefined = undefined;
  chunks: Buffer[] | undefined = undefined;
  received = 0;
  /** prefix + message length once the 5-byte prefix has been read, else -1 */
  expected = -1;

  constructor(
    readonly owner: WireCallOwner,
    /** the connection the call runs (or waits) on; changes if it is moved before it started */
    public connection: WireConnection,
    readonly path: string,
    /** the encoded :path field (hpack-encoder.ts `pathField`) */
    readonly pathField: Buffer,
    /** the request metadata as validated headers (http2-metadata.ts `addRequestMetadata`), if any */
    readonly metadata: OutgoingHttpHeaders | undefined,
    readonly message: Uint8Array,
    readonly deadline: number,
    readonly signal: CancelSignal | undefined,
    readonly resolve: (result: UnaryResult) => void,
  ) {}

  writeHeaderFields(writer: HeaderBlockWriter): void {
    // computed when the HEADERS go out, so time spent queued counts against the server's timeout too
    writer.newName('grpc-timeout', encodeGrpcTimeout(Math.max(1, Math.ceil(this.deadline - Date.now()))));
    const metadata = this.metadata;
    if (metadata === undefined) return;
    for (const name in metadata) {
      const value = metadata[name];
      if (typeof value === 'string') writer.newName(name, value);
      else if (Array.isArray(value)) for (const one of value) writer.newName(name, one);
    }
  }

  onHeaders(fields: string[], endStream: boolean): void {
    if (this.done) return;
    const map = headerMapOf(fields);
    if (this.headers === undefined) {
      this.headers = map;
      const problem = nonGrpcResponse(this.owner.target, this.path, map);
      if (problem !== undefined) settle(this, problem, !endStream);
      else if (endStream) settle(this, this.#result(), false); // trailers-only
      return;
    }
    if (!endStream) {
      settle(this, this.#fail(Code.INTERNAL, 'Upstream protocol error', 'a second header block without END_STREAM'), true);
      return;
    }
    this.trailers = map;
    settle(this, this.#result(), false);
  }

  onData(data: Buffer, endStream: boolean): void {
    if (this.done) return;
    if (this.headers === undefined) {
      settle(this, this.#fail(Code.INTERNAL, 'Upstream protocol error', 'DATA before the response headers'), !endStream);
      return;
    }
    if (data.length > 0 && this.#take(data)) return;
    if (endStream) settle(this, resetStatus(this.owner.target, this.path, this.headers, 0), false);
  }

  onReset(code: number): void {
    if (!this.done) settle(this, resetStatus(this.owner.target, this.path, this.headers, code), false);
  }

  onLost(reason: string): void {
    if (!this.done) settle(this, lostStatus(this.owner.target, this.path, this.headers, reason), false);
  }

  /** Collects response bytes; true when that settled the call (bad flag, too large, too many). */
  #take(data: Buffer): boolean {
    if (this.first === undefined) this.first = data;
    else (this.chunks ??= [this.first]).push(data);
    this.received += data.length;
    if (this.expected < 0) {
      if (this.received < PREFIX_BYTES) return false;
      const prefix = this.chunks === undefined ? this.first : Buffer.concat(this.chunks, this.received);
      const flag = prefix[0] as number;
      const length = prefix.readUInt32BE(1);
      if (flag !== 0) {
        // no grpc-accept-encoding was offered, so a compressed (or unknown) flag is a protocol error
        settle(this, this.#fail(Code.INTERNAL, 'Upstream protocol error', `message flag ${flag} without a negotiated encoding`), true);
        return true;
      }
      const max = this.owner.maxReceiveMessageBytes;
      if (max >= 0 && length > max) {
        const failure = this.#fail(Code.RESOURCE_EXHAUSTED, 'Upstream response exceeds the size limit', `Received message larger than max (${length} vs. ${max})`);
        settle(this, markLocalLimit(failure, 'response'), true);
        return true;
      }
      this.expected = PREFIX_BYTES + length;
    }
    if (this.received > this.expected) {
      settle(this, this.#fail(Code.UNIMPLEMENTED, 'Upstream sent more than one response message', 'Too many responses received'), true);
      return true;
    }
    return false;
  }

  /** The result once the status arrived (trailers, or trailers-only headers): it, and exactly one whole message if OK. */
  #result(): UnaryResult {
    const status = grpcStatus(this.owner.target, this.path, this.headers, this.trailers);
    if (!status.ok) return status;
    if (this.expected >= 0 && this.received === this.expected) {
      const first = this.first as Buffer;
      const whole = this.chunks === undefined ? first : Buffer.concat(this.chunks, this.received);
      return { ok: true, message: whole.subarray(PREFIX_BYTES), headers: status.headers, trailers: status.trailers };
    }
    const cause = this.received === 0 ? 'No message received' : `truncated message (${this.received} of ${this.expected} bytes)`;
    const failure = this.#fail(this.received === 0 ? Code.UNIMPLEMENTED : Code.INTERNAL, 'Upstream protocol error', cause);
    failure.headers = status.headers;
    failure.trailers = status.trailers;
    return failure;
  }

  #fail(code: number, message: string, cause: string): Failure {
    return localFailure(code, message, `${this.owner.target}${this.path}: ${cause}`);
  }
}

/** Ends the call with `result` now; with `cancelStream`, the stream (if open) is reset with CANCEL. */
export function settle(call: WireCall, result: UnaryResult, cancelStream: boolean): void {
  if (call.done) return;
  call.done = true;
  if (call.onAbort !== undefined) call.signal?.removeEventListener('abort', call.onAbort);
  if (cancelStream) call.connection.cancel(call);
  call.owner.callSettled(call);
  call.resolve(result);
}

/** The shared deadline sweep found the call past its deadline. */
export function expire(call: WireCall): void {
  settle(call, localFailure(Code.DEADLINE_EXCEEDED, 'Upstream deadline exceeded', `${call.owner.target}${call.path}: deadline exceeded (local timer)`), true);
}

/** The caller's signal aborted: RST_STREAM CANCEL, result CANCELLED. */
export function abort(call: WireCall): void {
  settle(call, localFailure(Code.CANCELLED, 'Upstream call cancelled', `${call.owner.target}${call.path}: cancelled by the caller`), true);
}

// One server-streaming call on a node:http2 stream: splits the DATA chunks into gRPC
// length-prefixed messages (a message may span chunks, a chunk may hold several), checks each
// against the receive limit before buffering it, and feeds them to a ServerStreamQueue, which
// pauses the HTTP/2 stream while its consumer is behind. Streams are long-lived and few, so each
// gets its own deadline timer and listeners (unary calls share them, http2-call.ts).
import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type IncomingHttpStatusHeader } from 'node:http2';
import { Code } from '../errors/codes.js';
import { nonGrpcResponse, streamStatus, type Http2CallOwner, type Http2Connection, type Http2StreamEnd } from './http2-call.js';
import { metadataPairsOf } from './http2-metadata.js';
import { ServerStreamQueue } from './server-stream.js';
import type { CallFailure, UnaryRequest } from './transport.js';
import { localFailure, markLocalLimit } from './unary-call.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;
const PREFIX_BYTES = 5;
/** setTimeout's limit; a later deadline is re-armed when this fires */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Wires `stream` (already opened, request not yet written) to a new queue; `onSettled` runs
 * once, when the call is over for the transport's bookkeeping.
 */
export function startHttp2ServerStream(
  owner: Http2CallOwner,
  connection: Http2Connection,
  stream: ClientHttp2Stream,
  request: UnaryRequest,
  onSettled: () => void,
): ServerStreamQueue {
  const queue = new ServerStreamQueue();
  const { path, signal, deadline } = request;
  const state: { -readonly [K in keyof Http2StreamEnd]: Http2StreamEnd[K] } = {
    owner,
    connection,
    path,
    headers: undefined,
    trailers: undefined,
    error: undefined,
  };
  const deframer = new MessageDeframer(owner.maxReceiveMessageBytes);
  let timer: NodeJS.Timeout | undefined;
  let settled = false;

  const finish = (failure: CallFailure | undefined, cancelStream: boolean): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (cancelStream && !stream.closed) stream.close(NGHTTP2_CANCEL);
    if (failure !== undefined) queue.end(failure);
    onSettled();
  };
  const fail = (code: number, message: string, cause: string): CallFailure => localFailure(code, message, `${owner.target}${path}: ${cause}`);
  const onAbort = (): void => {
    queue.end(fail(Code.CANCELLED, 'Upstream call cancelled', 'cancelled by the caller'));
    finish(undefined, true);
  };
  const armDeadline = (): void => {
    const remaining = deadline - Date.now();
    timer = setTimeout(() => {
      if (deadline > Date.now()) armDeadline();
      else finish(fail(Code.DEADLINE_EXCEEDED, 'Upstream deadline exceeded', 'deadline exceeded (local timer)'), true);
    }, Math.min(Math.max(remaining, 0), MAX_TIMER_MS));
  };

  queue.attach({
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    cancel: () => finish(undefined, true),
  });
  stream.on('response', (headers: IncomingHttpHeaders & IncomingHttpStatusHeader) => {
    if (settled) return;
    state.headers = headers;
    const problem = nonGrpcResponse(state, headers);
    if (problem !== undefined) finish(problem, true);
    else if (headers['grpc-status'] === undefined) queue.setHeaders(metadataPairsOf(headers));
  });
  stream.on('data', (chunk: Buffer) => {
    if (settled) return;
    const problem = deframer.push(chunk, (message) => queue.push(message));
    if (problem === 'compressed') {
      // no grpc-accept-encoding was offered, so a compressed (or unknown) flag is a protocol error
      finish(fail(Code.INTERNAL, 'Upstream protocol error', 'message flag without a negotiated encoding'), true);
    } else if (problem !== undefined) {
      const failure = fail(Code.RESOURCE_EXHAUSTED, 'Upstream response exceeds the size limit', `Received message larger than max (${problem} vs. ${owner.maxReceiveMessageBytes})`);
      finish(markLocalLimit(failure, 'response'), true);
    }
  });
  stream.on('trailers', (trailers: IncomingHttpHeaders) => {
    state.trailers = trailers;
  });
  stream.on('error', (error: Error) => {
    state.error = error;
  });
  stream.on('close', () => {
    if (settled) return;
    const status = streamStatus(state, stream.rstCode ?? NGHTTP2_NO_ERROR);
    if (status.ok && deframer.partialBytes > 0) {
      finish(fail(Code.INTERNAL, 'Upstream protocol error', `truncated message (${deframer.partialBytes} bytes left over)`), false);
      return;
    }
    queue.end(status);
    finish(undefined, false);
  });
  signal?.addEventListener('abort', onAbort, { once: true });
  armDeadline();
  return queue;
}

/**
 * Splits a byte stream into gRPC length-prefixed messages. Chunks are kept as they came and
 * joined once per message, so a large message costs one copy, not one per chunk.
 */
export class MessageDeframer {
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** prefix + message length of the message being read, or -1 before its prefix is complete */
  #expected = -1;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes of an incomplete message (left over when the stream ends: a truncated message). */
  get partialBytes(): number {
    return this.#bytes;
  }

  /**
   * Takes one chunk and hands every message it completes to `deliver`. Returns 'compressed' for
   * a message flagged compressed, the declared length for a message over the limit, else undefined.
   */
  push(chunk: Buffer, deliver: (message: Buffer) => void): 'compressed' | number | undefined {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    for (;;) {
      if (this.#expected < 0) {
        if (this.#bytes < PREFIX_BYTES) return undefined;
        const head = (this.#chunks[0] as Buffer).length >= PREFIX_BYTES ? (this.#chunks[0] as Buffer) : this.#join();
        if (head[0] !== 0) return 'compressed';
        const length = head.readUInt32BE(1);
        if (this.maxMessageBytes >= 0 && length > this.maxMessageBytes) return length;
        this.#expected = PREFIX_BYTES + length;
      }
      if (this.#bytes < this.#expected) return undefined;
      const whole = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : this.#join();
      const rest = whole.subarray(this.#expected);
      deliver(whole.subarray(PREFIX_BYTES, this.#expected));
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#bytes = rest.length;
      this.#expected = -1;
    }
  }

  #join(): Buffer {
    const joined = Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [joined];
    return joined;
  }
}

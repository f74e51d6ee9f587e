// A lean gRPC client on node:http2 behind UpstreamTransport: N sessions (default 1) to one
// target, round-robin, created lazily and re-created after close/GOAWAY/error (with gRPC's
// connection backoff after a failed connect), and one coarse deadline sweep per transport instead
// of a timer per unary call (server streams, http2-server-stream.ts, keep their own timer). Same
// observable behaviour as the grpc-js transport (channel-pool.ts).
//
// With `tls` (upstream-tls.ts) the sessions are https:// with ALPN h2, else plaintext h2c.
// Not the default: the lead wires it in through UpstreamRegistry's `createTransport` argument.
import http2, { type ClientHttp2Session, type ClientSessionOptions, type OutgoingHttpHeaders } from 'node:http2';
import { Code } from '../errors/codes.js';
import type { ChannelPoolOptions } from './channel-pool.js';
import { abort, attachStream, expire, Http2Call, type Http2CallOwner, type Http2Connection } from './http2-call.js';
import { DeadlineSweep } from './deadline-sweep.js';
import { addRequestMetadata, encodeGrpcTimeout } from './http2-metadata.js';
import { failedBidiStream, failedClientStream } from './client-stream.js';
import { startHttp2BidiStream } from './http2-bidi-stream.js';
import { Http2ClientStream } from './http2-client-stream.js';
import { startHttp2ServerStream } from './http2-server-stream.js';
import { ServerStreamQueue } from './server-stream.js';
import type { BidiStreamCall, CallFailure, ClientStreamCall, ServerStreamCall, TransportState, UnaryRequest, UnaryResult, UpstreamTransport } from './transport.js';
import { localFailure, markLocalLimit } from './unary-call.js';
import { http2TlsOptions } from './upstream-tls.js';

/** The node:http2 transport, with its connectivity exposed for readiness checks. */
export interface Http2Transport extends UpstreamTransport {
  readonly target: string;
  state(): TransportState;
}

const DEFAULT_SIZE = 1;
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** above this a request is written as prefix + message rather than copied into one frame */
const COPY_LIMIT_BYTES = 64 * 1024;
// gRPC connection backoff (connection-backoff.md): 1 s initial, ×1.6, ±20 % jitter; capped lower
// than its 120 s because a gateway should notice a restarted upstream soon.
const INITIAL_BACKOFF_MS = 1000;
const BACKOFF_MULTIPLIER = 1.6;
const MAX_BACKOFF_MS = 30_000;
const BACKOFF_JITTER = 0.2;

/** client stream ids are odd numbers below 2^31; leave margin and open a fresh session */
const MAX_STREAMS_PER_SESSION = 2 ** 30 - 2 ** 16;

const NO_MESSAGE = new Uint8Array(0);
const SESSION_OPTIONS: ClientSessionOptions = { settings: { enablePush: false } };
const REQUEST_OPTIONS = { endStream: false } as const;

/** A new HTTP/2 stream and the connection it runs on. */
class OpenedStream {
  constructor(
    readonly connection: Http2Connection,
    readonly stream: http2.ClientHttp2Stream,
  ) {}
}

/** One round-robin position: its current connection and connectivity. */
interface Slot {
  connection: Http2Connection | undefined;
  state: Exclude<TransportState, 'shutdown'>;
  failures: number;
  retryAt: number;
}

const statesByRank: readonly TransportState[] = ['ready', 'connecting', 'idle', 'transient-failure', 'shutdown'];

/** A gRPC unary client on node:http2; see the file comment. */
export function createHttp2Transport(options: ChannelPoolOptions): Http2Transport {
  return new NodeHttp2Transport(options);
}

class NodeHttp2Transport implements Http2Transport, Http2CallOwner {
  readonly target: string;
  readonly maxReceiveMessageBytes: number;
  readonly #maxSendMessageBytes: number;
  readonly #authority: string;
  readonly #scheme: 'http' | 'https';
  readonly #sessionOptions: ClientSessionOptions;
  readonly #keepaliveMs: number | undefined;
  readonly #slots: Slot[] = [];
  #next = 0;
  /** calls in flight, and the one timer that ends those past their deadline */
  readonly #calls = new DeadlineSweep<Http2Call>(expire);
  #inFlight = 0;
  #closed = false;
  #drained: Array<() => void> = [];

  constructor(options: ChannelPoolOptions) {
    const size = options.size ?? DEFAULT_SIZE;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Http2Transport size must be a positive integer, got ${size}`);
    this.target = options.target;
    this.#authority = `${options.tls === undefined ? 'http' : 'https'}://${options.target}`;
    this.#scheme = options.tls === undefined ? 'http' : 'https';
    this.#sessionOptions = options.tls === undefined ? SESSION_OPTIONS : { ...SESSION_OPTIONS, ...http2TlsOptions(options.tls) };
    this.maxReceiveMessageBytes = options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxSendMessageBytes = options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#keepaliveMs = options.keepaliveMs;
    for (let i = 0; i < size; i++) this.#slots.push({ connection: undefined, state: 'idle', failures: 0, retryAt: 0 });
  }

  unary(request: UnaryRequest): Promise<UnaryResult> {
    const opened = this.#open(request);
    if (!(opened instanceof OpenedStream)) return Promise.resolve(opened);
    const { connection, stream } = opened;
    const signal = request.signal;
    let resolve!: (result: UnaryResult) => void;
    const promise = new Promise<UnaryResult>((r) => {
      resolve = r;
    });
    const call = new Http2Call(this, connection, request.path, request.deadline, signal, resolve);
    this.#track(call);
    attachStream(call, stream);
    writeMessage(stream, request.message);
    if (signal !== undefined) {
      call.onAbort = () => abort(call);
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    return promise;
  }

  serverStream(request: UnaryRequest): ServerStreamCall {
    const opened = this.#open(request);
    if (!(opened instanceof OpenedStream)) return ServerStreamQueue.failed(opened);
    const { connection, stream } = opened;
    this.#countIn(connection);
    const call = startHttp2ServerStream(this, connection, stream, request, () => this.#countOut(connection));
    writeMessage(stream, request.message);
    return call;
  }

  clientStream(request: UnaryRequest): ClientStreamCall {
    // `message` is not sent; the size check in #open sees an empty one
    const opened = this.#open({ ...request, message: NO_MESSAGE });
    if (!(opened instanceof OpenedStream)) return failedClientStream(opened);
    const { connection, stream } = opened;
    const signal = request.signal;
    let resolve!: (result: UnaryResult) => void;
    const result = new Promise<UnaryResult>((r) => {
      resolve = r;
    });
    // the response side is a unary call's, swept for its deadline like one
    const call = new Http2Call(this, connection, request.path, request.deadline, signal, resolve);
    this.#track(call);
    attachStream(call, stream);
    if (signal !== undefined) {
      call.onAbort = () => abort(call);
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    return new Http2ClientStream(call, stream, this.#maxSendMessageBytes, result);
  }

  bidiStream(request: UnaryRequest): BidiStreamCall {
    const opened = this.#open({ ...request, message: NO_MESSAGE });
    if (!(opened instanceof OpenedStream)) return failedBidiStream(opened);
    const { connection, stream } = opened;
    this.#countIn(connection);
    return startHttp2BidiStream(this, connection, stream, request, this.#maxSendMessageBytes, () => this.#countOut(connection));
  }

  /** The checks every call makes before it starts, then a new HTTP/2 stream; or why not. */
  #open(request: UnaryRequest): OpenedStream | CallFailure {
    const { path, signal, message } = request;
    const target = this.target;
    if (this.#closed) return localFailure(Code.UNAVAILABLE, 'Upstream transport is closed', `${target}: transport closed`);
    if (signal?.aborted === true) return localFailure(Code.CANCELLED, 'Cancelled by the caller', `${target}${path}: aborted before start`);
    if (!Number.isFinite(request.deadline)) {
      return localFailure(Code.INTERNAL, 'Upstream call without a deadline', `${target}${path}: deadline ${request.deadline}`);
    }
    const max = this.#maxSendMessageBytes;
    if (max >= 0 && message.byteLength > max) {
      const failure = localFailure(
        Code.RESOURCE_EXHAUSTED,
        'Request message too large',
        `${target}${path}: request of ${message.byteLength} bytes exceeds maxSendMessageBytes ${max}`,
      );
      return markLocalLimit(failure, 'request');
    }
    const now = Date.now();
    const remainingMs = Math.ceil(request.deadline - now);
    if (remainingMs <= 0) return localFailure(Code.DEADLINE_EXCEEDED, 'Upstream deadline exceeded', `${target}${path}: deadline already passed`);
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      ':scheme': this.#scheme,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': encodeGrpcTimeout(remainingMs),
    };
    if (request.metadata.length > 0) {
      const problem = addRequestMetadata(headers, request.metadata);
      if (problem !== undefined) {
        return localFailure(Code.INVALID_ARGUMENT, 'Request metadata cannot be sent as gRPC metadata', `${target}${path}: ${problem}`);
      }
    }

    const slot = this.#slots[this.#next] as Slot;
    this.#next = this.#next + 1 === this.#slots.length ? 0 : this.#next + 1;
    const connection = this.#connectionFor(slot, now);
    if (connection === undefined) {
      return localFailure(Code.UNAVAILABLE, 'Upstream unavailable', `${target}${path}: reconnect backoff after a failed connect`);
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = connection.session.request(headers, REQUEST_OPTIONS);
    } catch (error) {
      // the session is closing or destroyed (GOAWAY, error) and we had not noticed yet
      this.connectionLost(connection);
      return localFailure(Code.UNAVAILABLE, 'Upstream unavailable', `${target}${path}: ${String(error)}`);
    }

    if (++connection.streamsOpened === MAX_STREAMS_PER_SESSION) {
      // retire the session before its stream ids run out; its calls in flight finish on it
      this.connectionLost(connection);
      connection.session.close();
    }
    return new OpenedStream(connection, stream);
  }

  state(): TransportState {
    if (this.#closed) return 'shutdown';
    let best = statesByRank.length - 1;
    for (const slot of this.#slots) {
      const rank = statesByRank.indexOf(slot.state);
      if (rank < best) best = rank;
    }
    return statesByRank[best] as TransportState;
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // graceful: a session closes once its streams (the calls in flight) have ended. Idle
      // sessions are unref'd; ref them so the process lives until their 'close' arrives
      // (otherwise a shutdown awaiting close() can find an empty event loop and exit early).
      for (const slot of this.#slots) {
        slot.connection?.session.ref();
        slot.connection?.session.close();
      }
    }
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
    const closing: Array<Promise<void>> = [];
    for (const slot of this.#slots) {
      const session = slot.connection?.session;
      slot.connection = undefined;
      if (session !== undefined && !session.destroyed) closing.push(new Promise((resolve) => session.once('close', resolve)));
    }
    await Promise.all(closing);
  }

  /** Http2CallOwner: a call has its result. */
  callSettled(call: Http2Call): void {
    this.#calls.remove(call);
    this.#countOut(call.connection);
  }

  /** A call started on `connection`: the session stays ref'd and close() waits for it. */
  #countIn(connection: Http2Connection): void {
    if (++connection.inFlight === 1) connection.session.ref();
    this.#inFlight++;
  }

  /** A call on `connection` is over. */
  #countOut(connection: Http2Connection): void {
    if (--connection.inFlight === 0 && !connection.session.destroyed) connection.session.unref();
    if (--this.#inFlight === 0 && this.#drained.length > 0) {
      const waiting = this.#drained;
      this.#drained = [];
      for (const resolve of waiting) resolve();
    }
  }

  /** Http2CallOwner: stop using `connection`; the next call on its slot opens a new one. */
  connectionLost(connection: Http2Connection): void {
    connection.lost = true;
    for (const slot of this.#slots) {
      if (slot.connection !== connection) continue;
      slot.connection = undefined;
      if (connection.connected) {
        slot.state = 'idle';
      } else {
        slot.state = 'transient-failure';
        const backoff = Math.min(INITIAL_BACKOFF_MS * BACKOFF_MULTIPLIER ** slot.failures, MAX_BACKOFF_MS);
        slot.failures++;
        slot.retryAt = Date.now() + backoff * (1 - BACKOFF_JITTER + Math.random() * 2 * BACKOFF_JITTER);
      }
    }
  }

  #track(call: Http2Call): void {
    this.#calls.add(call);
    this.#countIn(call.connection);
  }

  #connectionFor(slot: Slot, now: number): Http2Connection | undefined {
    const existing = slot.connection;
    if (existing !== undefined) {
      if (!existing.session.closed && !existing.session.destroyed) return existing;
      this.connectionLost(existing);
    }
    if (slot.state === 'transient-failure' && now < slot.retryAt) return undefined;
    const connection = this.#connect(slot);
    slot.connection = connection;
    slot.state = 'connecting';
    return connection;
  }

  #connect(slot: Slot): Http2Connection {
    const session: ClientHttp2Session = http2.connect(this.#authority, this.#sessionOptions);
    const connection: Http2Connection = { session, inFlight: 0, connected: false, lost: false, streamsOpened: 0 };
    session.unref(); // ref'd while calls are in flight (#track / callSettled)
    let keepalive: NodeJS.Timeout | undefined;
    session.once('connect', () => {
      connection.connected = true;
      if (slot.connection === connection) {
        slot.state = 'ready';
        slot.failures = 0;
      }
      if (this.#keepaliveMs !== undefined) {
        let unanswered = false;
        keepalive = setInterval(() => {
          // A failed PING means the connection is gone; so does one still unanswered an interval
          // later (the peer vanished without a FIN: host down, partition): gRPC's keepalive
          // timeout, here equal to the interval. The calls on it fail UNAVAILABLE (retryable).
          if (unanswered) {
            session.destroy(new Error(`keepalive PING unanswered for ${this.#keepaliveMs} ms`));
            return;
          }
          unanswered = true;
          try {
            session.ping((error) => {
              unanswered = false;
              if (error !== null) session.destroy();
            });
          } catch {
            session.destroy();
          }
        }, this.#keepaliveMs);
        keepalive.unref();
      }
    });
    // Errors reach the calls through their streams; here they only retire the connection.
    session.on('error', () => this.connectionLost(connection));
    session.on('goaway', () => this.connectionLost(connection));
    session.once('close', () => {
      clearInterval(keepalive);
      this.connectionLost(connection);
    });
    return connection;
  }
}

function writeMessage(stream: http2.ClientHttp2Stream, message: Uint8Array): void {
  const length = message.byteLength;
  if (length <= COPY_LIMIT_BYTES) {
    const frame = Buffer.allocUnsafe(5 + length);
    frame[0] = 0; // not compressed
    frame.writeUInt32BE(length, 1);
    frame.set(message, 5);
    stream.end(frame);
    return;
  }
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = 0;
  prefix.writeUInt32BE(length, 1);
  stream.write(prefix);
  stream.end(Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, length));
}

// The `wire` upstream transport: gRPC unary calls over our own HTTP/2 connection state machine
// (wire-connection.ts) on a plain socket, instead of node:http2. node:http2 spends most of a
// call's client CPU in per-stream machinery (a JS Http2Stream, a duplex stream, nghttp2
// callbacks); here a call is one small object, its frames join the turn's single socket write,
// and its fixed headers are pre-encoded. Same contract and same observable behaviour as the
// node:http2 transport (http2-transport.ts): N connections per target (default 1), round-robin,
// opened lazily and replaced after GOAWAY/error/close with gRPC's connection backoff after a
// failed connect, one coarse deadline sweep per transport, UnaryResults built by the same rules.
//
// Server and client streams are delegated to a node:http2 transport for the same target (created
// on first use): they are long-lived and few, so per-call overhead matters little there.
// With `tls` (upstream-tls.ts) connections are TLS with ALPN h2, else plaintext h2c.
import type { OutgoingHttpHeaders } from 'node:http2';
import { Code } from '../../errors/codes.js';
import type { ChannelPoolOptions } from '../channel-pool.js';
import { DeadlineSweep } from '../deadline-sweep.js';
import { addRequestMetadata } from '../http2-metadata.js';
import { createHttp2Transport, type Http2Transport } from '../http2-transport.js';
import type { BidiStreamCall, ClientStreamCall, ServerStreamCall, TransportState, UnaryRequest, UnaryResult, UpstreamTransport } from '../transport.js';
import { localFailure, markLocalLimit } from '../unary-call.js';
import { pathField } from './hpack-encoder.js';
import { abort, expire, settle, WireCall, type WireCallOwner } from './wire-call.js';
import { WireConnection, type ConnectionEvents, type WireStream } from './wire-connection.js';

/** The wire transport, with its connectivity exposed for readiness checks. */
export interface WireTransport extends UpstreamTransport {
  readonly target: string;
  state(): TransportState;
}

const DEFAULT_SIZE = 1;
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** encoded :path fields kept per transport (one per method called); beyond this, encoded per call */
const MAX_CACHED_PATHS = 10_000;
// gRPC connection backoff (connection-backoff.md), as http2-transport.ts: 1 s initial, ×1.6, ±20 %, capped at 30 s.
const INITIAL_BACKOFF_MS = 1000;
const BACKOFF_MULTIPLIER = 1.6;
const MAX_BACKOFF_MS = 30_000;
const BACKOFF_JITTER = 0.2;

/** One round-robin position: its current connection and connectivity. */
interface Slot {
  connection: WireConnection | undefined;
  state: Exclude<TransportState, 'shutdown'>;
  failures: number;
  retryAt: number;
}

const statesByRank: readonly TransportState[] = ['ready', 'connecting', 'idle', 'transient-failure', 'shutdown'];

/** A gRPC client on our own HTTP/2 framing; see the file comment. */
export function createWireTransport(options: ChannelPoolOptions): WireTransport {
  return new WireHttp2Transport(options);
}

class WireHttp2Transport implements WireTransport, WireCallOwner, ConnectionEvents {
  readonly target: string;
  readonly maxReceiveMessageBytes: number;
  readonly #options: ChannelPoolOptions;
  readonly #maxSendMessageBytes: number;
  readonly #host: string;
  readonly #port: number;
  readonly #slots: Slot[] = [];
  readonly #paths = new Map<string, Buffer>();
  /** every connection not yet closed, for close() */
  readonly #connections = new Set<WireConnection>();
  #streams: Http2Transport | undefined = undefined;
  #next = 0;
  /** calls in flight, and the one timer that ends those past their deadline */
  readonly #calls = new DeadlineSweep<WireCall>(expire);
  #inFlight = 0;
  #closed = false;
  #drained: Array<() => void> = [];

  constructor(options: ChannelPoolOptions) {
    const size = options.size ?? DEFAULT_SIZE;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`WireTransport size must be a positive integer, got ${size}`);
    this.#options = options;
    this.target = options.target;
    const colon = options.target.lastIndexOf(':');
    this.#host = options.target.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    this.#port = Number(options.target.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(this.#port)) throw new RangeError(`WireTransport target must be host:port, got "${options.target}"`);
    this.maxReceiveMessageBytes = options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxSendMessageBytes = options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    for (let i = 0; i < size; i++) this.#slots.push({ connection: undefined, state: 'idle', failures: 0, retryAt: 0 });
  }

  unary(request: UnaryRequest): Promise<UnaryResult> {
    const { path, signal, message } = request;
    const target = this.target;
    if (this.#closed) return Promise.resolve(localFailure(Code.UNAVAILABLE, 'Upstream transport is closed', `${target}: transport closed`));
    if (signal?.aborted === true) return Promise.resolve(localFailure(Code.CANCELLED, 'Cancelled by the caller', `${target}${path}: aborted before start`));
    if (!Number.isFinite(request.deadline)) {
      return Promise.resolve(localFailure(Code.INTERNAL, 'Upstream call without a deadline', `${target}${path}: deadline ${request.deadline}`));
    }
    const max = this.#maxSendMessageBytes;
    if (max >= 0 && message.byteLength > max) {
      const failure = localFailure(
        Code.RESOURCE_EXHAUSTED,
        'Request message too large',
        `${target}${path}: request of ${message.byteLength} bytes exceeds maxSendMessageBytes ${max}`,
      );
      return Promise.resolve(markLocalLimit(failure, 'request'));
    }
    const now = Date.now();
    if (request.deadline - now <= 0) {
      return Promise.resolve(localFailure(Code.DEADLINE_EXCEEDED, 'Upstream deadline exceeded', `${target}${path}: deadline already passed`));
    }
    let metadata: OutgoingHttpHeaders | undefined;
    if (request.metadata.length > 0) {
      // the same checks and encoding as the node:http2 transport, into a header object we then HPACK
      metadata = {};
      const problem = addRequestMetadata(metadata, request.metadata);
      if (problem !== undefined) {
        return Promise.resolve(localFailure(Code.INVALID_ARGUMENT, 'Request metadata cannot be sent as gRPC metadata', `${target}${path}: ${problem}`));
      }
    }
    const slot = this.#slots[this.#next] as Slot;
    this.#next = this.#next + 1 === this.#slots.length ? 0 : this.#next + 1;
    const connection = this.#connectionFor(slot, now);
    if (connection === undefined) {
      return Promise.resolve(localFailure(Code.UNAVAILABLE, 'Upstream unavailable', `${target}${path}: reconnect backoff after a failed connect`));
    }

    let resolve!: (result: UnaryResult) => void;
    const promise = new Promise<UnaryResult>((r) => {
      resolve = r;
    });
    const call = new WireCall(this, connection, path, this.#pathField(path), metadata, message, request.deadline, signal, resolve);
    this.#track(call);
    connection.start(call);
    if (signal !== undefined && !call.done) {
      call.onAbort = () => abort(call);
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    return promise;
  }

  serverStream(request: UnaryRequest): ServerStreamCall {
    return this.#nodeHttp2().serverStream(request);
  }

  clientStream(request: UnaryRequest): ClientStreamCall {
    const streams = this.#nodeHttp2();
    // the node:http2 transport always has clientStream (optional in the interface for grpc-js's sake)
    return streams.clientStream!(request);
  }

  bidiStream(request: UnaryRequest): BidiStreamCall {
    return this.#nodeHttp2().bidiStream!(request);
  }

  /** The node:http2 transport that carries this target's streams. */
  #nodeHttp2(): Http2Transport {
    this.#streams ??= createHttp2Transport(this.#options);
    return this.#streams;
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
    this.#closed = true;
    // graceful: the calls in flight finish on their connections, then those close
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
    const closing: Array<Promise<void>> = [];
    for (const connection of this.#connections) {
      connection.ref(); // keep the process alive until the socket has closed
      connection.drain();
      closing.push(connection.closed);
    }
    for (const slot of this.#slots) slot.connection = undefined;
    await Promise.all([...closing, this.#streams?.close()]);
  }

  /** WireCallOwner: a call has its result. */
  callSettled(call: WireCall): void {
    this.#calls.remove(call);
    this.#countOut(call.connection);
  }

  /** ConnectionEvents: the server's SETTINGS arrived. */
  ready(connection: WireConnection): void {
    for (const slot of this.#slots) {
      if (slot.connection !== connection) continue;
      slot.state = 'ready';
      slot.failures = 0;
    }
  }

  /** ConnectionEvents: stop using `connection`; calls that never started there go elsewhere. */
  lost(connection: WireConnection, queued: WireStream[]): void {
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
    for (const stream of queued) this.#move(stream as WireCall, connection);
  }

  /** A call that had not started on a connection that went away: start it on another. */
  #move(call: WireCall, from: WireConnection): void {
    if (call.done) return;
    const slot = this.#slots[this.#next] as Slot;
    this.#next = this.#next + 1 === this.#slots.length ? 0 : this.#next + 1;
    const to = this.#closed ? undefined : this.#connectionFor(slot, Date.now());
    if (to === undefined || to === from) {
      settle(call, localFailure(Code.UNAVAILABLE, 'Upstream unavailable', `${this.target}${call.path}: connection went away before the call started`), false);
      return;
    }
    this.#countOut(from);
    call.connection = to;
    this.#countIn(to);
    to.start(call);
  }

  #pathField(path: string): Buffer {
    let field = this.#paths.get(path);
    if (field === undefined) {
      field = pathField(path);
      if (this.#paths.size < MAX_CACHED_PATHS) this.#paths.set(path, field);
    }
    return field;
  }

  #track(call: WireCall): void {
    this.#calls.add(call);
    this.#countIn(call.connection);
  }

  /** A call started on `connection`: its socket stays ref'd and close() waits for it. */
  #countIn(connection: WireConnection): void {
    if (++connection.inFlight === 1) connection.ref();
    this.#inFlight++;
  }

  /** A call on `connection` is over. */
  #countOut(connection: WireConnection): void {
    if (--connection.inFlight === 0) connection.unref();
    if (--this.#inFlight === 0 && this.#drained.length > 0) {
      const waiting = this.#drained;
      this.#drained = [];
      for (const resolve of waiting) resolve();
    }
  }

  #connectionFor(slot: Slot, now: number): WireConnection | undefined {
    if (slot.connection !== undefined) return slot.connection;
    if (slot.state === 'transient-failure' && now < slot.retryAt) return undefined;
    const connection = new WireConnection({
      host: this.#host,
      port: this.#port,
      authority: this.target,
      keepaliveMs: this.#options.keepaliveMs,
      tls: this.#options.tls,
      events: this,
    });
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
    slot.connection = connection;
    slot.state = 'connecting';
    return connection;
  }
}

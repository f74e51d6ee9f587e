// One HTTP/2 client connection on a socket (h2c, or TLS with ALPN h2; wire-socket.ts), as one
// state machine: no per-stream objects of its own, no event emitters per call. It speaks just what
// a gRPC client needs (RFC 9113): preface and SETTINGS, HEADERS (+CONTINUATION) out,
// HEADERS/DATA/RST_STREAM in, both levels of flow control, PING, GOAWAY, and the server's
// MAX_CONCURRENT_STREAMS (calls beyond it wait in a queue). What a stream means (a unary gRPC
// call) is the WireStream's business; framing is frames.ts's, header compression hpack-*.ts's.
// Every state transition of the connection is in this file, which is why it is longer than most.
//
// Calls wait for the server's SETTINGS before their HEADERS go out: it costs one round trip per
// new connection and means the server's stream limit is never guessed at.
import type net from 'node:net';
import type tls from 'node:tls';
import type { UpstreamTls } from '../upstream-tls.js';
import { HpackDecoder } from './hpack-decoder.js';
import { HeaderBlockWriter, requestPrefix } from './hpack-encoder.js';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW_BYTES,
  ErrorCode,
  Flag,
  FrameReader,
  FrameType,
  FrameWriter,
  MAX_WINDOW_BYTES,
  Setting,
  unpad,
} from './frames.js';
import { StreamTable } from './stream-table.js';
import { connectSocket } from './wire-socket.js';

/** What the connection needs from a stream (wire-call.ts implements it for unary calls). */
export interface WireStream {
  /** stream id, 0 until its HEADERS are sent */
  id: number;
  /** the peer's flow-control window for this stream */
  sendWindow: number;
  /** request bytes sent: the 5-byte gRPC prefix, then the message */
  sent: number;
  /** DATA bytes received since the last stream WINDOW_UPDATE */
  unacknowledged: number;
  /** the request message (sent after a 5-byte gRPC prefix) */
  readonly message: Uint8Array;
  /** the encoded :path field (hpack-encoder.ts `pathField`) */
  readonly pathField: Buffer;
  /** Appends the stream's own regular header fields (after the connection's fixed ones). */
  writeHeaderFields(writer: HeaderBlockWriter): void;
  /** A header block: names and values alternate in `fields` (valid only during the call). */
  onHeaders(fields: string[], endStream: boolean): void;
  onData(data: Buffer, endStream: boolean): void;
  onReset(code: number): void;
  /** The connection ended under the stream (or refused it at GOAWAY): it was not answered. */
  onLost(reason: string): void;
}

/** What the connection tells its owner (the transport). */
export interface ConnectionEvents {
  /** the server's first SETTINGS arrived: the connection carries calls */
  ready(connection: WireConnection): void;
  /** GOAWAY, error or close: open no new streams here; `queued` never started and may go elsewhere */
  lost(connection: WireConnection, queued: WireStream[]): void;
}

export interface WireConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** the :authority of every request */
  readonly authority: string;
  readonly keepaliveMs: number | undefined;
  /** a connection whose server has not sent its SETTINGS this long after it was opened is given up (default 20 s) */
  readonly settingsTimeoutMs?: number | undefined;
  /** TLS (certificates always verified, ALPN must pick h2); absent: plaintext h2c */
  readonly tls: UpstreamTls | undefined;
  readonly events: ConnectionEvents;
}

export type ConnectionState = 'connecting' | 'ready' | 'draining' | 'closed';

/** Our receive window per stream, advertised in SETTINGS: a gRPC message this size never waits for a WINDOW_UPDATE. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Our receive window for the whole connection, opened by a WINDOW_UPDATE after the preface. */
export const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;
/** A header block (HEADERS + CONTINUATIONs) larger than this ends the connection: a bound on memory. */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
/** Client stream ids are odd and below 2^31; a connection this close to the end is retired. */
const LAST_STREAM_ID = 2 ** 31 - 1 - 2 * 1024;
const PING_PAYLOAD = Buffer.from('protogat', 'latin1');
/**
 * gRPC's minimum connect timeout (connection-backoff.md): a peer that accepts the connection but
 * never speaks HTTP/2 (a blackholed port, a stuck proxy) must not hold the calls queued on it
 * until their deadlines, nor every later call.
 */
const DEFAULT_SETTINGS_TIMEOUT_MS = 20_000;

/** One HTTP/2 connection; see the file comment. */
export class WireConnection {
  state: ConnectionState = 'connecting';
  /** whether the socket ever connected (a failure before that means reconnect backoff) */
  connected = false;
  /** calls in flight the owner has counted here (the socket is ref'd while > 0) */
  inFlight = 0;
  /** resolves once the socket has closed */
  readonly closed: Promise<void>;

  readonly #socket: net.Socket;
  readonly #events: ConnectionEvents;
  readonly #reader: FrameReader;
  readonly #writer: FrameWriter;
  readonly #decoder = new HpackDecoder();
  readonly #headerWriter = new HeaderBlockWriter();
  readonly #prefix: { pseudo: Buffer; regular: Buffer };
  readonly #prefixBytes = Buffer.alloc(5);
  readonly #fields: string[] = [];
  readonly #streams = new StreamTable<WireStream>();
  #queue: WireStream[] = [];
  #queueHead = 0;
  #blocked: WireStream[] = [];
  #nextStreamId = 1;
  #settingsReceived = false;
  #peerMaxConcurrent = Number.POSITIVE_INFINITY;
  #peerInitialWindow = DEFAULT_WINDOW_BYTES;
  #peerMaxFrame = DEFAULT_MAX_FRAME_BYTES;
  #sendWindow = DEFAULT_WINDOW_BYTES;
  #receivedUnacknowledged = 0;
  /** a header block spread over CONTINUATION frames */
  #continuing: { streamId: number; endStream: boolean; fragments: Buffer[]; bytes: number } | undefined = undefined;
  #error: string | undefined = undefined;
  #keepalive: NodeJS.Timeout | undefined = undefined;
  #pingOutstanding = false;
  #settingsTimer: NodeJS.Timeout | undefined = undefined;
  #ending = false;

  constructor(options: WireConnectionOptions) {
    this.#events = options.events;
    this.#prefix = requestPrefix(options.tls === undefined ? 'http' : 'https', options.authority);
    this.#reader = new FrameReader(DEFAULT_MAX_FRAME_BYTES, (type, flags, streamId, payload) => this.#onFrame(type, flags, streamId, payload));
    const socket = connectSocket(options.host, options.port, options.tls);
    this.#socket = socket;
    this.#writer = new FrameWriter((bytes) => {
      if (socket.writable) socket.write(bytes);
    });
    socket.unref(); // ref'd while calls are in flight (the owner's count)
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on(options.tls === undefined ? 'connect' : 'secureConnect', () => {
      if (options.tls !== undefined && (socket as tls.TLSSocket).alpnProtocol !== 'h2') {
        // gRPC needs HTTP/2; a server that did not pick h2 would read our frames as garbage
        this.destroy(`TLS server did not negotiate h2 (ALPN: ${String((socket as tls.TLSSocket).alpnProtocol)})`);
        return;
      }
      this.connected = true;
      if (options.keepaliveMs !== undefined) this.#startKeepalive(options.keepaliveMs);
    });
    socket.on('data', (chunk: Buffer) => {
      const problem = this.#reader.push(chunk);
      if (problem !== undefined) this.#fail(ErrorCode.FRAME_SIZE_ERROR, problem);
    });
    socket.on('error', (error) => {
      this.#error ??= error.message;
    });
    socket.on('close', () => this.#onClose());
    this.#settingsTimer = setTimeout(() => {
      this.destroy('no HTTP/2 SETTINGS from the server in time');
    }, options.settingsTimeoutMs ?? DEFAULT_SETTINGS_TIMEOUT_MS);
    this.#settingsTimer.unref();
    // RFC 9113 §3.4: preface, SETTINGS, then open the connection window (its SETTINGS can't)
    const writer = this.#writer;
    writer.bytes(CLIENT_PREFACE);
    writer.settings([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW_BYTES],
      [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_BLOCK_BYTES],
    ]);
    writer.windowUpdate(0, CONNECTION_WINDOW_BYTES - DEFAULT_WINDOW_BYTES);
  }

  /** Streams open on the connection (for tests and the owner's bookkeeping). */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** Starts `stream` now, or queues it until the server's SETTINGS and stream limit allow. */
  start(stream: WireStream): void {
    if (this.#streams.size < this.#peerMaxConcurrent && this.state === 'ready' && this.#queueHead === this.#queue.length) {
      this.#open(stream);
      return;
    }
    this.#queue.push(stream);
  }

  /** Ends `stream` from our side (deadline, caller cancelled, bad response): RST_STREAM CANCEL. */
  cancel(stream: WireStream): void {
    if (stream.id === 0) {
      const at = this.#queue.indexOf(stream, this.#queueHead);
      if (at >= 0) this.#queue.splice(at, 1);
      return;
    }
    if (this.#streams.get(stream.id) !== stream) return; // already closed
    this.#writer.rstStream(stream.id, ErrorCode.CANCEL);
    this.#closeStream(stream);
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  /** Graceful: no new streams; the socket ends once the open streams are done. */
  drain(): void {
    if (this.state === 'closed') return;
    if (this.state !== 'draining') {
      this.state = 'draining';
      this.#events.lost(this, this.#takeQueue());
    }
    this.#endIfIdle();
  }

  /** Now: every open stream is lost. */
  destroy(reason: string): void {
    this.#error ??= reason;
    this.#socket.destroy();
  }

  #open(stream: WireStream): void {
    if (this.#nextStreamId > LAST_STREAM_ID) {
      // out of stream ids: finish what runs here, start the rest on a new connection
      this.#queue.push(stream);
      this.drain();
      return;
    }
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    stream.id = id;
    stream.sendWindow = this.#peerInitialWindow;
    this.#streams.add(stream);
    const headers = this.#headerWriter;
    headers.reset();
    headers.raw(this.#prefix.pseudo);
    headers.raw(stream.pathField);
    headers.raw(this.#prefix.regular);
    stream.writeHeaderFields(headers);
    const block = headers.block();
    const max = this.#peerMaxFrame;
    if (block.length <= max) {
      this.#writer.frame(FrameType.HEADERS, Flag.END_HEADERS, id, block);
    } else {
      // §6.10: the rest of a large block follows in CONTINUATION frames, nothing in between
      this.#writer.frame(FrameType.HEADERS, 0, id, block, 0, max);
      for (let at = max; at < block.length; at += max) {
        const end = Math.min(at + max, block.length);
        this.#writer.frame(FrameType.CONTINUATION, end === block.length ? Flag.END_HEADERS : 0, id, block, at, end);
      }
    }
    if (!this.#sendBody(stream)) this.#blocked.push(stream);
  }

  /** Sends as much of the request as both windows allow; true once all of it is out (END_STREAM). */
  #sendBody(stream: WireStream): boolean {
    const message = stream.message;
    const total = 5 + message.length;
    while (stream.sent < total) {
      const bytes = Math.min(total - stream.sent, this.#sendWindow, stream.sendWindow, this.#peerMaxFrame);
      if (bytes <= 0) return false;
      const from = stream.sent;
      const to = from + bytes;
      let prefix: Buffer | undefined;
      if (from < 5) {
        // gRPC's length prefix: flag 0 (not compressed), 4-byte big-endian length
        const prefixBytes = this.#prefixBytes;
        prefixBytes[0] = 0;
        prefixBytes.writeUInt32BE(message.length, 1);
        prefix = prefixBytes.subarray(from, Math.min(to, 5));
      }
      this.#writer.data(stream.id, to === total, prefix, message, Math.max(from - 5, 0), Math.max(to - 5, 0));
      stream.sent = to;
      stream.sendWindow -= bytes;
      this.#sendWindow -= bytes;
    }
    return true;
  }

  /** A window opened: resume the streams waiting to send. */
  #sendBlocked(): void {
    if (this.#blocked.length === 0) return;
    const waiting = this.#blocked;
    this.#blocked = [];
    for (const stream of waiting) {
      if (this.#streams.get(stream.id) !== stream) continue;
      if (!this.#sendBody(stream)) this.#blocked.push(stream);
    }
  }

  /** Starts queued streams while the server's limit allows. */
  #pump(): void {
    while (this.#queueHead < this.#queue.length && this.state === 'ready' && this.#streams.size < this.#peerMaxConcurrent) {
      const stream = this.#queue[this.#queueHead++] as WireStream;
      this.#open(stream);
    }
    if (this.#queueHead === this.#queue.length && this.#queueHead > 0) {
      this.#queue = [];
      this.#queueHead = 0;
    }
  }

  #takeQueue(): WireStream[] {
    const queued = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    return queued;
  }

  #closeStream(stream: WireStream): void {
    this.#streams.delete(stream.id);
    if (stream.sent < 5 + stream.message.length) {
      const at = this.#blocked.indexOf(stream);
      if (at >= 0) this.#blocked.splice(at, 1);
    }
    if (this.state === 'ready') this.#pump();
    else this.#endIfIdle();
  }

  #endIfIdle(): void {
    if (this.state !== 'draining' || this.#streams.size > 0 || this.#ending) return;
    this.#ending = true;
    this.#writer.goaway(0, ErrorCode.NO_ERROR);
    this.#writer.flush();
    // close once our bytes are out: waiting for the server's FIN could take as long as it likes
    this.#socket.end(() => this.#socket.destroy());
  }

  #onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.#continuing !== undefined && type !== FrameType.CONTINUATION) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'frame inside a header block');
      return;
    }
    switch (type) {
      case FrameType.DATA:
        this.#onData(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.#onHeaders(flags, streamId, payload);
        return;
      case FrameType.CONTINUATION:
        this.#onContinuation(flags, streamId, payload);
        return;
      case FrameType.RST_STREAM:
        this.#onRstStream(streamId, payload);
        return;
      case FrameType.SETTINGS:
        this.#onSettings(flags, streamId, payload);
        return;
      case FrameType.PING:
        if (payload.length !== 8) this.#fail(ErrorCode.FRAME_SIZE_ERROR, 'PING not 8 bytes');
        else if ((flags & Flag.ACK) === 0) this.#writer.ping(true, payload);
        else this.#pingOutstanding = false;
        return;
      case FrameType.GOAWAY:
        this.#onGoaway(payload);
        return;
      case FrameType.WINDOW_UPDATE:
        this.#onWindowUpdate(streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        this.#fail(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
        return;
      default:
        return; // PRIORITY and unknown types are ignored (§5.5)
    }
  }

  #onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
      return;
    }
    // flow control counts the whole payload, padding included, even for streams we closed
    this.#receivedUnacknowledged += payload.length;
    if (this.#receivedUnacknowledged >= CONNECTION_WINDOW_BYTES / 2) {
      this.#writer.windowUpdate(0, this.#receivedUnacknowledged);
      this.#receivedUnacknowledged = 0;
    }
    const data = unpad(flags, payload, 0);
    if (data === undefined) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'bad DATA padding');
      return;
    }
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (endStream) {
      this.#closeRemote(stream);
    } else {
      stream.unacknowledged += payload.length;
      if (stream.unacknowledged >= STREAM_WINDOW_BYTES / 2) {
        this.#writer.windowUpdate(streamId, stream.unacknowledged);
        stream.unacknowledged = 0;
      }
    }
    stream.onData(data, endStream);
  }

  #onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
      return;
    }
    const block = unpad(flags, payload, (flags & Flag.PRIORITY) !== 0 ? 5 : 0);
    if (block === undefined) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'bad HEADERS padding');
      return;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) === 0) {
      this.#continuing = { streamId, endStream, fragments: [block], bytes: block.length };
      return;
    }
    this.#headerBlock(streamId, endStream, block);
  }

  #onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const continuing = this.#continuing;
    if (continuing === undefined || continuing.streamId !== streamId) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
      return;
    }
    continuing.fragments.push(payload);
    continuing.bytes += payload.length;
    if (continuing.bytes > MAX_HEADER_BLOCK_BYTES) {
      this.#fail(ErrorCode.ENHANCE_YOUR_CALM, `header block over ${MAX_HEADER_BLOCK_BYTES} bytes`);
      return;
    }
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.#continuing = undefined;
    this.#headerBlock(streamId, continuing.endStream, Buffer.concat(continuing.fragments, continuing.bytes));
  }

  /** A complete header block: decoded even for closed streams, to keep HPACK in step. */
  #headerBlock(streamId: number, endStream: boolean, block: Buffer): void {
    const fields = this.#fields;
    fields.length = 0;
    const problem = this.#decoder.decode(block, 0, block.length, fields);
    if (problem !== undefined) {
      this.#fail(ErrorCode.COMPRESSION_ERROR, `HPACK: ${problem}`);
      return;
    }
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    if (endStream) this.#closeRemote(stream);
    stream.onHeaders(fields, endStream);
  }

  /** The server ended the stream; if our request is not all out yet, we stop sending it. */
  #closeRemote(stream: WireStream): void {
    if (stream.sent < 5 + stream.message.length) this.#writer.rstStream(stream.id, ErrorCode.CANCEL);
    this.#closeStream(stream);
  }

  #onRstStream(streamId: number, payload: Buffer): void {
    if (payload.length !== 4 || streamId === 0) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'bad RST_STREAM');
      return;
    }
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    this.#closeStream(stream);
    stream.onReset(payload.readUInt32BE(0));
  }

  #onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0 || payload.length % 6 !== 0) {
      this.#fail(ErrorCode.PROTOCOL_ERROR, 'bad SETTINGS');
      return;
    }
    if ((flags & Flag.ACK) !== 0) return;
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === Setting.MAX_CONCURRENT_STREAMS) {
        this.#peerMaxConcurrent = value;
      } else if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW_BYTES) {
          this.#fail(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
          return;
        }
        // §6.9.2: the change applies to every open stream's window
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const stream of this.#streams.values()) stream.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_BYTES || value > 2 ** 24 - 1) {
          this.#fail(ErrorCode.PROTOCOL_ERROR, 'bad MAX_FRAME_SIZE');
          return;
        }
        this.#peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: our encoder never indexes; ENABLE_PUSH, MAX_HEADER_LIST_SIZE, others: nothing to do
    }
    this.#writer.settingsAck();
    if (!this.#settingsReceived) {
      this.#settingsReceived = true;
      clearTimeout(this.#settingsTimer);
      if (this.state === 'connecting') {
        this.state = 'ready';
        this.#events.ready(this);
      }
    }
    this.#sendBlocked();
    if (this.state === 'ready') this.#pump();
  }

  #onGoaway(payload: Buffer): void {
    if (payload.length < 8) {
      this.#fail(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY too short');
      return;
    }
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    if (this.state === 'ready' || this.state === 'connecting') {
      this.state = 'draining';
      this.#events.lost(this, this.#takeQueue());
    }
    // §6.8: streams above lastStreamId were not processed; the others may still finish
    for (const stream of this.#streams.values()) {
      if (stream.id <= lastStreamId) continue;
      this.#closeStream(stream);
      stream.onLost(`GOAWAY (code ${code}) before the server took the stream`);
    }
    this.#endIfIdle();
  }

  #onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) {
      this.#fail(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE not 4 bytes');
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0 || this.#sendWindow + increment > MAX_WINDOW_BYTES) {
        this.#fail(ErrorCode.FLOW_CONTROL_ERROR, 'bad connection WINDOW_UPDATE');
        return;
      }
      this.#sendWindow += increment;
    } else {
      // a stream we already closed, or a zero increment on one: nothing to act on
      const stream = this.#streams.get(streamId);
      if (stream === undefined) return;
      stream.sendWindow += increment;
    }
    this.#sendBlocked();
  }

  /** A connection error (§5.4.1): GOAWAY with `code`, then the socket goes. */
  #fail(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.#error ??= `HTTP/2 protocol error: ${reason}`;
    this.#reader.stop();
    this.#writer.goaway(0, code);
    this.#writer.flush();
    this.#socket.destroy();
  }

  #onClose(): void {
    const wasOpen = this.state !== 'draining';
    this.state = 'closed';
    this.#reader.stop();
    clearInterval(this.#keepalive);
    clearTimeout(this.#settingsTimer);
    const queued = this.#takeQueue();
    if (wasOpen) this.#events.lost(this, []);
    const reason = this.#error ?? 'connection closed';
    const open = this.#streams.values();
    this.#streams.clear();
    this.#blocked = [];
    for (const stream of open) stream.onLost(reason);
    for (const stream of queued) stream.onLost(reason);
  }

  #startKeepalive(intervalMs: number): void {
    this.#keepalive = setInterval(() => {
      // a PING still unanswered after a whole interval: the connection is dead
      if (this.#pingOutstanding) {
        this.destroy('keepalive PING unanswered');
        return;
      }
      this.#pingOutstanding = true;
      this.#writer.ping(false, PING_PAYLOAD);
    }, intervalMs);
    this.#keepalive.unref();
  }
}

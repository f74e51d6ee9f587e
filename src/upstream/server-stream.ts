// The consumer side of a server-streaming call, shared by both transports: a bounded read-ahead
// queue of response messages. The transport pushes what the upstream sends; when more than
// STREAM_HIGH_WATER_BYTES wait unread, the queue pauses the source (the HTTP/2 stream stops being
// read, its flow-control window closes, and the backend's writes stall) until the consumer has
// pulled the queue down to the low-water mark.
import { Code } from '../errors/codes.js';
import type { CallFailure, MetadataPairs, ServerStreamCall, StreamStatus } from './transport.js';
import { localFailure } from './unary-call.js';

/** Read-ahead above which the source is paused (messages larger than this still pass, one at a time). */
export const STREAM_HIGH_WATER_BYTES = 256 * 1024;
const LOW_WATER_BYTES = STREAM_HIGH_WATER_BYTES / 4;
const EMPTY: MetadataPairs = [];

/** What the queue drives on the transport's side. */
export interface StreamSource {
  pause(): void;
  resume(): void;
  /** Cancel the upstream call; the transport then calls `end` (its status is ignored: CANCELLED wins). */
  cancel(): void;
}

/** A ServerStreamCall fed by a transport through `push`, `setHeaders` and `end`. */
export class ServerStreamQueue implements ServerStreamCall {
  #source: StreamSource | undefined = undefined;
  #messages: Buffer[] = [];
  #head = 0;
  #bytes = 0;
  #paused = false;
  #waiting: ((message: Buffer | undefined) => void) | undefined = undefined;
  #headers: MetadataPairs = EMPTY;
  #status: StreamStatus | undefined = undefined;

  /** A call that ended before it started (closed transport, bad metadata, …). */
  static failed(failure: CallFailure): ServerStreamQueue {
    const queue = new ServerStreamQueue();
    queue.end(failure);
    return queue;
  }

  /** Connects the transport's controls; until then pause/resume/cancel have nothing to act on. */
  attach(source: StreamSource): void {
    this.#source = source;
  }

  get ended(): boolean {
    return this.#status !== undefined;
  }

  /** A message arrived from the upstream. */
  push(message: Buffer): void {
    if (this.#status !== undefined) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting(message);
      return;
    }
    this.#messages.push(message);
    this.#bytes += message.length;
    if (!this.#paused && this.#bytes > STREAM_HIGH_WATER_BYTES) {
      this.#paused = true;
      this.#source?.pause();
    }
  }

  setHeaders(headers: MetadataPairs): void {
    this.#headers = headers;
  }

  /** The upstream call is over; messages already queued are still delivered before the end. */
  end(status: StreamStatus): void {
    if (this.#status !== undefined) return;
    this.#status = status;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(undefined);
  }

  read(): Promise<Buffer | undefined> {
    if (this.#head < this.#messages.length) {
      const message = this.#messages[this.#head] as Buffer;
      this.#messages[this.#head++] = EMPTY_BUFFER;
      this.#bytes -= message.length;
      if (this.#head === this.#messages.length) {
        this.#messages = [];
        this.#head = 0;
      }
      if (this.#paused && this.#bytes <= LOW_WATER_BYTES && this.#status === undefined) {
        this.#paused = false;
        this.#source?.resume();
      }
      return Promise.resolve(message);
    }
    if (this.#status !== undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  headers(): MetadataPairs {
    return this.#headers;
  }

  status(): StreamStatus {
    return this.#status ?? localFailure(Code.INTERNAL, 'Stream status read before its end', 'ServerStreamQueue.status() before end');
  }

  /** Ends the call with `failure` (a limit this side enforces) and cancels the upstream call. */
  fail(failure: CallFailure): void {
    if (this.#status !== undefined) return;
    this.#messages = [];
    this.#head = 0;
    this.#bytes = 0;
    this.end(failure);
    this.#source?.cancel();
  }

  cancel(): void {
    this.#messages = [];
    this.#head = 0;
    this.#bytes = 0;
    if (this.#status !== undefined) return;
    this.end(localFailure(Code.CANCELLED, 'Upstream call cancelled', 'stream cancelled by the consumer'));
    this.#source?.cancel();
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);

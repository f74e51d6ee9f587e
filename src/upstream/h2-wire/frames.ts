// HTTP/2 framing (RFC 9113 §4, §6) for the wire transport: the constants, a reader that cuts a
// byte stream into frames wherever the socket happened to split it, and a writer that collects
// every frame of one event-loop turn into one buffer and hands it to the socket in one write
// (many calls started in the same turn cost one syscall, not one each).

/** Frame types (§6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (§6). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** SETTINGS identifiers (§6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Error codes for RST_STREAM and GOAWAY (§7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** §3.4: what a client sends first, before its SETTINGS. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_BYTES = 9;
/** §4.2: the frame size every peer accepts until it says otherwise */
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
/** §6.9.2: both windows start here */
export const DEFAULT_WINDOW_BYTES = 65_535;
/** §6.9.1: a window may not exceed 2^31 - 1 */
export const MAX_WINDOW_BYTES = 2 ** 31 - 1;

const EMPTY = Buffer.alloc(0);

/** Called once per complete frame; `payload` is a view valid as long as the caller keeps it. */
export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

/**
 * Cuts socket chunks into frames. A frame inside one chunk is handed over as a view of the chunk
 * (no copy); one split across chunks is copied once into a buffer of its exact size.
 */
export class FrameReader {
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerBytes = 0;
  #payload: Buffer | undefined = undefined;
  #payloadBytes = 0;
  #type = 0;
  #flags = 0;
  #streamId = 0;
  #stopped = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: FrameHandler,
  ) {}

  /** Stops delivering frames (the connection is being torn down). */
  stop(): void {
    this.#stopped = true;
  }

  /** Takes one chunk; returns what is wrong when a frame exceeds the size this side allows. */
  push(chunk: Buffer): string | undefined {
    let pos = 0;
    const end = chunk.length;
    while (pos < end && !this.#stopped) {
      if (this.#payload === undefined && this.#headerBytes === 0 && end - pos >= FRAME_HEADER_BYTES) {
        // fast path: the frame header is whole in this chunk
        const length = chunk.readUIntBE(pos, 3);
        if (length > this.maxFrameBytes) return `frame of ${length} bytes exceeds ${this.maxFrameBytes}`;
        const type = chunk[pos + 3] as number;
        const flags = chunk[pos + 4] as number;
        const streamId = chunk.readUInt32BE(pos + 5) & 0x7fffffff;
        const start = pos + FRAME_HEADER_BYTES;
        if (end - start >= length) {
          pos = start + length;
          this.onFrame(type, flags, streamId, length === 0 ? EMPTY : chunk.subarray(start, pos));
          continue;
        }
        this.#begin(type, flags, streamId, length);
        pos = start;
      } else if (this.#payload === undefined) {
        // the frame header is split: collect its 9 bytes first
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerBytes, end - pos);
        chunk.copy(this.#header, this.#headerBytes, pos, pos + take);
        this.#headerBytes += take;
        pos += take;
        if (this.#headerBytes < FRAME_HEADER_BYTES) return undefined;
        const header = this.#header;
        const length = header.readUIntBE(0, 3);
        if (length > this.maxFrameBytes) return `frame of ${length} bytes exceeds ${this.maxFrameBytes}`;
        this.#headerBytes = 0;
        const streamId = header.readUInt32BE(5) & 0x7fffffff;
        if (length === 0) {
          this.onFrame(header[3] as number, header[4] as number, streamId, EMPTY);
          continue;
        }
        this.#begin(header[3] as number, header[4] as number, streamId, length);
      }
      const payload = this.#payload;
      if (payload === undefined) continue;
      const take = Math.min(payload.length - this.#payloadBytes, end - pos);
      chunk.copy(payload, this.#payloadBytes, pos, pos + take);
      this.#payloadBytes += take;
      pos += take;
      if (this.#payloadBytes === payload.length) {
        this.#payload = undefined;
        this.onFrame(this.#type, this.#flags, this.#streamId, payload);
      }
    }
    return undefined;
  }

  #begin(type: number, flags: number, streamId: number, length: number): void {
    this.#type = type;
    this.#flags = flags;
    this.#streamId = streamId;
    this.#payload = Buffer.allocUnsafe(length);
    this.#payloadBytes = 0;
  }
}

const INITIAL_BATCH_BYTES = 16 * 1024;

/**
 * Collects frames and writes them with one `write` per event-loop turn (setImmediate: every
 * callback of the turn's poll phase, i.e. every request that arrived together, joins the batch).
 */
export class FrameWriter {
  #buffer: Buffer | undefined = undefined;
  #length = 0;
  #scheduled = false;
  readonly #flushLater = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(private readonly write: (bytes: Buffer) => void) {}

  /** Bytes waiting for the next flush. */
  get pendingBytes(): number {
    return this.#length;
  }

  /** A frame whose payload is `payload[start, end)` (or empty). */
  frame(type: number, flags: number, streamId: number, payload?: Uint8Array, start = 0, end = payload?.length ?? 0): void {
    const length = end - start;
    const at = this.#reserve(FRAME_HEADER_BYTES + length);
    const buffer = this.#buffer as Buffer;
    writeFrameHeader(buffer, at, length, type, flags, streamId);
    if (payload !== undefined && length > 0) buffer.set(payload.subarray(start, end), at + FRAME_HEADER_BYTES);
  }

  /** A DATA frame made of `prefix` (gRPC's 5-byte message header, possibly empty) then `body[start, end)`. */
  data(streamId: number, endStream: boolean, prefix: Uint8Array | undefined, body: Uint8Array, start: number, end: number): void {
    const prefixBytes = prefix?.length ?? 0;
    const length = prefixBytes + end - start;
    const at = this.#reserve(FRAME_HEADER_BYTES + length);
    const buffer = this.#buffer as Buffer;
    writeFrameHeader(buffer, at, length, FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId);
    if (prefix !== undefined && prefixBytes > 0) buffer.set(prefix, at + FRAME_HEADER_BYTES);
    if (end > start) buffer.set(body.subarray(start, end), at + FRAME_HEADER_BYTES + prefixBytes);
  }

  /** Raw bytes (the connection preface). */
  bytes(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    (this.#buffer as Buffer).set(bytes, at);
  }

  settings(pairs: ReadonlyArray<readonly [number, number]>): void {
    const at = this.#reserve(FRAME_HEADER_BYTES + 6 * pairs.length);
    const buffer = this.#buffer as Buffer;
    writeFrameHeader(buffer, at, 6 * pairs.length, FrameType.SETTINGS, 0, 0);
    let pos = at + FRAME_HEADER_BYTES;
    for (const [id, value] of pairs) {
      buffer.writeUInt16BE(id, pos);
      buffer.writeUInt32BE(value, pos + 2);
      pos += 6;
    }
  }

  settingsAck(): void {
    this.frame(FrameType.SETTINGS, Flag.ACK, 0);
  }

  windowUpdate(streamId: number, increment: number): void {
    this.#u32Frame(FrameType.WINDOW_UPDATE, streamId, increment);
  }

  rstStream(streamId: number, code: number): void {
    this.#u32Frame(FrameType.RST_STREAM, streamId, code);
  }

  ping(ack: boolean, opaque: Uint8Array): void {
    this.frame(FrameType.PING, ack ? Flag.ACK : 0, 0, opaque, 0, 8);
  }

  goaway(lastStreamId: number, code: number): void {
    const at = this.#reserve(FRAME_HEADER_BYTES + 8);
    const buffer = this.#buffer as Buffer;
    writeFrameHeader(buffer, at, 8, FrameType.GOAWAY, 0, 0);
    buffer.writeUInt32BE(lastStreamId, at + FRAME_HEADER_BYTES);
    buffer.writeUInt32BE(code, at + FRAME_HEADER_BYTES + 4);
  }

  /** Writes what is pending now (the turn's batch, or before the socket is ended). */
  flush(): void {
    if (this.#length === 0) return;
    const bytes = (this.#buffer as Buffer).subarray(0, this.#length);
    // the socket keeps `bytes` until written: the next batch gets a fresh buffer
    this.#buffer = undefined;
    this.#length = 0;
    this.write(bytes);
  }

  #u32Frame(type: number, streamId: number, value: number): void {
    const at = this.#reserve(FRAME_HEADER_BYTES + 4);
    const buffer = this.#buffer as Buffer;
    writeFrameHeader(buffer, at, 4, type, 0, streamId);
    buffer.writeUInt32BE(value, at + FRAME_HEADER_BYTES);
  }

  /** Room for `bytes` more; returns where they go. Schedules the flush on the turn's first frame. */
  #reserve(bytes: number): number {
    const at = this.#length;
    const buffer = this.#buffer;
    if (buffer === undefined) {
      this.#buffer = Buffer.allocUnsafeSlow(Math.max(INITIAL_BATCH_BYTES, bytes));
    } else if (at + bytes > buffer.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, at + bytes));
      buffer.copy(grown, 0, 0, at);
      this.#buffer = grown;
    }
    this.#length = at + bytes;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushLater);
    }
    return at;
  }
}

function writeFrameHeader(buffer: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  buffer[at] = length >>> 16;
  buffer[at + 1] = (length >>> 8) & 0xff;
  buffer[at + 2] = length & 0xff;
  buffer[at + 3] = type;
  buffer[at + 4] = flags;
  buffer.writeUInt32BE(streamId, at + 5);
}

/** The payload without PADDED padding (and `skip` leading bytes, HEADERS' priority); undefined if malformed. */
export function unpad(flags: number, payload: Buffer, skip: number): Buffer | undefined {
  if ((flags & Flag.PADDED) === 0) return skip === 0 ? payload : payload.length < skip ? undefined : payload.subarray(skip);
  if (payload.length < 1) return undefined;
  const padding = payload[0] as number;
  const start = 1 + skip;
  const end = payload.length - padding;
  return end < start ? undefined : payload.subarray(start, end);
}

// The seam between the request pipeline and whatever speaks gRPC to the services: the pipeline
// hands over an already-encoded request and gets back bytes or a gRPC status, never an exception.
// Unary calls resolve once; server-streaming calls are pulled message by message
// (`serverStream`), so a slow HTTP client slows the gRPC stream instead of filling memory;
// client streams are written message by message, bidirectional streams both at once.

/** Metadata as `[name, value]` pairs; names are lower-case. */
export type MetadataPairs = ReadonlyArray<readonly [string, string]>;

/** One unary call, with everything the transport needs already decided by the pipeline. */
export interface UnaryRequest {
  /** gRPC path '/pkg.Service/Method' */
  readonly path: string;
  /** protobuf-encoded request message (already encoded; no conversion here) */
  readonly message: Uint8Array;
  /**
   * Outgoing metadata: lower-case names; values string (or Buffer for '-bin' names).
   * A string value under a '-bin' name is taken as base64 (grpc-gateway decodes
   * `Grpc-Metadata-*-Bin` headers the same way). Names gRPC reserves (`grpc-*`, pseudo-headers,
   * `content-type`, `te`, `user-agent`, hop-by-hop headers) are dropped: the transport owns them.
   */
  readonly metadata: ReadonlyArray<readonly [string, string | Buffer]>;
  /** absolute deadline, epoch ms */
  readonly deadline: number;
  /** aborts the call (client disconnected) */
  readonly signal?: CancelSignal;
  /**
   * The call may be repeated (GET, or `(protogate.v1.policy).idempotent: true`): a transport that
   * retries (resilient-transport.ts) retries only such calls; the others ignore it.
   */
  readonly idempotent?: boolean;
}

/**
 * The part of AbortSignal a call needs. An AbortSignal fits; so does the gateway's cheaper
 * per-request `ClientDisconnect` (an AbortController per request costs measurable CPU).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * The outcome of a unary call. Headers and trailers hold application metadata only: names the
 * transport owns (`grpc-*`, `content-type`, `date`, …) are left out, `grpc-status-details-bin`
 * included (it is `statusDetails`). Values of '-bin' names are base64 strings.
 */
export type UnaryResult =
  | {
      ok: true;
      message: Buffer;
      headers: MetadataPairs;
      trailers: MetadataPairs;
    }
  | {
      ok: false;
      /** a gRPC status code; not normalised (see `toCode` in src/errors/codes.ts) */
      code: number;
      /**
       * the upstream's grpc-message, or a neutral text for failures the transport detected
       * itself; never holds an upstream address (those are masked), so a client may read it
       */
      message: string;
      /** raw grpc-status-details-bin (a google.rpc.Status) if sent */
      statusDetails: Buffer | undefined;
      headers: MetadataPairs;
      trailers: MetadataPairs;
      /** for logs only: what went wrong locally (may name the upstream address) */
      cause?: string;
    };

/** A failed call: the `ok: false` half of `UnaryResult`. */
export type CallFailure = Extract<UnaryResult, { ok: false }>;

/** How a stream ended: OK with its metadata, or a failure like a unary call's. */
export type StreamStatus = { ok: true; headers: MetadataPairs; trailers: MetadataPairs } | CallFailure;

/**
 * A server-streaming call, pulled by its consumer. The transport reads ahead only a bounded
 * amount (STREAM_HIGH_WATER_BYTES, server-stream.ts) and then stops reading from the upstream, so
 * HTTP/2 flow control stalls the backend while the consumer is slow.
 */
export interface ServerStreamCall {
  /**
   * The next response message, or undefined once the stream has ended (then `status()` tells
   * how). Never rejects. One read at a time.
   */
  read(): Promise<Buffer | undefined>;
  /** The response metadata received so far (empty before the upstream's headers). */
  headers(): MetadataPairs;
  /** How the stream ended; only meaningful after `read()` returned undefined. */
  status(): StreamStatus;
  /** Stops the call (RST_STREAM CANCEL); pending and later reads return undefined, status CANCELLED. */
  cancel(): void;
}

/** A client-streaming call: request messages written one at a time, then one response. */
export interface ClientStreamCall {
  /**
   * Sends one encoded request message. Resolves true once the transport can take the next one
   * (HTTP/2 flow control: a slow backend slows the writer), false when the call has already
   * ended (then `result` says how). Never rejects.
   */
  write(message: Uint8Array): Promise<boolean>;
  /** No more messages (half-close); the response follows in `result`. */
  end(): void;
  /** Abandons the call (RST_STREAM CANCEL); `result` becomes CANCELLED. */
  cancel(): void;
  /** The response, or the failure, as a unary call's; never rejects. */
  readonly result: Promise<UnaryResult>;
}

/**
 * A bidirectional-streaming call: request messages are written as a client stream's (`write`,
 * `end`: HTTP/2 flow control paces the writer) while the responses are pulled as a server
 * stream's (`read`, with the same bounded read-ahead); either side may go on after the other
 * has ended. `cancel` ends both. `write` resolves false once the call is over (`status()` says how).
 */
export interface BidiStreamCall extends ServerStreamCall, Pick<ClientStreamCall, 'write' | 'end'> {}

/** A way to call gRPC services at one upstream address. */
export interface UpstreamTransport {
  /** Never rejects: every failure is a `UnaryResult` with a gRPC code. */
  unary(request: UnaryRequest): Promise<UnaryResult>;
  /**
   * Starts a server-streaming call (one request message, a stream of responses). Failures that
   * happen before the call starts end the stream at once with that status. `idempotent` is ignored:
   * streams are never retried.
   */
  serverStream(request: UnaryRequest): ServerStreamCall;
  /**
   * Starts a client-streaming call (`message` is ignored: the messages are written to the call).
   * Optional: without it the gateway answers client-streaming routes 501. Never retried.
   */
  clientStream?(request: UnaryRequest): ClientStreamCall;
  /**
   * Starts a bidirectional-streaming call (`message` is ignored, as for `clientStream`).
   * Optional: without it the gateway answers bidirectional routes 501. Never retried.
   */
  bidiStream?(request: UnaryRequest): BidiStreamCall;
  /** Stops accepting calls and resolves once the calls in flight have finished. */
  close(): Promise<void>;
}

/** Connectivity of a transport, for readiness checks (mirrors gRPC's channel states). */
export type TransportState = 'idle' | 'connecting' | 'ready' | 'transient-failure' | 'shutdown';

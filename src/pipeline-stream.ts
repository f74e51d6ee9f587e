// The pipeline's branch for server-streaming methods: starts the upstream stream, waits for its
// first message (or its end) before committing to a status — so an error that comes first is a
// normal HTTP error — and then hands the HTTP adapter the records to write, pulled one message
// at a time: the adapter asks for the next record only after the client's socket took the last,
// so a slow client slows the gRPC stream (backpressure end to end). Bidirectional streams answer
// the same way (`respond`), while pipeline-bidi-stream.ts feeds their request side.
import protobuf from 'protobufjs';
import { Code, codeName } from './errors/codes.js';
import { GatewayError, gatewayError, type StatusDetail } from './errors/gateway-error.js';
import type { GatewayModel } from './gateway-model.js';
import type { GatewayReply } from './pipeline.js';
import { serveBidiStream, type BidiStreamInputs } from './pipeline-bidi-stream.js';
import { serveClientStream, type ClientStreamInputs } from './pipeline-client-stream.js';
import type { CompiledRoute } from './transcode/compiled-route.js';
import type { RawBody } from './transcode/http-body.js';
import type { CodecRegistry, JsonWriteOptions } from './transcode/json/codec.js';
import type { SystemParameters } from './transcode/system-parameters.js';
import { jsonNameOf } from './transcode/json/field-info.js';
import { detailsToJson } from './transcode/status-details-json.js';
import {
  isResumableEventId,
  ndjsonError,
  ndjsonRecord,
  SSE_END,
  SSE_HEARTBEAT,
  sseError,
  sseRecord,
  STREAM_CONTENT_TYPES,
  streamFormatFor,
  type StreamFormat,
} from './transcode/stream-writer.js';
import { upstreamError } from './transcode/upstream-error.js';
import { metadataToHeaders } from './upstream/request-metadata.js';
import { decodeStatusDetails } from './upstream/status-details.js';
import type { CallFailure, ServerStreamCall, UnaryRequest, UpstreamTransport } from './upstream/transport.js';
import { exceededLocalLimit } from './upstream/unary-call.js';

/** Streaming behaviour from the config (`timeouts.stream`, `streaming`). */
export interface StreamingOptions {
  /** Deadline of a stream whose rpc sets no `timeout` option. */
  readonly timeoutMs: number;
  /** SSE heartbeat comment after this long without a record. */
  readonly sseHeartbeatMs: number;
  /** `pkg.Service/Method` → response field whose value is each SSE event's id. */
  readonly sseIdFields: Readonly<Record<string, string>>;
}

/** The request-dependent inputs of one streamed call. */
export interface StreamCallInputs {
  readonly call: UnaryRequest;
  readonly system: Readonly<SystemParameters>;
  readonly accept: string | undefined;
  /** The `Last-Event-ID` request header, forwarded as metadata `last-event-id`. */
  readonly lastEventId: string | undefined;
}

/** Serves server-streaming routes; `fail` renders a pre-stream error exactly as the pipeline does. */
export interface StreamServer {
  serve(route: CompiledRoute, transport: UpstreamTransport, inputs: StreamCallInputs): Promise<GatewayReply>;
  /** A client-streaming call (pipeline-client-stream.ts); `transport` undefined: no upstream. */
  serveClientStream(route: CompiledRoute, transport: UpstreamTransport | undefined, inputs: ClientStreamInputs): Promise<GatewayReply>;
  /** A bidirectional-streaming call (pipeline-bidi-stream.ts); `transport` undefined: no upstream. */
  serveBidiStream(route: CompiledRoute, transport: UpstreamTransport | undefined, inputs: BidiStreamInputs): Promise<GatewayReply>;
}

/** `id:` from a message, for a route with an SSE id field. */
type IdReader = (message: Uint8Array) => string | undefined;

/** Compiles the streaming side of the pipeline once; the per-request path is `serve`. */
export function createStreamServer(
  routes: readonly CompiledRoute[],
  root: protobuf.Root,
  codecs: CodecRegistry,
  options: StreamingOptions,
  fail: (error: GatewayError, route?: CompiledRoute) => GatewayReply,
): StreamServer {
  const knownType = (name: string): boolean => root.lookup(name, [protobuf.Type]) !== null;
  const idReaders = new Map<CompiledRoute, IdReader>();
  for (const route of routes) {
    const configured = options.sseIdFields[`${route.spec.service}/${route.spec.method}`];
    if (!route.spec.serverStreaming || configured === undefined) continue;
    const field = resolveField(root, route.spec.responseType, configured);
    if (field === undefined) continue; // reported at startup by sseIdFieldProblems
    const codec = codecs.codec(route.spec.responseType);
    const write: JsonWriteOptions = { emitDefaults: false, enumsAsInts: false };
    idReaders.set(route, (message) => idFromJson(codec.fieldToJson(message, field, write)));
  }

  /** The client-facing error for a failed stream, with the upstream's details. */
  const errorOf = (status: CallFailure): GatewayError => {
    const decoded = status.statusDetails === undefined ? undefined : decodeStatusDetails(status.statusDetails);
    const details = decoded === undefined ? [] : detailsToJson(decoded.details, codecs, knownType);
    return upstreamError(status, details, exceededLocalLimit(status) === 'response');
  };

  return {
    serveClientStream(route, transport, inputs) {
      if (transport === undefined) {
        return Promise.resolve(fail(gatewayError(Code.UNAVAILABLE, 'PG_NO_UPSTREAM', `no upstream is configured for ${route.spec.service}`), route));
      }
      return serveClientStream(route, transport, inputs, errorOf, fail);
    },
    async serve(route, transport, inputs) {
      const lastEventId = inputs.lastEventId;
      if (lastEventId !== undefined && !isResumableEventId(lastEventId)) {
        // refused, not dropped: without it the backend would replay the stream from its start
        return fail(gatewayError(Code.INVALID_ARGUMENT, 'PG_BAD_HEADER', 'the Last-Event-ID header must be printable ASCII (it is forwarded as gRPC metadata last-event-id)'), route);
      }
      // EventSource sends Last-Event-ID when it reconnects: the backend may resume from there
      const request = lastEventId === undefined ? inputs.call : { ...inputs.call, metadata: [...inputs.call.metadata, ['last-event-id', lastEventId] as const] };
      return respond(route, transport.serverStream(request), inputs.system, inputs.accept, errorOf);
    },
    serveBidiStream(route, transport, inputs) {
      if (transport === undefined) {
        return Promise.resolve(fail(gatewayError(Code.UNAVAILABLE, 'PG_NO_UPSTREAM', `no upstream is configured for ${route.spec.service}`), route));
      }
      return serveBidiStream(route, transport, inputs, errorOf, fail, respond);
    },
  };

  /**
   * The response side of a stream: waits for its first message (or its end) before committing
   * to a status, then hands the HTTP adapter the records. `failureOf` tells why a failed stream
   * failed (for a bidirectional one, that may be its request body).
   */
  async function respond(
    route: CompiledRoute,
    call: ServerStreamCall,
    requestSystem: Readonly<SystemParameters>,
    accept: string | undefined,
    failureOf: (status: CallFailure) => GatewayError,
  ): Promise<GatewayReply> {
    const pending = call.read();
    if (route.readRawBody !== undefined) return rawStream(route, route.readRawBody, call, pending, fail, failureOf);
    // Commit to 200 at the first message, or once the stream has been quiet for a heartbeat
    // (a watch may wait long for its first event; its client should see the stream open).
    const first = await idleAfter(pending, options.sseHeartbeatMs);
    const headers: Record<string, string | string[]> = {};
    metadataToHeaders(call.headers(), headers);
    if (first === undefined) {
      // an empty stream: still a stream of the asked format, and the trailers can go as headers
      const failed = endedEarly(call, headers, route, fail, failureOf);
      if (failed !== undefined) return failed;
    }
    const format = streamFormatFor(accept);
    headers['content-type'] = STREAM_CONTENT_TYPES[format];
    headers['cache-control'] = 'no-cache';
    // nginx buffers proxied responses unless told not to; a stream must flow per message
    headers['x-accel-buffering'] = 'no';
    // one compact JSON value per record: $prettyPrint would break NDJSON's line framing
    const system = requestSystem.prettyPrint ? { ...requestSystem, prettyPrint: false } : requestSystem;
    let stopped = false;
    const reply: GatewayReply = { statusCode: 200, headers, body: '', route };
    const records = streamRecords(call, pending, {
      format,
      encode: (message) => route.encodeResponse(message, system),
      idOf: format === 'sse' ? idReaders.get(route) : undefined,
      heartbeatMs: format === 'sse' ? options.sseHeartbeatMs : 0,
      errorOf: (status) => (stopped ? SHUTTING_DOWN : failureOf(status)),
      // the in-band failure goes on the reply too, for the access log and metrics
      onFailure: (error) => (reply.error = error),
    });
    reply.stream = Object.assign(records, {
      stop() {
        stopped = true;
        call.cancel();
      },
    });
    return reply;
  }
}

/**
 * A stream that ended before its first message: its failure as a normal error reply (with the
 * response metadata in `headers`), or undefined when it ended OK — its trailers then join `headers`.
 */
function endedEarly(
  call: ServerStreamCall,
  headers: Record<string, string | string[]>,
  route: CompiledRoute,
  fail: (error: GatewayError, route?: CompiledRoute) => GatewayReply,
  errorOf: (status: CallFailure) => GatewayError,
): GatewayReply | undefined {
  const status = call.status();
  if (status.ok) {
    metadataToHeaders(status.trailers, headers);
    return undefined;
  }
  const reply = fail(errorOf(status), route);
  Object.assign(reply.headers, headers);
  return reply;
}

/**
 * A server stream of google.api.HttpBody messages: a download. The first message decides the
 * Content-Type (so the status waits for it), then each message's data is written as it comes,
 * with no framing. A failure after the start cannot be told in-band; the response is cut off
 * (`incomplete`) so the client sees a broken transfer, never a short file that looks whole.
 */
async function rawStream(
  route: CompiledRoute,
  read: (message: Uint8Array) => RawBody,
  call: ServerStreamCall,
  pending: Promise<Buffer | undefined>,
  fail: (error: GatewayError, route?: CompiledRoute) => GatewayReply,
  errorOf: (status: CallFailure) => GatewayError,
): Promise<GatewayReply> {
  const firstMessage = await pending;
  const headers: Record<string, string | string[]> = {};
  metadataToHeaders(call.headers(), headers);
  headers['x-content-type-options'] = 'nosniff';
  if (firstMessage === undefined) {
    const failed = endedEarly(call, headers, route, fail, errorOf);
    if (failed !== undefined) return failed;
    headers['content-type'] = 'application/octet-stream';
    return { statusCode: 200, headers, body: Buffer.alloc(0), route };
  }
  let first: RawBody;
  try {
    first = read(firstMessage);
  } catch (cause) {
    call.cancel();
    return fail(new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'an upstream stream message could not be decoded', { httpStatus: 502, cause }), route);
  }
  headers['content-type'] = first.contentType;
  let incomplete = false;
  const reply: GatewayReply = { statusCode: 200, headers, body: '', route };
  async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
    let failure: GatewayError | undefined;
    try {
      if (first.data.length > 0) yield first.data;
      for (;;) {
        const message = await call.read();
        if (message === undefined) break;
        let chunk: RawBody;
        try {
          chunk = read(message);
        } catch (cause) {
          failure = new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'an upstream stream message could not be decoded', { cause });
          break;
        }
        if (chunk.data.length > 0) yield chunk.data;
      }
      if (failure === undefined) {
        const status = call.status();
        if (!status.ok) failure = errorOf(status);
      }
      if (failure !== undefined) {
        incomplete = true;
        reply.error = failure;
      }
    } finally {
      call.cancel(); // a no-op once the call has ended
    }
  }
  reply.stream = Object.assign(chunks(), {
    stop: () => call.cancel(),
    incomplete: () => incomplete,
  });
  return reply;
}

interface RecordOptions {
  readonly format: StreamFormat;
  readonly encode: (message: Uint8Array) => string;
  readonly idOf: IdReader | undefined;
  readonly heartbeatMs: number;
  readonly errorOf: (status: CallFailure) => GatewayError;
  readonly onFailure: (error: GatewayError) => void;
}

const IDLE: unique symbol = Symbol('idle');
const SHUTTING_DOWN = new GatewayError(Code.UNAVAILABLE, 'PG_SHUTTING_DOWN', 'the gateway is shutting down; reconnect to resume');

/**
 * The records of one stream. The consumer's early exit (`return()`, e.g. the client went away)
 * cancels the upstream call; so does a message the gateway cannot decode.
 */
async function* streamRecords(
  call: ServerStreamCall,
  pending: Promise<Buffer | undefined>,
  options: RecordOptions,
): AsyncGenerator<string, void, undefined> {
  const sse = options.format === 'sse';
  let failure: GatewayError | undefined;
  try {
    for (let next = pending; ; next = call.read()) {
      let message: Buffer | undefined;
      if (options.heartbeatMs > 0) {
        let result: Buffer | undefined | typeof IDLE;
        while ((result = await idleAfter(next, options.heartbeatMs)) === IDLE) yield SSE_HEARTBEAT;
        message = result;
      } else {
        message = await next;
      }
      if (message === undefined) break;
      let json: string;
      try {
        json = options.encode(message);
      } catch (cause) {
        failure = new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'an upstream stream message could not be decoded', { cause });
        break;
      }
      yield sse ? sseRecord(json, options.idOf?.(message)) : ndjsonRecord(json);
    }
    if (failure === undefined) {
      const status = call.status();
      if (!status.ok) failure = options.errorOf(status);
    }
    if (failure !== undefined) {
      options.onFailure(failure);
      const json = statusJson(failure.code, failure.message, failure.details);
      yield sse ? sseError(json) : ndjsonError(json);
    } else if (sse) {
      yield SSE_END;
    }
  } finally {
    call.cancel(); // a no-op once the call has ended
  }
}

/** `next`'s value, or IDLE if it takes longer than `ms` (`next` stays pending for the next wait). */
function idleAfter(next: Promise<Buffer | undefined>, ms: number): Promise<Buffer | undefined | typeof IDLE> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<typeof IDLE>((resolve) => {
    timer = setTimeout(resolve, ms, IDLE);
  });
  return Promise.race([next, idle]).finally(() => clearTimeout(timer));
}

/**
 * The in-band google.rpc.Status: the gRPC code (a stream's status line was sent long ago, so
 * there is no HTTP status to give, whatever `errors.format` says).
 */
function statusJson(code: Code, message: string, details: readonly StatusDetail[]): string {
  return JSON.stringify({ code, status: codeName(code), message, details });
}

/** An SSE id from the JSON of a scalar field: strings unquoted, numbers as written; none when unset. */
function idFromJson(json: string): string | undefined {
  if (json === '' || json === 'null' || json === '""') return undefined;
  if (json.startsWith('"')) return JSON.parse(json) as string;
  return json.startsWith('{') || json.startsWith('[') ? undefined : json;
}

/** The proto name of `name` (a proto or json name) in message `type`, if it has such a field. */
function resolveField(root: protobuf.Root, type: string, name: string): string | undefined {
  const message = root.lookupType(type);
  const field = message.fields[name] ?? Object.values(message.fields).find((candidate) => jsonNameOf(candidate) === name);
  return field?.name;
}

/**
 * Problems with `streaming.sseIdFields` against the model, for a startup error naming each key:
 * the rpc must be served and server-streaming, the field a scalar field of its response.
 */
export function sseIdFieldProblems(model: GatewayModel, fields: Readonly<Record<string, string>>): Array<{ keyPath: string[]; problem: string }> {
  const entries = Object.entries(fields);
  if (entries.length === 0) return [];
  const root = protobuf.Root.fromJSON(model.descriptor);
  root.resolveAll();
  const problems: Array<{ keyPath: string[]; problem: string }> = [];
  for (const [rpc, name] of entries) {
    const keyPath = ['streaming', 'sseIdFields', rpc];
    const route = model.routes.find((candidate) => `${candidate.service}/${candidate.method}` === rpc);
    if (route === undefined || !route.serverStreaming) {
      problems.push({ keyPath, problem: `no server-streaming rpc ${rpc} is served (write it as pkg.Service/Method)` });
      continue;
    }
    const field = resolveField(root, route.responseType, name);
    const resolved = field === undefined ? undefined : root.lookupType(route.responseType).fields[field]?.resolve();
    if (resolved === undefined || resolved.repeated || resolved.map || resolved.resolvedType instanceof protobuf.Type) {
      problems.push({ keyPath, problem: `${route.responseType} has no scalar field "${name}" (name a top-level string or number field)` });
    }
  }
  return problems;
}

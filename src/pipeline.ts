// The ordered request pipeline, free of Fastify: match the route, assemble and encode the
// request, call the upstream with a deadline, encode the answer or the error.
import type { IncomingHttpHeaders } from 'node:http';
import protobuf from 'protobufjs';
import { Code } from './errors/codes.js';
import { renderError, type ErrorFormat } from './errors/error-body.js';
import { GatewayError, badRequest, gatewayError } from './errors/gateway-error.js';
import { rateLimitChannel, upstreamCallChannel, type RateLimitEvent, type UpstreamCallEvent } from './observability/request-events.js';
import { takeQueryKey } from './policy/auth-api-key.js';
import { cacheKey, createGetCaching } from './policy/get-caching.js';
import type { StaleCacheOptions } from './policy/stale-cache.js';
import type { StaticFallback } from './policy/static-fallback.js';
import type { AuthGate, RouteGuard } from './policy/authenticate.js';
import type { RateLimiter, RouteLimiter } from './policy/rate-limit.js';
import { truncate } from './errors/user-input.js';
import type { GatewayModel } from './gateway-model.js';
import { RouteTable } from './routing/route-table.js';
import { compileRoute, type CompiledRoute, type TranscodeOptions } from './transcode/compiled-route.js';
import type { AssembledRequest } from './transcode/request-assembler.js';
import type { RawBody } from './transcode/http-body.js';
import { createCodecRegistry } from './transcode/json/codec.js';
import { createStreamServer, type StreamingOptions } from './pipeline-stream.js';
import { bodyChunks, streamedBodyMatcher } from './pipeline-client-stream.js';
import { detailsToJson } from './transcode/status-details-json.js';
import { upstreamError } from './transcode/upstream-error.js';
import { parseGrpcTimeout } from './upstream/grpc-timeout.js';
import { headersToMetadata, metadataToHeaders, type MetadataPolicy } from './upstream/request-metadata.js';
import { isUpstreamOut } from './upstream/resilient-transport.js';
import { decodeStatusDetails } from './upstream/status-details.js';
import type { CancelSignal, UpstreamTransport } from './upstream/transport.js';
import { exceededLocalLimit } from './upstream/unary-call.js';

/** A request as the HTTP adapter hands it over. */
export interface GatewayRequest {
  readonly method: string;
  /** Raw request target: path and query, still percent-encoded. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array | undefined;
  /**
   * The body of a client-streaming route, unread, as its chunks arrive (`readsBodyAsStream`);
   * `body` is then undefined. Absent: `body` holds the whole body.
   */
  readonly bodyStream?: AsyncIterable<Uint8Array> | undefined;
  /** Aborted when the client goes away. */
  readonly signal: CancelSignal;
  readonly requestId: string;
  /**
   * The client's address: the socket peer, or the `X-Forwarded-For` hop the trusted-proxy
   * setting selects. Rate limits count anonymous callers by it; IP lists check it.
   */
  readonly clientIp: string;
}

/** The answer for the HTTP adapter to write. */
export interface GatewayReply {
  statusCode: number;
  headers: Record<string, string | string[]>;
  /** JSON text, or the bytes of a google.api.HttpBody answer (whose Content-Type is in `headers`). */
  body: string | Buffer;
  /** Set for failures, for the access log. */
  error?: GatewayError;
  /** The route that served the request, for the access log. */
  route?: CompiledRoute;
  /** Set on a kept answer served because the upstream was unavailable (policy/stale-cache.ts), for logs and metrics. */
  stale?: true;
  /** Set on a configured answer served because the upstream was out (policy/static-fallback.ts), for logs and metrics. */
  fallback?: true;
  /**
   * A server stream (pipeline-stream.ts): the records to write after the headers, pulled one at
   * a time as the client takes them (`body` is empty). Stopping early cancels the upstream call.
   */
  stream?: ReplyStream;
}

/** The records of a streamed reply: NDJSON/SSE text, or the raw chunks of a google.api.HttpBody stream. */
export interface ReplyStream extends AsyncIterable<string | Buffer> {
  /** Ends the stream early (gateway shutdown): the upstream call is cancelled, a last record says why. */
  stop(): void;
  /**
   * True when the stream failed after its start and had no way to say so in-band (raw bytes
   * have no error record): the HTTP adapter then aborts the response instead of ending it, so
   * the client sees a truncated transfer rather than a complete but short file.
   */
  incomplete?(): boolean;
}

/** What the pipeline needs besides the model. */
export interface PipelineOptions extends TranscodeOptions {
  readonly errorFormat: ErrorFormat;
  readonly defaultTimeoutMs: number;
  readonly serviceTimeoutsMs: ReadonlyMap<string, number>;
  readonly metadata: MetadataPolicy;
  /** Authentication and authorization (config `auth`); absent: every route is public. */
  readonly auth?: AuthGate | undefined;
  /** Rate limits (config `rateLimit`, proto `rate_limit`); absent: no route is limited. */
  readonly rateLimit?: RateLimiter | undefined;
  /** The transport for a service; every served service has one (checked at startup). */
  readonly transportFor: (service: string) => UpstreamTransport | undefined;
  /** Called with unexpected errors (bugs), which the client sees only as a generic 500. */
  readonly onInternalError: (error: unknown, request: GatewayRequest) => void;
  /** Server streams (config `timeouts.stream`, `streaming`); absent: the defaults below. */
  readonly streaming?: StreamingOptions | undefined;
  /** ETag + 304 on GET answers (config `etag`, on by default there); absent: off. */
  readonly etag?: boolean | undefined;
  /** Last good GET answers served stale while the upstream is unavailable (config `resilience.staleCache`); absent: off. */
  readonly staleCache?: StaleCacheOptions | undefined;
  /** Configured answers by operationId, for when the upstream is out (config `resilience.fallbacks`); absent: none. */
  readonly fallbacks?: ReadonlyMap<string, StaticFallback> | undefined;
}

const DEFAULT_STREAMING: StreamingOptions = { timeoutMs: 3_600_000, sseHeartbeatMs: 15_000, sseIdFields: {} };
const EMPTY_MESSAGE = new Uint8Array(0);

/** The compiled gateway: one `handle` per HTTP request. */
export interface Pipeline {
  readonly routes: readonly CompiledRoute[];
  /** The HTTP methods the routes answer on `path` (raw, without the query); for CORS preflights. */
  allowedMethods(path: string): readonly string[];
  /**
   * Whether a request (raw target, query included) goes to a client-streaming route, whose body
   * the HTTP adapter hands over unread as `bodyStream`; undefined when no route streams its body.
   */
  readonly readsBodyAsStream: ((method: string, url: string) => boolean) | undefined;
  handle(request: GatewayRequest): Promise<GatewayReply>;
}

/** Compiles every route of the model into a pipeline. */
export function createPipeline(model: GatewayModel, options: PipelineOptions): Pipeline {
  const root = protobuf.Root.fromJSON(model.descriptor);
  root.resolveAll();
  const codecs = createCodecRegistry(root);
  const table = new RouteTable<CompiledRoute>();
  const routes = model.routes.map((spec) => compileRoute(spec, root, codecs, options));
  for (const route of routes) table.add(route.spec.httpMethod, route.template, route);
  const knownType = (name: string): boolean => root.lookup(name, [protobuf.Type]) !== null;
  // Decided per route at startup; without `auth` there is no map and no per-request work.
  const guards = options.auth === undefined ? undefined : guardsOf(routes, options.auth);
  const limiters = options.rateLimit === undefined ? undefined : limitersOf(routes, options.rateLimit);
  const apiKeyQuery = options.auth?.apiKeyQuery;
  // undefined when ETags and the stale cache are both off: then a GET answer costs one branch more
  const getCaching = createGetCaching({ etag: options.etag === true, staleCache: options.staleCache });

  const fail = (error: GatewayError, route?: CompiledRoute): GatewayReply => {
    const rendered = renderError(error, options.errorFormat);
    return { statusCode: rendered.statusCode, headers: { ...rendered.headers }, body: rendered.body, error, ...(route ? { route } : {}) };
  };
  const streaming = options.streaming ?? DEFAULT_STREAMING;
  const streams = createStreamServer(routes, root, codecs, streaming, fail);

  /** `late.headers`: set once a policy has decided headers every later reply carries (RateLimit-*). */
  async function serve(request: GatewayRequest, late: { headers?: Readonly<Record<string, string>> }): Promise<GatewayReply> {
    const queryAt = request.url.indexOf('?');
    const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
    let query = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
    let queryKey: string | undefined;
    if (apiKeyQuery !== undefined && query !== '') {
      // an API key in the query is a credential, never a request field: out before binding or any message
      ({ query, key: queryKey } = takeQueryKey(query, apiKeyQuery));
    }
    const match = table.match(request.method, path);
    switch (match.kind) {
      case 'not-found':
        return fail(gatewayError(Code.NOT_FOUND, 'PG_ROUTE_NOT_FOUND', `no route for ${request.method} ${truncate(path, 128)}`));
      case 'method-not-allowed':
        return fail(
          gatewayError(Code.UNIMPLEMENTED, 'PG_METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${truncate(path, 128)}; allowed: ${match.allow.join(', ')}`, {
            httpStatus: 405,
            headers: { allow: match.allow.join(', ') },
          }),
        );
      case 'bad-path':
        return fail(badRequest('PG_BAD_PATH', '', match.message));
      case 'found':
        break;
    }
    const route = match.route;
    const spec = route.spec;
    let identity: ReadonlyArray<readonly [string, string]> | undefined;
    let subject: string | undefined;
    const guard = guards?.get(route);
    if (guard !== undefined) {
      // before the body is parsed: an unauthenticated request costs no decoding and reaches no backend
      const verdict = await guard(request.headers, queryKey);
      if (!verdict.ok) return fail(verdict.error, route);
      identity = verdict.metadata;
      subject = verdict.subject;
    }
    const limiter = limiters?.get(route);
    if (limiter !== undefined) {
      // after auth, so the principal is known; before the body is parsed, so a refused call costs no decoding
      const verdict = await limiter(request.clientIp, subject);
      if (verdict.outcome !== undefined && rateLimitChannel.hasSubscribers) {
        rateLimitChannel.publish({ source: pipeline, route, outcome: verdict.outcome } satisfies RateLimitEvent);
      }
      if (!verdict.ok) return fail(verdict.error, route);
      if (verdict.headers !== undefined) late.headers = verdict.headers;
    }
    if (spec.clientStreaming) {
      let deadline: number;
      try {
        deadline = Date.now() + timeoutFor(request, route, options);
      } catch (error) {
        if (error instanceof GatewayError) return fail(error, route);
        throw error;
      }
      const call = { path: spec.grpcPath, message: EMPTY_MESSAGE, metadata: upstreamMetadata(request, options.metadata, identity), deadline, signal: request.signal };
      const inputs = { call, bindings: match.bindings, query, body: bodyChunks(request), contentType: request.headers['content-type'] };
      if (spec.serverStreaming) return streams.serveBidiStream(route, options.transportFor(spec.service), { ...inputs, accept: request.headers.accept });
      return streams.serveClientStream(route, options.transportFor(spec.service), inputs);
    }
    let assembled: AssembledRequest;
    let deadline: number;
    try {
      assembled = route.assemble({
        bindings: match.bindings,
        query,
        body: request.body,
        contentType: request.headers['content-type'],
      });
      deadline = Date.now() + timeoutFor(request, route, options);
    } catch (error) {
      // keeps the route on the reply, so logs and metrics count a 400 against its template
      if (error instanceof GatewayError) return fail(error, route);
      throw error;
    }
    const transport = options.transportFor(spec.service);
    if (transport === undefined) {
      return fail(gatewayError(Code.UNAVAILABLE, 'PG_NO_UPSTREAM', `no upstream is configured for ${spec.service}`), route);
    }
    if (spec.serverStreaming) {
      const call = { path: spec.grpcPath, message: assembled.message, metadata: upstreamMetadata(request, options.metadata, identity), deadline, signal: request.signal };
      const lastEventId = request.headers['last-event-id'];
      return streams.serve(route, transport, { call, system: assembled.system, accept: request.headers.accept, lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined });
    }
    const observed = upstreamCallChannel.hasSubscribers;
    const callStarted = observed ? performance.now() : 0;
    const result = await transport.unary({
      path: spec.grpcPath,
      message: assembled.message,
      metadata: upstreamMetadata(request, options.metadata, identity),
      deadline,
      signal: request.signal,
      // GET is idempotent by HTTP's definition; other verbs when the rpc says so
      idempotent: spec.idempotent || spec.httpMethod === 'GET',
    });
    if (observed) {
      const event: UpstreamCallEvent = { source: pipeline, route, code: result.ok ? 0 : result.code, durationMs: performance.now() - callStarted, headers: request.headers };
      upstreamCallChannel.publish(event);
    }
    const headers: Record<string, string | string[]> = {};
    metadataToHeaders(result.headers, headers);
    metadataToHeaders(result.trailers, headers);
    if (!result.ok) {
      if (getCaching !== undefined && spec.httpMethod === 'GET' && (result.code === Code.UNAVAILABLE || result.code === Code.DEADLINE_EXCEEDED)) {
        // graceful degradation: the URL's last good answer, marked stale, rather than a 503/504
        const stale = getCaching.stale(request.headers, cacheKey(path, query, subject));
        if (stale !== undefined) return { ...stale, route, stale: true };
      }
      // last resort, and only when the upstream is known to be out, not when one call failed
      const fallback = options.fallbacks?.get(spec.operationId);
      if (fallback !== undefined && isUpstreamOut(result)) {
        return { statusCode: fallback.statusCode, headers: { ...fallback.headers }, body: route.encodeResponse(fallback.message, assembled.system), route, fallback: true };
      }
      const decoded = result.statusDetails === undefined ? undefined : decodeStatusDetails(result.statusDetails);
      const details = decoded === undefined ? [] : detailsToJson(decoded.details, codecs, knownType);
      const reply = fail(upstreamError(result, details, exceededLocalLimit(result) === 'response'), route);
      Object.assign(reply.headers, headers);
      return reply;
    }
    if (route.readRawBody !== undefined) return rawBodyReply(route, route.readRawBody, result.message, headers, fail);
    let body: string;
    try {
      body = route.encodeResponse(result.message, assembled.system);
    } catch (cause) {
      return fail(
        new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'the upstream response could not be decoded', { httpStatus: 502, cause }),
        route,
      );
    }
    const reply = { statusCode: 200, headers, body, route };
    return getCaching === undefined || spec.httpMethod !== 'GET' ? reply : getCaching.fresh(reply, request.headers, cacheKey(path, query, subject));
  }

  const pipeline: Pipeline = {
    routes,
    allowedMethods: (path) => table.methods(path),
    readsBodyAsStream: streamedBodyMatcher(routes, table),
    async handle(request) {
      const late: { headers?: Readonly<Record<string, string>> } = {};
      let reply: GatewayReply;
      try {
        reply = await serve(request, late);
      } catch (error) {
        if (error instanceof GatewayError) {
          reply = fail(error);
        } else {
          options.onInternalError(error, request);
          reply = fail(gatewayError(Code.INTERNAL, 'PG_INTERNAL', `internal error (request id ${request.requestId})`));
        }
      }
      if (late.headers !== undefined) Object.assign(reply.headers, late.headers);
      return reply;
    },
  };
  return pipeline;
}

/**
 * Route deadline (proto option) → service (config) → default; a stream's (either direction):
 * route → the stream default. A client's grpc-timeout may only shorten it.
 */
function timeoutFor(request: GatewayRequest, route: CompiledRoute, options: PipelineOptions): number {
  const limit =
    route.spec.timeoutMs ??
    (route.spec.serverStreaming || route.spec.clientStreaming ? (options.streaming ?? DEFAULT_STREAMING).timeoutMs : (options.serviceTimeoutsMs.get(route.spec.service) ?? options.defaultTimeoutMs));
  const header = request.headers['grpc-timeout'];
  if (header === undefined) return limit;
  const asked = parseGrpcTimeout(Array.isArray(header) ? header[0] ?? '' : header);
  if (asked === undefined) {
    throw badRequest('PG_BAD_HEADER', 'grpc-timeout', 'header grpc-timeout is malformed; write it as digits and a unit, e.g. 500m or 2S');
  }
  return Math.min(asked, limit);
}

function limitersOf(routes: readonly CompiledRoute[], rateLimit: RateLimiter): Map<CompiledRoute, RouteLimiter> {
  const limiters = new Map<CompiledRoute, RouteLimiter>();
  for (const route of routes) {
    const limiter = rateLimit.limiterFor(route.spec);
    if (limiter !== undefined) limiters.set(route, limiter);
  }
  return limiters;
}

function guardsOf(routes: readonly CompiledRoute[], auth: AuthGate): Map<CompiledRoute, RouteGuard> {
  const guards = new Map<CompiledRoute, RouteGuard>();
  for (const route of routes) {
    const guard = auth.guardFor(route.spec);
    if (guard !== undefined) guards.set(route, guard);
  }
  return guards;
}

function upstreamMetadata(
  request: GatewayRequest,
  policy: MetadataPolicy,
  identity: ReadonlyArray<readonly [string, string]> | undefined,
): Array<[string, string | Buffer]> {
  const metadata = headersToMetadata(request.headers, policy);
  const traceparent = policy.traceparentFor?.(request.headers);
  if (traceparent !== undefined) {
    for (let i = metadata.length - 1; i >= 0; i--) if (metadata[i]![0] === 'traceparent') metadata.splice(i, 1);
    metadata.push(['traceparent', traceparent]);
  }
  if (identity !== undefined) for (const [name, value] of identity) metadata.push([name, value]);
  if (request.headers['x-request-id'] !== request.requestId) {
    for (let i = metadata.length - 1; i >= 0; i--) if (metadata[i]![0] === 'x-request-id') metadata.splice(i, 1);
    metadata.push(['x-request-id', request.requestId]);
  }
  return metadata;
}

/**
 * A google.api.HttpBody answer: its data as the body, its content_type as the Content-Type,
 * `nosniff` so a browser never runs bytes labelled as something else. Not cached or tagged:
 * the stale cache and ETags describe JSON answers.
 */
function rawBodyReply(
  route: CompiledRoute,
  read: (message: Uint8Array) => RawBody,
  message: Uint8Array,
  headers: Record<string, string | string[]>,
  fail: (error: GatewayError, route?: CompiledRoute) => GatewayReply,
): GatewayReply {
  let raw: RawBody;
  try {
    raw = read(message);
  } catch (cause) {
    return fail(new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'the upstream response could not be decoded', { httpStatus: 502, cause }), route);
  }
  headers['content-type'] = raw.contentType;
  headers['x-content-type-options'] = 'nosniff';
  return { statusCode: 200, headers, body: raw.data, route };
}

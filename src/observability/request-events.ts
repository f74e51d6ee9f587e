// The request lifecycle as diagnostics_channel events: the HTTP layer and the pipeline publish,
// logging and metrics subscribe. Publishers check `hasSubscribers` first, so with nobody
// listening a request pays one property read per event (Fastify and undici do the same).
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute } from '../transcode/compiled-route.js';

/** Channel names, stable for outside subscribers. */
export const REQUEST_START_CHANNEL = 'protogate:request:start';
export const REQUEST_CHANNEL = 'protogate:request';
export const UPSTREAM_CALL_CHANNEL = 'protogate:upstream-call';
export const RATE_LIMIT_CHANNEL = 'protogate:rate-limit';

/**
 * Which gateway an event belongs to (several may run in one process, e.g. in tests; channels
 * are process-wide). A subscriber compares it by identity with the gateway it watches.
 */
export type EventSource = object;

/** A request has been received (published once per request, before the pipeline runs). */
export interface RequestStartEvent {
  readonly source: EventSource;
}

/** A request has been answered (published once per request whose start was published). */
export interface RequestEvent {
  readonly source: EventSource;
  readonly requestId: string;
  readonly method: string;
  /** The route that served it; undefined when none matched (404/405/400 before routing). */
  readonly route: CompiledRoute | undefined;
  readonly status: number;
  /** gRPC code of the outcome (0 when the request succeeded). */
  readonly grpcCode: number;
  /** Stable reason code of a failure (`PG_ROUTE_NOT_FOUND`, …). */
  readonly reason: string | undefined;
  /** Time from receipt to the reply being ready to write. */
  readonly durationMs: number;
  /** Response body bytes. */
  readonly bytes: number;
  /** The internal detail of a failure, for the log only (an upstream's own status text, a decode error); never sent to the client. */
  readonly cause?: string | undefined;
  /**
   * The request's headers (undefined when Node's parser refused the request): tracing reads the
   * client's trace context from them, and matches the request's upstream call by this object.
   */
  readonly headers?: IncomingHttpHeaders | undefined;
  /** True when the answer was a kept one, served because the upstream was unavailable (resilience.staleCache). */
  readonly stale?: boolean | undefined;
  /** True when the answer was a configured one, served because the upstream was out (resilience.fallbacks). */
  readonly fallback?: boolean | undefined;
}

/** One call to an upstream has finished (published by the pipeline around the transport call). */
export interface UpstreamCallEvent {
  readonly source: EventSource;
  readonly route: CompiledRoute;
  /** gRPC status code of the call (0 on success). */
  readonly code: number;
  readonly durationMs: number;
  /** The request's headers, the same object as its RequestEvent's (tracing matches the two by it). */
  readonly headers?: IncomingHttpHeaders | undefined;
}

/** A rate-limited route refused a call (429), or its store failed (the call then passed or got 503, per rateLimit.onStoreFailure). */
export interface RateLimitEvent {
  readonly source: EventSource;
  readonly route: CompiledRoute;
  readonly outcome: 'rejected' | 'store-failure';
}

/** Published when a request arrives. */
export const requestStartChannel = diagnosticsChannel.channel(REQUEST_START_CHANNEL);
/** Published when a request has been answered. */
export const requestChannel = diagnosticsChannel.channel(REQUEST_CHANNEL);
/** Published when an upstream call has finished. */
export const upstreamCallChannel = diagnosticsChannel.channel(UPSTREAM_CALL_CHANNEL);
/** Published when the rate limiter refuses a call or its store fails. */
export const rateLimitChannel = diagnosticsChannel.channel(RATE_LIMIT_CHANNEL);

/** Subscribes `listener` to the events of one gateway; returns the unsubscribe function. */
export function subscribeRequests(source: EventSource, handlers: {
  start?: (event: RequestStartEvent) => void;
  end?: (event: RequestEvent) => void;
  upstreamCall?: (event: UpstreamCallEvent) => void;
  rateLimit?: (event: RateLimitEvent) => void;
}): () => void {
  const subscriptions: Array<[string, (message: unknown) => void]> = [];
  const { start, end, upstreamCall, rateLimit } = handlers;
  if (start) subscriptions.push([REQUEST_START_CHANNEL, (m) => (m as RequestStartEvent).source === source && start(m as RequestStartEvent)]);
  if (end) subscriptions.push([REQUEST_CHANNEL, (m) => (m as RequestEvent).source === source && end(m as RequestEvent)]);
  if (upstreamCall) {
    subscriptions.push([UPSTREAM_CALL_CHANNEL, (m) => (m as UpstreamCallEvent).source === source && upstreamCall(m as UpstreamCallEvent)]);
  }
  if (rateLimit) subscriptions.push([RATE_LIMIT_CHANNEL, (m) => (m as RateLimitEvent).source === source && rateLimit(m as RateLimitEvent)]);
  for (const [name, listener] of subscriptions) diagnosticsChannel.subscribe(name, listener);
  return () => {
    for (const [name, listener] of subscriptions) diagnosticsChannel.unsubscribe(name, listener);
  };
}

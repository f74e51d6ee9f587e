// Rate limiting (config key `rateLimit`, per route `(protogate.v1.policy).rate_limit`): decides
// each route's limit once at startup, and per request takes one call from the caller's bucket
// in the store (memory or Redis), answering with the RateLimit headers or a 429.
//
// Algorithm: GCRA, the generic cell rate algorithm — a token bucket of `requests` tokens that
// refills one token every `per / requests`, kept as a single number per bucket (the theoretical
// arrival time, TAT). Chosen over a fixed window, which lets a caller spend two budgets across a
// window edge, and over a sliding log, which stores every call: GCRA is exact, O(1) in memory,
// one read-modify-write (a short atomic Lua script in Redis), and its state expires by itself
// once the bucket is full again. Callers may burst up to `requests` calls, then one per interval.
// Headers follow draft-ietf-httpapi-ratelimit-headers (RateLimit-Limit/-Remaining/-Reset/-Policy).
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/config-schema.js';
import { parseDurationMs } from '../config/duration.js';
import { ConfigKeyError } from '../config/config-source.js';
import { Code } from '../errors/codes.js';
import { ERROR_DOMAIN, GatewayError, gatewayError } from '../errors/gateway-error.js';
import type { RouteRateLimitSpec, RouteSpec } from '../gateway-model.js';

/** The `rateLimit` config section, as validated by the config schema. */
export type RateLimitConfig = GatewayConfig['rateLimit'];

/** A bucket's shape: one token every `intervalMs`, `windowMs / intervalMs` tokens at most. */
export interface BucketLimit {
  readonly intervalMs: number;
  readonly windowMs: number;
}

/** The outcome of taking one token. */
export interface BucketState {
  readonly allowed: boolean;
  /** Time until the bucket is full again (its TAT minus now). */
  readonly fullInMs: number;
  /** When not allowed: time until one call will be. */
  readonly retryInMs: number;
}

/** Where buckets live. `take` rejects when the store cannot answer (Redis down or too slow). */
export interface RateLimitStore {
  take(key: string, limit: BucketLimit): Promise<BucketState>;
  close(): Promise<void>;
}

/** Float slack for comparing times built from fractional intervals (e.g. 60 s / 7). */
const EPSILON_MS = 1e-3;

/** One GCRA step on a bucket whose TAT is `tat` (undefined: a new, full bucket); returns the new TAT. */
export function gcra(tat: number | undefined, now: number, limit: BucketLimit): BucketState & { readonly tat: number } {
  const base = tat === undefined || tat < now ? now : tat;
  const next = base + limit.intervalMs;
  const allowAt = next - limit.windowMs;
  if (allowAt - now > EPSILON_MS) return { allowed: false, tat: base, fullInMs: base - now, retryInMs: allowAt - now };
  return { allowed: true, tat: next, fullInMs: next - now, retryInMs: 0 };
}

/** Seconds for a header, rounded up (less float noise: 10000.0000001 ms is 10 s), at least 1. */
function wholeSeconds(ms: number): number {
  return Math.max(1, Math.ceil((ms - EPSILON_MS) / 1000));
}

/** Tokens left after a take, from how far the bucket is from full. */
export function remainingTokens(state: BucketState, limit: BucketLimit): number {
  if (!state.allowed) return 0;
  return Math.max(0, Math.floor((limit.windowMs - state.fullInMs) / limit.intervalMs + EPSILON_MS));
}

/**
 * What a route's check answers: headers for the reply, or the error to send instead; `outcome`
 * is set when the pipeline should publish a rate-limit event (a refusal, or a store failure).
 */
export type RateLimitVerdict =
  | { readonly ok: true; readonly headers: Readonly<Record<string, string>> | undefined; readonly outcome?: 'store-failure' }
  | { readonly ok: false; readonly error: GatewayError; readonly outcome: 'rejected' | 'store-failure' };

/** Checks one request against its route's limit; `subject` is the authenticated principal, if any. */
export type RouteLimiter = (clientIp: string, subject: string | undefined) => Promise<RateLimitVerdict>;

/** The compiled `rateLimit` config over a store (which its owner closes). */
export interface RateLimiter {
  /** The check of a route, or undefined when the route is unlimited. */
  limiterFor(spec: RouteSpec): RouteLimiter | undefined;
}

/**
 * Each route's limit: the proto's (method, else service), else `routes` by operationId, else by
 * service name, else `default`. Limits are per rpc, so additional bindings share the primary
 * binding's budget; a `routes` name that matches nothing, or an additional binding, is a ConfigKeyError.
 */
export function routeLimits(routes: readonly RouteSpec[], config: RateLimitConfig): Map<RouteSpec, RouteRateLimitSpec> {
  const primaryIds = new Set(routes.filter((route) => route.bindingIndex === 0).map((route) => route.operationId));
  const services = new Set(routes.map((route) => route.service));
  for (const name of Object.keys(config.routes)) {
    if (primaryIds.has(name) || services.has(name)) continue;
    const binding = routes.find((route) => route.operationId === name);
    const primary = binding === undefined ? undefined : routes.find((route) => route.grpcPath === binding.grpcPath && route.bindingIndex === 0);
    throw new ConfigKeyError(
      ['rateLimit', 'routes', name],
      primary !== undefined
        ? `is an additional binding of ${primary.service}/${primary.method}, whose bindings share one budget (set the limit on ${primary.operationId})`
        : `names no served operationId or service (use an operationId such as ${[...primaryIds][0] ?? 'Service_Method'}, or a fully-qualified service name)`,
    );
  }
  const configured = (name: string | undefined): RateLimitConfig['routes'][string] | undefined =>
    name !== undefined && Object.hasOwn(config.routes, name) ? config.routes[name] : undefined;
  const primaryIdOf = new Map(routes.filter((route) => route.bindingIndex === 0).map((route) => [route.grpcPath, route.operationId]));
  const limits = new Map<RouteSpec, RouteRateLimitSpec>();
  for (const route of routes) {
    // the nearest config entry decides, `{unlimited: true}` included
    const rule = configured(primaryIdOf.get(route.grpcPath)) ?? configured(route.service) ?? config.default;
    const fromConfig = rule === undefined || 'unlimited' in rule ? undefined : { requests: rule.requests, perMs: parseDurationMs(rule.per)!, key: rule.key };
    const limit = route.rateLimit ?? fromConfig;
    if (limit !== undefined) limits.set(route, limit);
  }
  return limits;
}

/** Groups IPv6 clients by /64 (one host's usual allocation) and unwraps IPv4-mapped IPv6 addresses. */
export function clientKey(ip: string): string {
  if (isIPv4(ip) || !ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  return `${(address as ipaddr.IPv6).toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}

/** How often a failing store is reported in the log (the rest are counted). */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/** Compiles the limits once, at startup; `limits` comes from `routeLimits`. */
export function createRateLimiter(
  limits: ReadonlyMap<RouteSpec, RouteRateLimitSpec>,
  config: RateLimitConfig,
  store: RateLimitStore,
  logger: Logger,
): RateLimiter {
  const failOpen = config.onStoreFailure === 'open';
  let lastFailureLog = -Infinity;
  let unloggedFailures = 0;
  let failing = false;
  const storeFailed = (error: unknown): void => {
    failing = true;
    const now = performance.now();
    if (now - lastFailureLog < FAILURE_LOG_INTERVAL_MS) {
      unloggedFailures++;
      return;
    }
    lastFailureLog = now;
    logger.warn(
      { err: error, store: config.store, onStoreFailure: config.onStoreFailure, failuresSinceLastLog: unloggedFailures },
      failOpen ? 'rate-limit store failed; letting requests through unlimited' : 'rate-limit store failed; answering 503',
    );
    unloggedFailures = 0;
  };
  const storeWorks = (): void => {
    failing = false;
    logger.info({ store: config.store }, 'rate-limit store answers again');
  };
  const unavailable = gatewayError(Code.UNAVAILABLE, 'PG_RATE_LIMIT_STORE_UNAVAILABLE', 'the rate-limit store is unavailable; retry shortly', {
    headers: { 'retry-after': '1' },
  });

  return {
    limiterFor(spec) {
      const limit = limits.get(spec);
      if (limit === undefined) return undefined;
      const bucket: BucketLimit = { intervalMs: limit.perMs / limit.requests, windowMs: limit.perMs };
      const windowSeconds = limit.perMs / 1000;
      const limitHeader = String(limit.requests);
      const policyHeader = `${limit.requests};w=${windowSeconds}`;
      // Additional bindings share the rpc's bucket.
      const prefix = `${spec.grpcPath}|`;
      const rpc = `${spec.service}/${spec.method}`;
      const per = limit.key === 'ip' ? 'client address' : 'caller';
      return async (clientIp, subject) => {
        const key = limit.key === 'principal' && subject !== undefined ? `${prefix}p:${subject}` : `${prefix}ip:${clientKey(clientIp)}`;
        let state: BucketState;
        try {
          state = await store.take(key, bucket);
        } catch (error) {
          storeFailed(error);
          return failOpen ? { ok: true, headers: undefined, outcome: 'store-failure' } : { ok: false, error: unavailable, outcome: 'store-failure' };
        }
        if (failing) storeWorks();
        const headers: Record<string, string> = {
          'ratelimit-limit': limitHeader,
          'ratelimit-remaining': String(remainingTokens(state, bucket)),
          'ratelimit-reset': String(wholeSeconds(state.fullInMs)),
          'ratelimit-policy': policyHeader,
        };
        if (state.allowed) return { ok: true, headers };
        const retrySeconds = wholeSeconds(state.retryInMs);
        headers['retry-after'] = String(retrySeconds);
        return {
          ok: false,
          outcome: 'rejected',
          error: new GatewayError(
            Code.RESOURCE_EXHAUSTED,
            'PG_RATE_LIMITED',
            `rate limit exceeded for ${rpc}: ${limit.requests} requests per ${windowSeconds}s per ${per}; retry in ${retrySeconds}s`,
            {
              headers,
              details: [
                { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retrySeconds}s` },
                { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'PG_RATE_LIMITED', domain: ERROR_DOMAIN },
              ],
            },
          ),
        };
      };
    },
  };
}

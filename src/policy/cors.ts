// The CORS policy (config key `cors`): answers preflights from allowed origins for paths that
// have a route, and marks actual responses to allowed origins readable. Everything that does not
// depend on the request (origin Set, header strings) is decided once in `createCorsPolicy`; the
// decisions are pure functions over (method, headers) and the HTTP adapter wraps the pipeline's
// `handle` with `withCors` only when `cors` is configured, so without it CORS costs nothing.
// Follows the Fetch standard's CORS protocol (fetch.spec.whatwg.org/#http-cors-protocol).
import type { IncomingHttpHeaders } from 'node:http';
import { Code } from '../errors/codes.js';
import { renderError, type ErrorFormat } from '../errors/error-body.js';
import { gatewayError, type GatewayError } from '../errors/gateway-error.js';
import { truncate } from '../errors/user-input.js';
import type { GatewayReply, GatewayRequest } from '../pipeline.js';

/** The `cors` config section, as validated by the config schema. */
export interface CorsConfig {
  /** Exact origins (`https://app.example.com`), or `*` for any origin (not with credentials). */
  readonly allowOrigins: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
}

type Headers = Readonly<Record<string, string>>;

/** The config compiled for the request path: Sets and ready-made header objects. */
export interface CorsPolicy {
  /** `undefined` when `*` allows every origin. */
  readonly origins: ReadonlySet<string> | undefined;
  readonly allowHeaders: ReadonlySet<string>;
  /** Added to every response: `Vary: Origin` when the answer depends on the origin. */
  readonly everyResponse: Headers | undefined;
  /** Per allowed origin (or `*`): the headers of an actual response. */
  readonly actualHeaders: ReadonlyMap<string, Headers>;
  /** Per allowed origin (or `*`): the preflight headers except Allow-Methods. */
  readonly preflightHeaders: ReadonlyMap<string, Headers>;
}

/** What to answer a preflight with. */
export type PreflightDecision =
  | { readonly kind: 'allow'; readonly headers: Headers }
  /** No route answers the path: the pipeline's usual 404 (or 400 for a malformed path). */
  | { readonly kind: 'no-route' }
  | { readonly kind: 'deny'; readonly error: GatewayError };

const ANY = '*';

/** Compiles the config once, at startup. */
export function createCorsPolicy(config: CorsConfig): CorsPolicy {
  const any = config.allowOrigins.includes(ANY);
  const allowHeaders = config.allowHeaders.map((name) => name.toLowerCase());
  const exposeHeaders = config.exposeHeaders.map((name) => name.toLowerCase());
  // With `*` the answer is the same for every origin, so caches need no Vary.
  const vary: Headers | undefined = any ? undefined : { vary: 'Origin' };
  const actualHeaders = new Map<string, Headers>();
  const preflightHeaders = new Map<string, Headers>();
  for (const origin of any ? [ANY] : config.allowOrigins) {
    const common: Record<string, string> = { 'access-control-allow-origin': origin, ...vary };
    if (config.allowCredentials) common['access-control-allow-credentials'] = 'true';
    const actual = { ...common };
    if (exposeHeaders.length > 0) actual['access-control-expose-headers'] = exposeHeaders.join(', ');
    actualHeaders.set(origin, Object.freeze(actual));
    const preflight: Record<string, string> = { ...common, 'access-control-max-age': String(config.maxAgeSeconds) };
    if (allowHeaders.length > 0) preflight['access-control-allow-headers'] = allowHeaders.join(', ');
    preflightHeaders.set(origin, Object.freeze(preflight));
  }
  return {
    origins: any ? undefined : new Set(config.allowOrigins),
    allowHeaders: new Set(allowHeaders),
    everyResponse: vary === undefined ? undefined : Object.freeze(vary),
    actualHeaders,
    preflightHeaders,
  };
}

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (Fetch §3.2.2). */
export function isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
  return method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined;
}

/** The CORS headers of an actual response to `origin`, or `undefined` when it is not allowed. */
export function actualResponseHeaders(policy: CorsPolicy, origin: string | undefined): Headers | undefined {
  if (origin === undefined) return undefined;
  return policy.actualHeaders.get(policy.origins === undefined ? ANY : origin);
}

/**
 * Decides a preflight. `allowedMethods` are the methods the route table answers on the request
 * path (empty when none). Checks in order: origin, route, requested method, requested headers.
 */
export function decidePreflight(
  policy: CorsPolicy,
  headers: IncomingHttpHeaders,
  path: string,
  allowedMethods: readonly string[],
): PreflightDecision {
  const origin = headers.origin ?? '';
  const base = policy.preflightHeaders.get(policy.origins === undefined ? ANY : origin);
  if (base === undefined) {
    return deny('PG_CORS_ORIGIN_DENIED', `origin ${JSON.stringify(truncate(origin, 128))} is not allowed by cors.allowOrigins`);
  }
  if (allowedMethods.length === 0) return { kind: 'no-route' };
  const method = firstValue(headers['access-control-request-method']);
  if (!allowedMethods.includes(method)) {
    return deny(
      'PG_CORS_METHOD_DENIED',
      `${truncate(method, 32)} is not allowed on ${truncate(path, 128)}; allowed: ${allowedMethods.join(', ')}`,
    );
  }
  const requested = firstValue(headers['access-control-request-headers']);
  if (requested !== '') {
    for (const item of requested.split(',')) {
      const name = item.trim().toLowerCase();
      if (name !== '' && !policy.allowHeaders.has(name)) {
        return deny('PG_CORS_HEADER_DENIED', `request header ${JSON.stringify(truncate(name, 64))} is not allowed by cors.allowHeaders`);
      }
    }
  }
  return { kind: 'allow', headers: { ...base, 'access-control-allow-methods': allowedMethods.join(', ') } };
}

function deny(reason: 'PG_CORS_ORIGIN_DENIED' | 'PG_CORS_METHOD_DENIED' | 'PG_CORS_HEADER_DENIED', message: string): PreflightDecision {
  return { kind: 'deny', error: gatewayError(Code.PERMISSION_DENIED, reason, message) };
}

function firstValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** The route table as CORS needs it: the methods answered on a raw request path. */
export interface RouteMethods {
  allowedMethods(path: string): readonly string[];
}

/**
 * Wraps the pipeline's `handle`: preflights are answered here and never reach a backend; actual
 * responses (errors included, so browsers can read error bodies) get the CORS headers of an
 * allowed origin.
 *
 * Actual requests from origins that are not allowed are still served, only without CORS headers:
 * the browser then refuses the page the response. Refusing them here would add nothing — the
 * browser sends a non-simple request only after a successful preflight, same-origin requests
 * carry `Origin` too (and the gateway cannot know its own public origin behind a proxy), and
 * non-browser clients are not bound by CORS at all. Protection against cross-site simple
 * requests is authentication's job, not CORS's.
 */
export function withCors(
  handle: (request: GatewayRequest) => Promise<GatewayReply>,
  policy: CorsPolicy,
  routes: RouteMethods,
  errorFormat: ErrorFormat,
): (request: GatewayRequest) => Promise<GatewayReply> {
  const every = policy.everyResponse;
  return async (request) => {
    if (isPreflight(request.method, request.headers)) {
      const reply = await preflightReply(request, handle, policy, routes, errorFormat);
      if (every !== undefined) Object.assign(reply.headers, every);
      return reply;
    }
    const reply = await handle(request);
    const cors = actualResponseHeaders(policy, request.headers.origin) ?? every;
    if (cors !== undefined) Object.assign(reply.headers, cors);
    return reply;
  };
}

async function preflightReply(
  request: GatewayRequest,
  handle: (request: GatewayRequest) => Promise<GatewayReply>,
  policy: CorsPolicy,
  routes: RouteMethods,
  errorFormat: ErrorFormat,
): Promise<GatewayReply> {
  const queryAt = request.url.indexOf('?');
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const decision = decidePreflight(policy, request.headers, path, routes.allowedMethods(path));
  switch (decision.kind) {
    case 'allow':
      return { statusCode: 204, headers: { ...decision.headers }, body: '' };
    case 'no-route':
      // No route for any method on this path, so the pipeline answers OPTIONS with its usual
      // 404 (or 400 for a malformed path) without calling a backend.
      return handle(request);
    case 'deny': {
      const rendered = renderError(decision.error, errorFormat);
      return { statusCode: rendered.statusCode, headers: { ...rendered.headers }, body: rendered.body, error: decision.error };
    }
  }
}

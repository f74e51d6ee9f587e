// The gateway model: what the build step produces and the runtime serves. It is plain data
// (JSON-serialisable), so `generate` can write it to disk and `serve --generated` read it back.
import type protobuf from 'protobufjs';

/** One HTTP binding of one rpc (the primary rule or an additional binding). */
export interface RouteSpec {
  /** `Service_Method`, suffixed `_1`, `_2`… for additional bindings; unique in a model. */
  readonly operationId: string;
  /** Fully-qualified service name, e.g. `library.v1.LibraryService`. */
  readonly service: string;
  readonly method: string;
  /** The gRPC path, `/library.v1.LibraryService/GetBook`. */
  readonly grpcPath: string;
  /** Upper-case HTTP method (`GET`, …, or a custom kind). */
  readonly httpMethod: string;
  /** The path template as written in the rule. */
  readonly template: string;
  /** `''` (no body), `'*'`, or a top-level request field name. */
  readonly body: string;
  /** `''` (whole response) or a top-level response field name. */
  readonly responseBody: string;
  /** Fully-qualified message names, without a leading dot. */
  readonly requestType: string;
  readonly responseType: string;
  readonly clientStreaming: boolean;
  readonly serverStreaming: boolean;
  /** Upstream deadline from `(protogate.v1.policy).timeout` (method, else service), if set. */
  readonly timeoutMs: number | undefined;
  /** Marked idempotent in `(protogate.v1.policy)`; GET is idempotent anyway. */
  readonly idempotent: boolean;
  /**
   * `(protogate.v1.policy).auth` of the method, else `(protogate.v1.service_policy).auth` of its
   * service (the method's message replaces the service's whole); absent when neither sets one.
   */
  readonly auth?: RouteAuthSpec;
  /**
   * `(protogate.v1.policy).rate_limit` of the method, else `(protogate.v1.service_policy).rate_limit`
   * of its service; absent when neither sets one (the config's `rateLimit` may still limit the route).
   */
  readonly rateLimit?: RouteRateLimitSpec;
  /** 0 for the primary rule, n for the n-th additional binding. */
  readonly bindingIndex: number;
  /** Where the rule is declared (file relative to its import root), for messages and docs. */
  readonly source: { readonly file: string; readonly line: number; readonly col: number };
}

/** Authentication scheme names, as `(protogate.v1.policy).auth.schemes` writes them. */
export const AUTH_SCHEMES = ['jwt', 'api-key'] as const;

/** Who may call a route, as the proto annotation says (src/policy/authenticate.ts enforces it). */
export interface RouteAuthSpec {
  /** Anyone may call; no credentials are checked. */
  readonly public: boolean;
  /** Scopes the caller's credential must all carry. */
  readonly scopes: readonly string[];
  /** Roles of which the caller must hold at least one; absent or empty: no role is needed. */
  readonly roles?: readonly string[];
  /** Schemes accepted (`jwt`, `api-key`); absent or empty: every configured scheme. */
  readonly schemes?: readonly string[];
}

/** What a rate limit counts per: the authenticated principal (else the client IP), or the client IP. */
export const RATE_LIMIT_KEYS = ['principal', 'ip'] as const;
export type RateLimitKey = (typeof RATE_LIMIT_KEYS)[number];

/** A rate-limit window is a whole number of seconds, at least one: the RateLimit headers count in seconds. */
export function isRateLimitWindow(ms: number | undefined): ms is number {
  return ms !== undefined && ms >= 1000 && ms % 1000 === 0;
}

/** A rate limit (src/policy/rate-limit.ts enforces it): `requests` per `perMs` for each distinct `key`. */
export interface RouteRateLimitSpec {
  /** Calls allowed per window (the bucket's size), at least 1. */
  readonly requests: number;
  /** The window in milliseconds, a whole number of seconds. */
  readonly perMs: number;
  readonly key: RateLimitKey;
}

/** Everything the runtime needs: the routes and the message descriptors. */
export interface GatewayModel {
  readonly formatVersion: 1;
  readonly routes: readonly RouteSpec[];
  /** protobufjs JSON descriptor of every loaded type (`Root#toJSON()`). */
  readonly descriptor: protobuf.INamespace;
}

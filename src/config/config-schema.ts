// The one config schema (protogate.yaml) with its defaults; the TypeScript type is derived
// from it. Unknown keys are errors. CLI flags override these values.
import { z } from 'zod';
import { parseIpRange } from '../policy/ip-ranges.js';
import { AUTH_SCHEMES, RATE_LIMIT_KEYS, isRateLimitWindow } from '../gateway-model.js';
import { parseDurationMs } from './duration.js';

const duration = z.string().refine((text) => (parseDurationMs(text) ?? 0) > 0, {
  message: 'must be a positive duration such as "15s", "1.5s" or "500ms"',
});
/** HOST:PORT of an upstream (IPv6 in brackets); the CLI checks --upstream with it too. */
export const HOST_PORT_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
/** A fully-qualified gRPC service name, or `*`. */
export const SERVICE_PATTERN = /^(\*|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)$/;
const hostPort = z.string().regex(HOST_PORT_PATTERN, 'must be HOST:PORT, e.g. 127.0.0.1:50051');
const port = z.number().int().min(0).max(65535);
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'+.^_`|~-]+$/, 'must be one header name; CORS has no wildcards or prefixes, so list grpc-metadata-* headers one by one');
/** A header a fallback answer may set: the HTTP adapter owns framing and the body's type. */
const fallbackHeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'+.^_`|~-]+$/, 'must be one header name')
  .refine((name) => !['content-type', 'content-length', 'transfer-encoding', 'connection', 'x-protogate-fallback'].includes(name.toLowerCase()), 'is set by the gateway itself');
const origin = z
  .string()
  .regex(
    /^(\*|[a-z][a-z0-9+.-]*:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?)$/,
    'must be an origin as browsers send it, e.g. "https://app.example.com" or "http://localhost:3000" (lowercase, no path or trailing slash), or "*"',
  );
/** JWS algorithms jose verifies; "none" is never one of them. */
const JWS_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const jwsAlgorithm = z.string().superRefine((alg, ctx) => {
  if (alg.toLowerCase() === 'none') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'is "none", which would accept unsigned tokens; list signing algorithms only, e.g. "RS256"' });
  } else if (!(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `is not a supported JWS algorithm; use one of ${JWS_ALGORITHMS.join(', ')}` });
  }
});
/** What a method requires (auth.routes), as `(protogate.v1.policy).auth` writes it in a proto. */
const authRouteRule = z
  .object({
    /** Anyone may call; nothing else may be set then. */
    public: z.boolean().default(false),
    /** Scopes the credential must all carry. */
    scopes: z.array(z.string().regex(/^[\x21-\x7e]+$/, 'must be a scope without spaces')).default([]),
    /** Roles of which the caller must hold one. */
    roles: z.array(z.string().regex(/^[\x21-\x7e]+$/, 'must be a role without spaces')).default([]),
    /** Schemes accepted (jwt, api-key); empty: every configured one. */
    schemes: z.array(z.enum(AUTH_SCHEMES)).default([]),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.public && (rule.scopes.length > 0 || rule.roles.length > 0 || rule.schemes.length > 0)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['public'], message: 'is true together with scopes, roles or schemes; a public method checks none of them' });
    }
  });
/** One API key (auth.apiKeys.keys, or an entry of auth.apiKeys.keysFile). */
export const apiKeyEntry = z
  .object({
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the hex SHA-256 of the key (64 hex digits), e.g. from `printf %s KEY | sha256sum`'),
    principal: z.string().regex(/^[\x20-\x7e]+$/, 'must be printable ASCII'),
    scopes: z.array(z.string().regex(/^[\x21-\x7e]+$/, 'must be a scope without spaces')).default([]),
    /** Roles the key's holder has (the proto's `auth.roles` asks for one of them). */
    roles: z.array(z.string().regex(/^[\x21-\x7e]+$/, 'must be a role without spaces')).default([]),
  })
  .strict();
const metadataName = z.string().regex(/^[a-z0-9_.-]+$/, 'must be a lower-case gRPC metadata name, e.g. "x-user-id"');
/** An IP address or CIDR range (ipFilter, server.trustedProxies). */
const ipRange = z.string().superRefine((text, ctx) => {
  const range = parseIpRange(text);
  if (typeof range === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: range });
});
/** One rate limit, as `(protogate.v1.policy).rate_limit` writes it: `requests` per `per` (whole seconds) per `key`. */
const rateLimitRule = z
  .object({
    /** Calls allowed per window: the bucket's size, so also the largest burst. */
    requests: z.number().int().min(1).max(0xffffffff),
    /** The window, a whole number of seconds ("1s", "60s", "1m"); the bucket refills evenly over it. */
    per: z.string().refine((text) => isRateLimitWindow(parseDurationMs(text)), 'must be a whole number of seconds such as "1s", "60s" or "1m"'),
    /** `principal`: per authenticated caller, anonymous ones per client address; `ip`: per client address always. */
    key: z.enum(RATE_LIMIT_KEYS).default('principal'),
  })
  .strict();
/** A `rateLimit.routes` entry: a limit, or `{unlimited: true}`. */
const rateLimitOverride = z.union([z.object({ unlimited: z.literal(true) }).strict(), rateLimitRule], {
  errorMap: () => ({ message: 'must be a limit like { requests: 100, per: 1m, key: principal }, or { unlimited: true }' }),
});
const urlPath = z.string().regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a URL path such as "/docs" (no trailing slash, query or fragment)');
/** TLS to one upstream, for either transport; absent: plaintext (h2c). */
const upstreamTls = z
  .object({
    /** PEM CA bundle the upstream's certificate must chain to; default: Node's bundled public CAs. */
    caFile: z.string().min(1).optional(),
    /** PEM client certificate, sent for mTLS (with keyFile). */
    certFile: z.string().min(1).optional(),
    /** PEM private key of certFile. */
    keyFile: z.string().min(1).optional(),
    /** The name the upstream's certificate must carry, also sent as SNI; default: the address's host. */
    serverName: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [tls.certFile === undefined ? 'certFile' : 'keyFile'],
        message: 'is missing: a client certificate (mTLS) needs both certFile and keyFile',
      });
    }
  });
/** Where one upstream is: exactly one of target, addresses or dns. */
const upstreamLocation = z
  .object({
    /** One address, HOST:PORT. */
    target: hostPort.optional(),
    /** Several addresses (HOST:PORT each): calls are balanced over them (upstream.balance), with outlier ejection and health checks. */
    addresses: z.array(hostPort).min(1).optional(),
    /** A DNS name as NAME:PORT: its A/AAAA records are the addresses, looked up again every dnsRefresh. */
    dns: hostPort.optional(),
    /** How often `dns` is looked up again (default 30s). */
    dnsRefresh: duration.optional(),
    tls: upstreamTls.optional(),
  })
  .strict();
function oneLocation(entry: z.infer<typeof upstreamLocation>, ctx: z.RefinementCtx): void {
  const given = (['target', 'addresses', 'dns'] as const).filter((key) => entry[key] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      ...(given.length > 1 ? { path: [given[1]!] } : {}),
      message: `${given.length === 0 ? 'needs' : `has ${given.join(' and ')}; give`} exactly one of target ("HOST:PORT"), addresses (["HOST:PORT", …]) or dns ("NAME:PORT")`,
    });
  }
  if (entry.dnsRefresh !== undefined && entry.dns === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['dnsRefresh'], message: 'applies to dns only; remove it or use dns: "NAME:PORT"' });
  }
}
/** One upstream as the gateway uses it (both config forms end up as a list of these). */
export type UpstreamConfig = z.infer<typeof upstreamLocation> & { service: string };
const serviceName = z.string().regex(SERVICE_PATTERN, 'must be a fully-qualified service name or "*"');
/** The list form: `- { service: pkg.Service, target: HOST:PORT }` (or addresses / dns). */
const upstreamList = z.array(
  upstreamLocation
    .extend({
      /** Fully-qualified gRPC service name, or "*" for every service without its own entry. */
      service: serviceName,
    })
    .superRefine(oneLocation),
);
/** The map form: `pkg.Service: HOST:PORT`, `pkg.Service: [HOST:PORT, …]`, or `pkg.Service: { addresses | dns | target, tls }`. */
const upstreamMap = z
  .record(serviceName, z.union([hostPort, z.array(hostPort).min(1), upstreamLocation.superRefine(oneLocation)]))
  .transform((map): UpstreamConfig[] =>
    Object.entries(map).map(([service, where]) =>
      typeof where === 'string' ? { service, target: where } : Array.isArray(where) ? { service, addresses: where } : { ...where, service },
    ),
  );

export const configSchema = z
  .object({
    /** The listening side: addresses, ports, TLS, shutdown, reload and worker processes. */
    server: z
      .object({
        /** Listen address of the main and admin ports. */
        host: z.string().default('0.0.0.0'),
        /** The main (API) port; 0 picks a free one. */
        port: port.default(8080),
        /** Port of /healthz, /readyz and /metrics; off when unset. */
        adminPort: port.optional(),
        /**
         * On SIGTERM/SIGINT the gateway stops accepting and lets requests in flight finish for at
         * most this long (also the longest a reload waits for the old config's requests).
         */
        drainTimeout: duration.default('10s'),
        /**
         * A client must send its whole request head within this long, else it gets 408 and the
         * connection closes (slow-header clients, "slowloris", cannot hold sockets for long).
         * At most `requestTimeout` (a longer one is cut to it).
         */
        headersTimeout: duration.default('10s'),
        /** A client must send its whole request, body included, within this long (slow bodies → 408). */
        requestTimeout: duration.default('30s'),
        /**
         * An idle keep-alive connection is closed after this long without a new request (Node
         * waits about a second more). Longer than the idle timeout of a load balancer in front
         * (60 s is common, e.g. AWS ALB's default), so the balancer, not the gateway, closes idle
         * connections first: a gateway that closes first races the balancer reusing the
         * connection, and the balancer answers that request 502. Default: Fastify's own, 72 s.
         */
        keepAliveTimeout: duration
          // beyond ~24.8 days Node's timers overflow to 1 ms, which would close every idle connection at once
          .refine((text) => (parseDurationMs(text) ?? 0) <= 24 * 3_600_000, { message: 'must be at most "24h"' })
          .default('72s'),
        /** Reload config and protos when the config file changes, as on SIGHUP. */
        watchConfig: z.boolean().default(false),
        /** Worker processes sharing the port (node:cluster), or "auto" for one per core; 1 serves in-process. */
        workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1),
        /**
         * Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed: when the socket
         * peer is one, the client address is the rightmost X-Forwarded-For entry that is not.
         * Empty (default): the socket peer is the client and the header is never read.
         */
        trustedProxies: z.array(ipRange).default([]),
        /** TLS termination on the main port (HTTPS, HTTP/1.1); absent: plain HTTP. */
        tls: z
          .object({
            /** PEM certificate chain. */
            certFile: z.string().min(1),
            /** PEM private key. */
            keyFile: z.string().min(1),
            /** PEM CA bundle that client certificates are verified against (mTLS). */
            caFile: z.string().min(1).optional(),
            /** Refuse clients without a certificate signed by caFile. */
            requireClientCert: z.boolean().default(false),
          })
          .strict()
          .superRefine((tls, ctx) => {
            if (tls.requireClientCert && tls.caFile === undefined) {
              ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['requireClientCert'], message: 'needs caFile, the CA that signs the client certificates' });
            }
          })
          .optional(),
      })
      .strict()
      .default({}),
    /** The protos whose google.api.http rules are served (like `--proto-path`/`--proto`), or generated output. */
    protos: z
      .object({
        /** Import roots, in order (like protoc -I). */
        paths: z.array(z.string()).default([]),
        /** Files whose services are served. */
        files: z.array(z.string()).default([]),
        /** Output of `protogate generate`, instead of paths/files. */
        generated: z.string().optional(),
      })
      .strict()
      .default({}),
    /**
     * The gRPC services' addresses, as a list of `{ service, target | addresses | dns, tls }` or a
     * map from service ("pkg.Service", or "*" for every service without its own entry) to
     * "HOST:PORT", ["HOST:PORT", …] or `{ addresses | dns | target, tls }`.
     */
    upstreams: z.union([upstreamList, upstreamMap]).default([]),
    /** How the gateway talks gRPC to every upstream: client, channels, balancing, health. */
    upstream: z
      .object({
        /**
         * The gRPC client: `wire`, protogate's own HTTP/2 client on a plain or TLS socket (about a
         * quarter of http2's CPU per unary call; server and client streams go through http2),
         * `http2`, protogate's lean client on node:http2 (about half grpc-js's CPU per call), or
         * `grpc-js` (@grpc/grpc-js).
         */
        transport: z.enum(['http2', 'grpc-js', 'wire']).default('wire'),
        /**
         * gRPC channels (HTTP/2 connections) per upstream target. One is cheapest in CPU per call
         * (measured: a second connection halves write batching); more help a multi-core backend.
         */
        channels: z.number().int().min(1).max(64).default(1),
        maxResponseBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
        /** HTTP/2 PING on every upstream connection this often, so a dead connection is noticed while idle; off when unset. */
        keepaliveInterval: duration.optional(),
        /** How calls are spread over an upstream's addresses: `round-robin`, or `least-outstanding` (the less busy of two random addresses). */
        balance: z.enum(['round-robin', 'least-outstanding']).default('round-robin'),
        /** Passive outlier ejection: an address answering UNAVAILABLE (or unreachable) too often in a row leaves the rotation for a while. */
        outlierDetection: z
          .object({
            enabled: z.boolean().default(true),
            /** UNAVAILABLE results in a row from one address that eject it. */
            consecutiveFailures: z.number().int().min(1).max(1000).default(5),
            /** The first ejection lasts this long, the n-th in a row n times as long… */
            baseEjectionTime: duration.default('30s'),
            /** …but never longer than this. */
            maxEjectionTime: duration.default('5m'),
            /** At most this share of an upstream's addresses is ejected at once; at least one address always stays. */
            maxEjectedPercent: z.number().int().min(1).max(100).default(50),
          })
          .strict()
          .default({}),
        /** Active health checks (grpc.health.v1.Health/Check) of every address; a failing address leaves the rotation. */
        healthCheck: z
          .object({
            enabled: z.boolean().default(false),
            interval: duration.default('5s'),
            /** Deadline of one check. */
            timeout: duration.default('1s'),
            /** Failed checks in a row that take an address out of rotation. */
            unhealthyThreshold: z.number().int().min(1).max(100).default(3),
            /** Passed checks in a row that bring it back. */
            healthyThreshold: z.number().int().min(1).max(100).default(2),
            /** HealthCheckRequest.service; "" asks about the whole server. */
            service: z.string().default(''),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    /** Circuit breaker and retries per upstream target (src/upstream/resilient-transport.ts). */
    resilience: z
      .object({
        breaker: z
          .object({
            enabled: z.boolean().default(true),
            /** Consecutive UNAVAILABLE / DEADLINE_EXCEEDED results that open the breaker. */
            failureThreshold: z.number().int().min(1).max(1000).default(5),
            /** How long an open breaker answers 503 before letting one probe through. */
            cooldown: duration.default('5s'),
            /** Also open when this share of the calls failed over the window; absent: consecutive failures only. */
            failureRatio: z
              .object({
                /** Share of failed calls (UNAVAILABLE / DEADLINE_EXCEEDED) that opens the breaker, e.g. 0.5. */
                ratio: z.number().gt(0).max(1),
                /** The sliding window the share is measured over. */
                window: duration.default('10s'),
                /** Fewer calls than this in the window never open the breaker. */
                minRequests: z.number().int().min(1).default(20),
              })
              .strict()
              .optional(),
          })
          .strict()
          .default({}),
        retry: z
          .object({
            /** Retries per idempotent call (GET, or marked idempotent); 0 turns retries off. */
            maxRetries: z.number().int().min(0).max(10).default(2),
            /** Also retry DEADLINE_EXCEEDED answers (UNAVAILABLE always is). */
            onDeadlineExceeded: z.boolean().default(false),
            /** Exponential backoff with full jitter between these bounds. */
            baseDelay: duration.default('25ms'),
            maxDelay: duration.default('250ms'),
            /** Retries may be at most this share of the requests over the last 10 s… */
            budgetRatio: z.number().min(0).max(1).default(0.2),
            /** …but always at least this many per second. */
            budgetMinPerSecond: z.number().min(0).default(3),
          })
          .strict()
          .default({}),
        /**
         * Graceful degradation (src/policy/stale-cache.ts): the last 200 answer of each GET URL (per
         * principal on routes that need auth) is kept, and served with `Age` and `Cache-Status` when
         * the upstream answers UNAVAILABLE or DEADLINE_EXCEEDED (breaker open, no address, outage).
         */
        staleCache: z
          .object({
            enabled: z.boolean().default(false),
            /** URLs kept; the least recently used go first. */
            maxEntries: z.number().int().min(1).default(1000),
            /** A larger answer is not kept. */
            maxBodyBytes: z.number().int().min(1).default(256 * 1024),
            /** All kept answers together; the least recently used go first. */
            maxTotalBytes: z.number().int().min(1).default(64 * 1024 * 1024),
            /** An answer older than this is never served (a client's `Cache-Control: max-stale=N` may ask for less). */
            maxStale: duration.default('5m'),
          })
          .strict()
          .default({}),
        /**
         * Last resort (src/policy/static-fallback.ts): per route — by operationId, or a
         * fully-qualified service name for its unary routes — a fixed answer served when the
         * upstream is out (its breaker is open, or no address is in rotation) and the stale cache
         * has none for the URL. Marked `x-protogate-fallback: static`; checked at startup.
         */
        fallbacks: z
          .record(
            z.string(),
            z
              .object({
                /** The HTTP status of the answer. */
                status: z.number().int().min(200).max(299).refine((status) => status !== 204 && status !== 205, 'must be a status that carries a body (not 204 or 205)').default(200),
                /** The rpc's whole response message as proto3 JSON (`response_body` and `$fields` apply as to a real answer); absent: the empty message. */
                body: z.unknown().optional(),
                /** Response headers; `cache-control` defaults to `no-store`. */
                headers: z.record(fallbackHeaderName, z.string()).default({}),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .default({}),
    /**
     * A weak ETag (SHA-256 of the body: 1–3 µs for a 1 KiB answer) on every 200 answer of a GET
     * route, and 304 Not Modified when If-None-Match names it.
     */
    etag: z.boolean().default(true),
    /** Upstream deadlines (a client's grpc-timeout header can only shorten them). */
    timeouts: z
      .object({
        /** Upstream deadline when neither the rpc's proto option nor `services` sets one. */
        default: duration.default('15s'),
        /** Per-service deadlines, by fully-qualified service name. */
        services: z.record(z.string(), duration).default({}),
        /**
         * Deadline of a server-streaming call when its rpc's proto option sets none (`default` and
         * `services` are for unary calls). Every call keeps a deadline (DESIGN §5), but watches are
         * long-lived: an hour bounds a forgotten stream while an SSE client reconnects on its own.
         */
        stream: duration.default('1h'),
      })
      .strict()
      .default({}),
    /** Server streams, sent as NDJSON or Server-Sent Events by Accept: SSE heartbeats and event ids. */
    streaming: z
      .object({
        /** SSE comment (`: ping`) sent on a stream idle this long, so proxies keep the connection. */
        sseHeartbeat: duration.default('15s'),
        /**
         * Per server-streaming rpc (`pkg.Service/Method`), a top-level field of its response
         * message whose value becomes each SSE event's `id:` (so `Last-Event-ID` can resume).
         */
        sseIdFields: z.record(z.string().regex(/^[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/, 'must be an rpc as pkg.Service/Method'), z.string().min(1)).default({}),
      })
      .strict()
      .default({}),
    /** The proto3 JSON mapping: strictness, defaults and bounds of request bodies. */
    json: z
      .object({
        /** `reject` (default): unknown JSON fields are a 400; `ignore`: they are dropped. */
        unknownFields: z.enum(['reject', 'ignore']).default('reject'),
        /** Emit fields at their default values (browser clients get every key). */
        emitDefaults: z.boolean().default(true),
        maxDepth: z.number().int().min(1).max(1000).default(64),
        /** Object members plus array elements in one request body, counted across the document. */
        maxFields: z.number().int().min(1).default(100_000),
      })
      .strict()
      .default({}),
    /** The shape of error bodies (always google.rpc.Status content). */
    errors: z
      .object({
        /** `status`: {code,status,message,details}; `google`: {"error":{…}} as Google's APIs answer. */
        format: z.enum(['status', 'google']).default('status'),
      })
      .strict()
      .default({}),
    /** Bounds on what a request may be; beyond them it is refused (413, 431, 414, 400). */
    limits: z
      .object({
        maxBodyBytes: z.number().int().min(1).default(1024 * 1024),
        maxHeaderBytes: z.number().int().min(1024).default(16 * 1024),
        maxUrlBytes: z.number().int().min(64).default(8 * 1024),
        /** Query parameters in one request (`a=1&b=2` is two); more → 400. */
        maxQueryParams: z.number().int().min(1).default(1000),
      })
      .strict()
      .default({}),
    /**
     * Overload protection: while the event loop lags or the heap is over a threshold, requests
     * are answered 503 UNAVAILABLE with Retry-After at once instead of queueing; absent: off.
     */
    overload: z
      .object({
        /** Event-loop delay (99th percentile, sampled every 250 ms) above which requests are shed. */
        maxEventLoopDelayMs: z.number().int().min(1).optional(),
        /** V8 heap in use above which requests are shed. */
        maxHeapUsedBytes: z.number().int().min(16 * 1024 * 1024).optional(),
        /** Retry-After of a shed request, in seconds. */
        retryAfterSeconds: z.number().int().min(1).max(3600).default(1),
      })
      .strict()
      .superRefine((overload, ctx) => {
        if (overload.maxEventLoopDelayMs === undefined && overload.maxHeapUsedBytes === undefined) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs maxEventLoopDelayMs or maxHeapUsedBytes (or remove the key to turn overload protection off)' });
        }
      })
      .optional(),
    /** Which request headers travel to the upstream as gRPC metadata. */
    metadata: z
      .object({
        /** Request headers forwarded as metadata besides x-request-id, traceparent, tracestate, grpc-metadata-*. */
        forwardHeaders: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a header name')).default([]),
      })
      .strict()
      .default({}),
    /** The OpenAPI document and the Swagger UI page on the main port. */
    docs: z
      .object({
        /** Serve the OpenAPI document and the interactive docs page (Swagger UI, self-hosted). */
        enabled: z.boolean().default(true),
        /** The docs page; its assets are served under it. */
        path: urlPath.default('/docs'),
        /** The document, without extension: `<openapiPath>.json` and `<openapiPath>.yaml`. */
        openapiPath: urlPath.default('/openapi'),
      })
      .strict()
      .default({}),
    /** CORS for browser clients on other origins (src/policy/cors.ts); absent: no CORS headers at all. */
    cors: z
      .object({
        /** Exact origins, or "*" for any origin (not with allowCredentials). */
        allowOrigins: z.array(origin).min(1),
        /** Request headers a preflight may ask for. */
        allowHeaders: z.array(headerName).default(['content-type', 'authorization', 'x-request-id', 'grpc-timeout', 'traceparent']),
        /** Response headers the page may read besides the CORS-safelisted ones (by default the request id and the rate-limit headers). */
        exposeHeaders: z
          .array(headerName)
          .default(['x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy', 'retry-after']),
        allowCredentials: z.boolean().default(false),
        /** How long browsers may cache a preflight answer. */
        maxAgeSeconds: z.number().int().min(0).max(86400).default(600),
      })
      .strict()
      .superRefine((cors, ctx) => {
        const any = cors.allowOrigins.indexOf('*');
        if (cors.allowCredentials && any >= 0) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['allowOrigins', any],
            message: 'is "*", which browsers refuse together with allowCredentials: true; list the origins instead',
          });
        }
      })
      .optional(),
    /** Authentication and authorization (src/policy/authenticate.ts); absent: every route is public. */
    auth: z
      .object({
        /** JWT bearer tokens (`Authorization: Bearer …`), verified with an HS256 secret and/or a JWKS (local file or URL). */
        jwt: z
          .object({
            /** Shared secret for HS256/384/512 tokens (at least 32 characters). */
            secret: z.string().min(32, 'must be at least 32 characters (256 bits) for HS256').optional(),
            /** A local JWKS file (`{"keys": […]}`) with the public keys for RS/PS/ES/EdDSA tokens. */
            jwksFile: z.string().min(1).optional(),
            /**
             * The identity provider's JWKS URL (http or https), instead of jwksFile. Fetched at startup
             * (the gateway starts even if it is down), cached, refreshed after jwksMaxAge; a failed
             * refresh keeps the last good keys. Tokens meet 503 only while no keys were ever fetched.
             */
            jwksUrl: z
              .string()
              .url('must be an absolute http(s) URL, e.g. "https://idp.example.com/.well-known/jwks.json"')
              .refine((url) => /^https?:\/\//i.test(url), 'must be an http:// or https:// URL')
              .optional(),
            /** How long fetched keys count as fresh; the first token after that triggers a background refresh. */
            jwksMaxAge: duration.default('10m'),
            /** Least time between two fetches, so tokens with unknown `kid`s cannot make the gateway hammer the IdP. */
            jwksCooldown: duration.default('30s'),
            /** Bound on one JWKS fetch. */
            jwksFetchTimeout: duration.default('5s'),
            /** Required `iss`. */
            issuer: z.string().min(1).optional(),
            /** Accepted `aud` (one of them must be in the token). */
            audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
            /** Allowed `alg`s; default: RS256 and ES256 with jwksFile, HS256 with secret. Never "none". */
            algorithms: z.array(jwsAlgorithm).min(1).optional(),
            /** Leeway for `exp` and `nbf`. */
            clockSkewSeconds: z.number().int().min(0).max(600).default(30),
            /** Claim holding the principal. */
            subjectClaim: z.string().min(1).default('sub'),
            /** Claim holding the scopes: a space-separated string or an array of strings. */
            scopesClaim: z.string().min(1).default('scope'),
            /** Claim holding the roles (checked against the proto's `auth.roles`): a space-separated string or an array of strings. */
            rolesClaim: z.string().min(1).default('roles'),
          })
          .strict()
          .superRefine((jwt, ctx) => {
            if (jwt.secret === undefined && jwt.jwksFile === undefined && jwt.jwksUrl === undefined) {
              ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs a key: set secret (HS256), jwksFile or jwksUrl' });
            }
            if (jwt.jwksFile !== undefined && jwt.jwksUrl !== undefined) {
              ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['jwksUrl'], message: 'is set together with jwksFile; keep one key set (the URL, or the file)' });
            }
            const publicKeys = jwt.jwksFile !== undefined || jwt.jwksUrl !== undefined;
            jwt.algorithms?.forEach((alg, i) => {
              const symmetric = alg.startsWith('HS');
              if (symmetric ? jwt.secret === undefined : !publicKeys) {
                ctx.addIssue({
                  code: z.ZodIssueCode.custom,
                  path: ['algorithms', i],
                  message: `is "${alg}", which needs ${symmetric ? 'a secret' : 'a jwksFile or jwksUrl'} that is not configured`,
                });
              }
            });
          })
          .optional(),
        /** API keys, stored as the hex SHA-256 of the key, inline and/or in a file. */
        apiKeys: z
          .object({
            header: headerName.default('x-api-key'),
            /**
             * Also accept the key as this query parameter (e.g. "api_key"), for clients that cannot
             * set headers. The gateway removes it before query binding, so no request field may have
             * this name; it is never logged. Off when unset.
             */
            query: z.string().regex(/^[A-Za-z0-9_.~-]+$/, 'must be a plain query parameter name, e.g. "api_key"').optional(),
            keys: z.array(apiKeyEntry).default([]),
            /** A YAML or JSON file with a list of entries shaped like `keys` (read at startup). */
            keysFile: z.string().min(1).optional(),
          })
          .strict()
          .superRefine((apiKeys, ctx) => {
            if (apiKeys.keys.length === 0 && apiKeys.keysFile === undefined) {
              ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['keys'], message: 'is empty and no keysFile is set; list at least one key, or set keysFile' });
            }
          })
          .optional(),
        /**
         * Forward the verified `Authorization` header to the backend as metadata `authorization`
         * (JWT requests only). Off: the backend never sees a token, only the identity metadata.
         */
        forwardToken: z.boolean().default(false),
        /** For routes whose protos set no `auth`: `public` (anyone) or `authenticated` (any valid credential). */
        defaultPolicy: z.enum(['public', 'authenticated']).default('public'),
        /**
         * Requirements of methods whose protos set no `auth`, by operationId (e.g.
         * "LibraryService_DeleteShelf", which covers its additional bindings too) or by
         * fully-qualified service name. A proto annotation wins; then the operationId, the
         * service, and defaultPolicy.
         */
        routes: z.record(z.string(), authRouteRule).default({}),
        /** Metadata names the verified identity is sent under; the same names from clients are always dropped. */
        identityHeaders: z
          .object({ subject: metadataName.default('x-user-id'), scopes: metadataName.default('x-user-scopes'), roles: metadataName.default('x-user-roles') })
          .strict()
          .default({}),
      })
      .strict()
      .superRefine((auth, ctx) => {
        if (auth.jwt === undefined && auth.apiKeys === undefined) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs at least one scheme: jwt or apiKeys' });
        }
        for (const [name, rule] of Object.entries(auth.routes)) {
          rule.schemes.forEach((scheme, i) => {
            if ((scheme === 'jwt' ? auth.jwt : auth.apiKeys) === undefined) {
              ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ['routes', name, 'schemes', i],
                message: `is "${scheme}", which is not configured; add auth.${scheme === 'jwt' ? 'jwt' : 'apiKeys'} or remove it`,
              });
            }
          });
        }
      })
      .optional(),
    /** IP allow/deny lists (src/policy/ip-filter.ts), checked before routing; absent: every address is served. */
    ipFilter: z
      .object({
        /** When not empty, only these addresses/CIDR ranges are served. */
        allow: z.array(ipRange).default([]),
        /** Never served; wins over allow. */
        deny: z.array(ipRange).default([]),
      })
      .strict()
      .optional(),
    /** Response compression (src/server/response-compression.ts) as the client's Accept-Encoding allows. */
    compression: z
      .object({
        enabled: z.boolean().default(true),
        /** Smaller bodies are sent as they are (compression would gain little and cost CPU). */
        minBytes: z.number().int().min(0).default(1024),
        /** Codings offered, preferred first when the client weighs them equally. */
        encodings: z.array(z.enum(['br', 'gzip'])).default(['br', 'gzip']),
        /** Brotli quality 0–11; 11 (brotli's default) is far too slow for per-response work. */
        brotliQuality: z.number().int().min(0).max(11).default(4),
        /** gzip level 1–9. */
        gzipLevel: z.number().int().min(1).max(9).default(6),
      })
      .strict()
      .default({}),
    /**
     * Rate limits (src/policy/rate-limit.ts): token buckets (GCRA) per route and caller. A route's
     * limit is its proto's `rate_limit` (method, else service), else `routes` here (operationId,
     * else service name), else `default`; routes left without one cost nothing.
     */
    rateLimit: z
      .object({
        /** Where budgets live: `memory` (this process) or `redis` (shared by every instance using the same Redis and keyPrefix). */
        store: z.enum(['memory', 'redis']).default('memory'),
        /** The memory store (`store: memory`). */
        memory: z
          .object({
            /** Buckets kept at most; past it the least recently used is dropped (its caller starts afresh). */
            maxKeys: z.number().int().min(100).default(100_000),
          })
          .strict()
          .default({}),
        /** The Redis store (`store: redis`). */
        redis: z
          .object({
            /** The Redis to share budgets in; `rediss://` for TLS, `redis://:password@host:port/db` for a password and database. */
            url: z
              .string()
              .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL, e.g. "redis://127.0.0.1:6379" (or "redis://:password@host:6379/0")')
              .default('redis://127.0.0.1:6379'),
            /** Prefix of every key the gateway writes; instances with the same prefix share budgets. */
            keyPrefix: z.string().max(200).default('protogate:rl:'),
            /** How long startup waits for the first connection (the gateway starts either way). */
            connectTimeout: duration.default('2s'),
            /** Bound on one rate-limit check; a slower or hung Redis counts as a store failure. */
            commandTimeout: duration.default('250ms'),
          })
          .strict()
          .default({}),
        /** When the store fails: `open` lets requests through (a warning is logged at most every 10 s), `closed` answers 503. */
        onStoreFailure: z.enum(['open', 'closed']).default('open'),
        /** The limit of routes that get none from their proto or from `routes`; absent: those routes are unlimited. */
        default: rateLimitRule.optional(),
        /** Limits by operationId (e.g. `LibraryService_GetBook`) or service name; `{unlimited: true}` exempts from `default`. */
        routes: z.record(z.string(), rateLimitOverride).default({}),
      })
      .strict()
      .default({}),
    /** pino JSON logs on stdout (compact lines on a terminal). */
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** One JSON line per request. */
        access: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /**
     * OpenTelemetry tracing (src/observability/tracing.ts): a SERVER span per request and a CLIENT
     * span per upstream call, exported over OTLP/HTTP (JSON). The client's `traceparent` is
     * continued, and the backend gets the CLIENT span's. Off: trace headers pass through unchanged.
     */
    tracing: z
      .object({
        /** Record and export spans; off: the OpenTelemetry SDK is never loaded. */
        enabled: z.boolean().default(false),
        /** The `service.name` resource attribute of every span. */
        serviceName: z.string().min(1).default('protogate'),
        /** The OTLP/HTTP traces endpoint (a collector's `/v1/traces`). */
        otlpEndpoint: z
          .string()
          .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http:// or https:// URL, e.g. "http://127.0.0.1:4318/v1/traces"')
          .default('http://127.0.0.1:4318/v1/traces'),
        /**
         * Share of new traces recorded, 0–1. Parent-based: a request whose `traceparent` says
         * sampled (or not) is recorded (or not) whatever the ratio.
         */
        sampleRatio: z.number().min(0).max(1).default(1),
        /** Extra HTTP headers on every export (e.g. a collector's API key). */
        headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'), z.string()).default({}),
      })
      .strict()
      .default({}),
  })
  .strict();

/** The validated, defaulted configuration. */
export type GatewayConfig = z.infer<typeof configSchema>;
/** The configuration as written in the file (everything optional). */
export type GatewayConfigInput = z.input<typeof configSchema>;

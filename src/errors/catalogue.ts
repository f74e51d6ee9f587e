// The catalogue of stable reason codes carried in error bodies (`ErrorInfo.reason`).
// Clients and dashboards key on these; a test keeps this list and the code in sync.

/** Every reason code the gateway produces, with what it means. */
export const reasons = {
  PG_ROUTE_NOT_FOUND: 'No HTTP rule matches the request path.',
  PG_METHOD_NOT_ALLOWED: 'The path matches an HTTP rule, but not for this HTTP method (see the Allow header).',
  PG_BAD_PATH: 'The request path is malformed (bad percent-encoding or a bad segment).',
  PG_UNKNOWN_QUERY_PARAM: 'A query parameter names no field of the request message.',
  PG_BAD_QUERY_PARAM: 'A query parameter value cannot be converted to its field type.',
  PG_BAD_JSON: 'The request body is not valid JSON (syntax, encoding, depth, field count or duplicate keys).',
  PG_BAD_FIELD_VALUE: 'A JSON value has the wrong type or is out of range for its field.',
  PG_UNKNOWN_FIELD: 'The JSON body names a field the message does not have.',
  PG_ONEOF_CONFLICT: 'More than one member of a oneof was set.',
  PG_UNSUPPORTED_MEDIA_TYPE: 'The request body is not application/json.',
  PG_BODY_TOO_LARGE: 'The request body exceeds the configured limit.',
  PG_HEADERS_TOO_LARGE: 'The request headers exceed the limit.',
  PG_URI_TOO_LONG: 'The request URL exceeds the limit.',
  PG_MALFORMED_REQUEST: 'The HTTP request could not be parsed.',
  PG_TOO_MANY_QUERY_PARAMS: 'The query string has more parameters than limits.maxQueryParams allows (400).',
  PG_UNSUPPORTED_CONTENT_ENCODING: 'The request body has a Content-Encoding other than gzip, deflate or br, or more than two codings (415, see Accept-Encoding).',
  PG_BAD_CONTENT_ENCODING: 'The request body is not valid data of its Content-Encoding (corrupt or truncated gzip, deflate or br).',
  PG_IP_DENIED: 'The client address is in ipFilter.deny, or not in a non-empty ipFilter.allow (403).',
  PG_CORS_ORIGIN_DENIED: 'A CORS preflight came from an origin that cors.allowOrigins does not list (403).',
  PG_CORS_METHOD_DENIED: 'A CORS preflight asked for a method no route answers on the path (403).',
  PG_CORS_HEADER_DENIED: 'A CORS preflight asked for a request header that cors.allowHeaders does not list (403).',
  PG_BAD_HEADER: 'A request header has a value the gateway cannot accept (e.g. a malformed grpc-timeout).',
  PG_UNAUTHENTICATED: 'The method requires authentication and the request carried no credential (401, see WWW-Authenticate).',
  PG_INVALID_TOKEN: 'The bearer token is malformed, expired, not yet valid, wrongly signed or for another issuer or audience (401).',
  PG_INVALID_API_KEY: 'The API key matches no configured key (401).',
  PG_MISSING_SCOPE: 'The credential is valid but lacks a scope the method requires (403).',
  PG_MISSING_ROLE: 'The credential is valid but holds none of the roles the method accepts (403).',
  PG_SCHEME_NOT_ACCEPTED: "The request carried a credential of a scheme the method's auth.schemes does not accept (401, the message names the accepted ones).",
  PG_AUTH_UNAVAILABLE: "Bearer tokens cannot be verified: the identity provider's JWKS has not been fetched yet (503 with Retry-After).",
  PG_RATE_LIMITED: "The caller used up the route's rate limit (429 with Retry-After, RateLimit-* headers and a google.rpc.RetryInfo detail).",
  PG_RATE_LIMIT_STORE_UNAVAILABLE: 'The rate-limit store (Redis) failed and rateLimit.onStoreFailure is "closed" (503 with Retry-After).',
  PG_UPSTREAM_UNAVAILABLE: 'The upstream service could not be reached.',
  PG_UPSTREAM_TIMEOUT: 'The upstream call did not finish before its deadline.',
  PG_UPSTREAM_ERROR: 'The upstream service answered with an error status.',
  PG_UPSTREAM_BAD_RESPONSE: 'The upstream response could not be decoded.',
  PG_NO_UPSTREAM: 'No upstream is configured for the service.',
  PG_STREAMING_NOT_SUPPORTED: 'The method is client-streaming; those are not served yet (501). Server streams are served.',
  PG_SHUTTING_DOWN: 'The gateway is shutting down: the last record of a server stream it ended (reconnect to resume).',
  PG_CLIENT_CLOSED: 'The client closed the request before the answer was ready.',
  PG_INTERNAL: 'An unexpected error inside the gateway (details are in the log, keyed by request id).',
} as const;

/** A reason code from the catalogue. */
export type Reason = keyof typeof reasons;

// The gRPC status of a call on the wire transport, from what arrived on its stream: the same
// rules, texts and metadata shape as the node:http2 transport (http2-call.ts `streamStatus`,
// `nonGrpcResponse`), so a UnaryResult does not depend on which client produced it.
import { Code } from '../../errors/codes.js';
import { codeForHttpStatus, statusOfHeaderBlock } from '../http2-metadata.js';
import type { CallFailure, StreamStatus } from '../transport.js';
import { localFailure } from '../unary-call.js';
import { ErrorCode } from './frames.js';

/** Decoded response headers or trailers, shaped as node:http2's IncomingHttpHeaders. */
export type HeaderMap = Record<string, string | string[]>;

// node:http2 (lib/internal/http2/util.js) keeps the first value of these and joins repeats of
// any other name with ', ' (set-cookie: an array; cookie: '; '). Done the same way here.
const singleValueNames: ReadonlySet<string> = new Set([
  ':status', ':method', ':authority', ':scheme', ':path', ':protocol',
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method',
  'age', 'authorization', 'content-encoding', 'content-language', 'content-length', 'content-location',
  'content-md5', 'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host',
  'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified',
  'location', 'max-forwards', 'proxy-authorization', 'range', 'referer', 'retry-after', 'tk',
  'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

/** name, value, name, value… → a header map, repeats merged as node:http2 merges them. */
export function headerMapOf(fields: readonly string[]): HeaderMap {
  // no prototype: a header named '__proto__' or 'constructor' is just a header (node:http2 does the same)
  const map: HeaderMap = Object.create(null) as HeaderMap;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    const existing = map[name];
    if (existing === undefined) map[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else if (!singleValueNames.has(name)) map[name] = `${existing}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return map;
}

function fail(target: string, path: string, code: number, message: string, cause: string): CallFailure {
  return localFailure(code, message, `${target}${path}: ${cause}`);
}

/** The failure when response headers are not a gRPC response (a proxy's error page, other content). */
export function nonGrpcResponse(target: string, path: string, headers: HeaderMap): CallFailure | undefined {
  const rawStatus = headers[':status'];
  const status = typeof rawStatus === 'string' ? Number(rawStatus) : undefined;
  if (status !== 200 && headers['grpc-status'] === undefined) {
    const code = codeForHttpStatus(status ?? 0);
    return fail(target, path, code, `Upstream answered HTTP ${status ?? 'without a status'}`, `HTTP status ${status}`);
  }
  const contentType = headers['content-type'];
  if (status === 200 && (typeof contentType !== 'string' || !contentType.startsWith('application/grpc'))) {
    return fail(target, path, Code.UNKNOWN, 'Upstream answered without gRPC content', `content-type ${contentType}`);
  }
  return undefined;
}

/**
 * The status of a stream the server ended with a header block carrying it: its trailers, or
 * trailers-only headers (`trailers` undefined).
 */
export function grpcStatus(target: string, path: string, headers: HeaderMap | undefined, trailers: HeaderMap | undefined): StreamStatus {
  return statusOfHeaderBlock(target, path, headers, trailers);
}

/** A stream that ended without a status: the server reset it, or ended it early. */
export function resetStatus(target: string, path: string, headers: HeaderMap | undefined, rstCode: number): CallFailure {
  if (rstCode !== ErrorCode.NO_ERROR) return fail(target, path, codeForRstStream(rstCode), 'Upstream reset the call', `RST_STREAM code ${rstCode}`);
  return fail(target, path, headers === undefined ? Code.UNAVAILABLE : Code.INTERNAL, 'Upstream protocol error', 'stream ended without a status');
}

/** The connection went away under the call. */
export function lostStatus(target: string, path: string, headers: HeaderMap | undefined, reason: string): CallFailure {
  return fail(target, path, Code.UNAVAILABLE, 'Upstream unavailable', `${headers === undefined ? 'no response' : 'connection lost'}: ${reason}`);
}

/** Code for a stream the server reset (PROTOCOL-HTTP2.md "Errors"). */
function codeForRstStream(rstCode: number): number {
  if (rstCode === ErrorCode.REFUSED_STREAM) return Code.UNAVAILABLE;
  // A server that cancels a call is going away (a backend killed or force-stopped mid-call):
  // PROTOCOL-HTTP2.md says CANCELLED, but to the HTTP client that is an upstream outage, not the
  // 499 "client closed request" it never did — UNAVAILABLE, as the grpc-js transport reports it,
  // which an idempotent call may also retry. Our own cancellations never come through here.
  if (rstCode === ErrorCode.CANCEL) return Code.UNAVAILABLE;
  if (rstCode === ErrorCode.ENHANCE_YOUR_CALM) return Code.RESOURCE_EXHAUSTED;
  if (rstCode === ErrorCode.INADEQUATE_SECURITY) return Code.PERMISSION_DENIED;
  return Code.INTERNAL;
}

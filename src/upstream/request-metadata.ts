// HTTP headers → gRPC metadata through an allowlist, and response metadata → HTTP headers
// (DESIGN §4). Names the gateway itself sets (identity) can never come from a client.
import type { IncomingHttpHeaders } from 'node:http';
import { isTransportName } from './metadata.js';

const CLIENT_PREFIX = 'grpc-metadata-';

/** What may be forwarded, decided once at startup. */
export interface MetadataPolicy {
  /** Header names forwarded verbatim (lower-case), besides `grpc-metadata-*`. */
  readonly forwardHeaders: ReadonlySet<string>;
  /** Metadata names only the gateway may set (e.g. x-user-id); dropped from client input. */
  readonly protectedNames: ReadonlySet<string>;
  /**
   * Tracing (config `tracing`): the `traceparent` to send instead of the client's, so the
   * backend's spans nest under the gateway's; `undefined` keeps the client's. Absent when off.
   */
  readonly traceparentFor?: ((headers: IncomingHttpHeaders) => string | undefined) | undefined;
}

/**
 * The default policy: request id and trace context forwarded; identity names protected. With
 * `auth` configured its names come in `protectedNames`, `authorization` among them: a client's
 * token then never reaches a backend (auth.forwardToken sends the verified one instead).
 */
export function createMetadataPolicy(extraHeaders: readonly string[] = [], protectedNames: readonly string[] = []): MetadataPolicy {
  return {
    forwardHeaders: new Set(['x-request-id', 'traceparent', 'tracestate', ...extraHeaders.map((h) => h.toLowerCase())]),
    protectedNames: new Set(['x-user-id', 'x-user-scopes', 'x-user-roles', ...protectedNames.map((h) => h.toLowerCase())]),
  };
}

const LEGAL_NAME = /^[0-9a-z_.-]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** The metadata pairs to send upstream for a request's headers. */
export function headersToMetadata(headers: IncomingHttpHeaders, policy: MetadataPolicy): Array<[string, string | Buffer]> {
  const out: Array<[string, string | Buffer]> = [];
  for (const header in headers) {
    let name: string;
    if (header.startsWith(CLIENT_PREFIX)) name = header.slice(CLIENT_PREFIX.length);
    else if (policy.forwardHeaders.has(header)) name = header;
    else continue;
    if (name === '' || isTransportName(name) || policy.protectedNames.has(name) || !LEGAL_NAME.test(name)) continue;
    const raw = headers[header];
    for (const value of Array.isArray(raw) ? raw : [raw ?? '']) {
      if (name.endsWith('-bin')) out.push([name, Buffer.from(value, 'base64')]);
      else if (PRINTABLE_ASCII.test(value)) out.push([name, value]);
    }
  }
  return out;
}

/** Response headers and trailers from the upstream, as `grpc-metadata-*` HTTP headers. */
export function metadataToHeaders(
  pairs: ReadonlyArray<readonly [string, string]>,
  into: Record<string, string | string[]>,
): void {
  for (const [name, value] of pairs) {
    if (isTransportName(name) || !LEGAL_NAME.test(name) || !PRINTABLE_ASCII.test(value)) continue;
    const header = CLIENT_PREFIX + name;
    const existing = into[header];
    if (existing === undefined) into[header] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else into[header] = [existing, value];
  }
}

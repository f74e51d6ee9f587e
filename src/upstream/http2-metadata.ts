// What the node:http2 transport puts in and reads from HTTP/2 headers (gRPC's PROTOCOL-HTTP2.md):
// request metadata as headers, response headers/trailers as metadata pairs, the grpc-timeout
// value, grpc-message percent-decoding and the HTTP status → gRPC code mapping.
// Which names belong to the transport is decided once, in metadata.ts (`isTransportName`).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { Code } from '../errors/codes.js';
import { clientSafeMessage } from './client-safe-message.js';
import { isTransportName, STATUS_DETAILS_KEY } from './metadata.js';
import type { MetadataPairs, StreamStatus } from './transport.js';

// PROTOCOL-HTTP2.md: HeaderName → 1*( %x30-39 / %x61-7A / "_" / "-" / ".") ; ASCII-Value → 1*( %x20-%x7E )
const LEGAL_NAME = /^[0-9a-z_.-]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
const MAX_TIMEOUT_VALUE = 99_999_999; // "at most 8 digits"

const EMPTY: MetadataPairs = [];

/**
 * Adds request metadata to outgoing `headers`. Transport names are dropped; '-bin' values are
 * sent base64 (a string value is taken as base64 already). Returns a description of the first
 * name or value gRPC cannot carry, or undefined when all went in.
 */
export function addRequestMetadata(
  headers: OutgoingHttpHeaders,
  pairs: ReadonlyArray<readonly [string, string | Buffer]>,
): string | undefined {
  for (let i = 0; i < pairs.length; i++) {
    const [name, raw] = pairs[i] as readonly [string, string | Buffer];
    if (isTransportName(name)) continue;
    if (!LEGAL_NAME.test(name)) return `metadata name "${name}" is not a legal gRPC header name`;
    let value: string;
    if (name.endsWith('-bin')) {
      value = typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('base64') : raw.toString('base64');
    } else {
      if (typeof raw !== 'string') return `metadata "${name}" has a binary value but no -bin suffix`;
      if (!PRINTABLE_ASCII.test(raw)) return `metadata "${name}" has a value that is not printable ASCII`;
      value = raw;
    }
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [String(existing), value];
  }
  return undefined;
}

/**
 * Received headers or trailers → application metadata pairs, as `fromGrpcMetadata` gives them:
 * transport names left out, '-bin' values as (padded) base64, one pair per binary value.
 */
export function metadataPairsOf(headers: IncomingHttpHeaders): MetadataPairs {
  let pairs: Array<readonly [string, string]> | undefined;
  for (const name in headers) {
    if (isTransportName(name)) continue;
    const raw = headers[name];
    if (raw === undefined) continue;
    pairs ??= [];
    const values = typeof raw === 'string' ? [raw] : raw;
    for (const value of values) {
      if (name.endsWith('-bin')) {
        // repeated binary values arrive comma-joined; base64 has no commas
        for (const part of value.split(',')) pairs.push([name, Buffer.from(part.trim(), 'base64').toString('base64')]);
      } else {
        pairs.push([name, value]);
      }
    }
  }
  return pairs ?? EMPTY;
}

/** A positive number of ms → a grpc-timeout value (≤ 8 digits; coarser units rounded up). */
export function encodeGrpcTimeout(ms: number): string {
  if (ms <= MAX_TIMEOUT_VALUE) return `${ms}m`;
  const seconds = Math.ceil(ms / 1000);
  if (seconds <= MAX_TIMEOUT_VALUE) return `${seconds}S`;
  const minutes = Math.ceil(ms / 60_000);
  if (minutes <= MAX_TIMEOUT_VALUE) return `${minutes}M`;
  return `${Math.min(Math.ceil(ms / 3_600_000), MAX_TIMEOUT_VALUE)}H`;
}

/** grpc-message is percent-encoded UTF-8; a malformed escape is kept as written. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const char = value.charCodeAt(i);
    if (char === 0x25 && HEX_PAIR.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (char < 0x80) {
      bytes.push(char);
    } else {
      const codePoint = value.codePointAt(i) as number;
      if (codePoint > 0xffff) i++;
      for (const byte of Buffer.from(String.fromCodePoint(codePoint))) bytes.push(byte);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** gRPC's http-grpc-status-mapping.md: the code for a non-200 HTTP status without grpc-status. */
export function codeForHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return Code.INTERNAL;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.UNAVAILABLE;
    default:
      return Code.UNKNOWN;
  }
}

/** A grpc-status header value → code, or undefined when absent or not a non-negative integer. */
export function parseGrpcStatus(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) return undefined;
  return Number(value);
}

const NO_METADATA: MetadataPairs = [];

/**
 * The gRPC status a server sent in a header block: its trailers, or trailers-only response
 * headers (`trailers` undefined). One reading for every HTTP/2 client (node:http2's
 * http2-call.ts and the wire transport), so a result does not depend on which one produced it.
 */
export function statusOfHeaderBlock(target: string, path: string, headers: IncomingHttpHeaders | undefined, trailers: IncomingHttpHeaders | undefined): StreamStatus {
  const trailersOnly = trailers === undefined;
  const statusSource = (trailers ?? headers) as IncomingHttpHeaders;
  const responseHeaders = trailersOnly || headers === undefined ? NO_METADATA : metadataPairsOf(headers);
  const responseTrailers = metadataPairsOf(statusSource);
  const code = parseGrpcStatus(statusSource['grpc-status']);
  if (code === Code.OK) return { ok: true, headers: responseHeaders, trailers: responseTrailers };
  const rawMessage = statusSource['grpc-message'];
  const details = code === undefined ? 'missing grpc-status' : typeof rawMessage === 'string' ? decodeGrpcMessage(rawMessage) : '';
  const finalCode = code ?? Code.UNKNOWN;
  const rawDetails = statusSource[STATUS_DETAILS_KEY];
  return {
    ok: false,
    code: finalCode,
    message: clientSafeMessage(finalCode, details, target),
    statusDetails: typeof rawDetails === 'string' ? Buffer.from(rawDetails, 'base64') : undefined,
    headers: responseHeaders,
    trailers: responseTrailers,
    cause: `${target}${path}: ${details}`,
  };
}

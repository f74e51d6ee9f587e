// Converts between the pipeline's metadata pairs and grpc-js `Metadata`, in both directions.
import { Metadata } from '@grpc/grpc-js';
import type { MetadataPairs } from './transport.js';

/** The trailer carrying a serialized google.rpc.Status; surfaced as `statusDetails`, not as a trailer. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

// Names that belong to the transport, not to the application, in either direction:
// PROTOCOL-HTTP2.md reserves the `grpc-` prefix (grpc-status-details-bin is surfaced separately),
// the rest are HTTP/2 framing, connection (RFC 9113 §8.2.2) or server-stack headers (`date`).
const reservedNames: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'date',
  'te',
  'user-agent',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** Whether a metadata name belongs to the transport (never sent or surfaced as application metadata). */
export function isTransportName(name: string): boolean {
  return name.startsWith('grpc-') || name.startsWith(':') || reservedNames.has(name);
}

/**
 * Builds grpc-js metadata from request pairs. Throws (with the offending name in the message)
 * when a name or value cannot travel as gRPC metadata; the caller turns that into a result.
 */
export function toGrpcMetadata(pairs: ReadonlyArray<readonly [string, string | Buffer]>): Metadata {
  const metadata = new Metadata();
  for (const [name, value] of pairs) {
    if (isTransportName(name)) continue;
    // grpc-js validates the rest: legal names, printable ASCII values, Buffers only for '-bin'.
    metadata.add(name, name.endsWith('-bin') && typeof value === 'string' ? Buffer.from(value, 'base64') : value);
  }
  return metadata;
}

/**
 * Flattens received metadata to pairs; '-bin' values become base64; transport names (including
 * grpc-status-details-bin) are left out. Repeated text values arrive joined by ', ' (HTTP/2).
 */
export function fromGrpcMetadata(metadata: Metadata | undefined): MetadataPairs {
  if (metadata === undefined) return [];
  const pairs: Array<readonly [string, string]> = [];
  const entries = metadata.toJSON();
  for (const name in entries) {
    if (isTransportName(name)) continue;
    for (const value of entries[name] as ReadonlyArray<string | Buffer>) {
      pairs.push([name, typeof value === 'string' ? value : value.toString('base64')]);
    }
  }
  return pairs;
}

/** The raw `grpc-status-details-bin` value, if the upstream sent one. */
export function statusDetailsOf(metadata: Metadata | undefined): Buffer | undefined {
  const value = metadata?.get(STATUS_DETAILS_KEY)[0];
  return Buffer.isBuffer(value) ? value : undefined;
}

// Active health checks: `grpc.health.v1.Health/Check` (grpc/grpc doc/health-checking.md) sent to
// one address through that address's own transport (so TLS and connection reuse come for free).
// The two messages are tiny, so they are encoded and decoded here by hand rather than through a
// loaded proto:
//   message HealthCheckRequest { string service = 1; }
//   message HealthCheckResponse { ServingStatus status = 1; }   // UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3
// Only SERVING passes; any other status or a failed call (UNIMPLEMENTED included: a backend
// without the health service cannot be checked) fails the probe. Thresholds live in balancer.ts.
import { codeName } from '../errors/codes.js';
import type { UpstreamTransport } from './transport.js';

/** The gRPC path of the health check. */
export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** `HealthCheckResponse.ServingStatus`. */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
const statusNames = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export interface HealthCheckOptions {
  readonly intervalMs: number;
  /** deadline of one probe */
  readonly timeoutMs: number;
  /** failed probes in a row that take a healthy address out of rotation */
  readonly unhealthyThreshold: number;
  /** passed probes in a row that bring an unhealthy address back */
  readonly healthyThreshold: number;
  /** `HealthCheckRequest.service`; '' asks about the server as a whole */
  readonly service: string;
}

/** HealthCheckRequest bytes for `service` (empty for ''). */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const name = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), encodeVarint(name.length), name]);
}

/** HealthCheckResponse bytes for `status` (what a server sends; used by tests). */
export function encodeHealthCheckResponse(status: number): Buffer {
  return status === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x08]), encodeVarint(status)]);
}

/** HealthCheckResponse.status, or undefined when the bytes are not such a message. */
export function decodeServingStatus(bytes: Uint8Array): number | undefined {
  let status = 0; // proto3: absent means UNKNOWN
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (tag === undefined) return undefined;
    at = tag.next;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value & 7;
    if (wireType === 0) {
      const value = readVarint(bytes, at);
      if (value === undefined) return undefined;
      at = value.next;
      if (field === 1) status = value.value;
    } else if (wireType === 2) {
      const length = readVarint(bytes, at);
      if (length === undefined || length.next + length.value > bytes.length) return undefined;
      at = length.next + length.value;
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
      if (at > bytes.length) return undefined;
    } else {
      return undefined;
    }
  }
  return status;
}

/** One probe of `transport`; never rejects. */
export async function probeHealth(transport: UpstreamTransport, options: HealthCheckOptions): Promise<{ serving: boolean; detail: string }> {
  const result = await transport.unary({
    path: HEALTH_CHECK_PATH,
    message: encodeHealthCheckRequest(options.service),
    metadata: [],
    deadline: Date.now() + options.timeoutMs,
  });
  if (!result.ok) return { serving: false, detail: `health check failed: ${codeName(result.code)} ${result.cause ?? result.message}` };
  const status = decodeServingStatus(result.message);
  if (status === undefined) return { serving: false, detail: 'health check answer is not a HealthCheckResponse' };
  return { serving: status === ServingStatus.SERVING, detail: `health check status ${statusNames[status] ?? status}` };
}

function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: i + 1 };
    scale *= 128;
  }
  return undefined;
}

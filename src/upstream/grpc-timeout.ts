// Parses the `grpc-timeout` a client may send, before the pipeline caps it by the route deadline.

// PROTOCOL-HTTP2.md: Timeout → "grpc-timeout" TimeoutValue TimeoutUnit;
// TimeoutValue → {positive integer as ASCII string of at most 8 digits}.
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

const msPerUnit: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
};

/**
 * Parses a client `grpc-timeout` header value (e.g. '100m', '5S', '1H'; ≤ 8 digits; units
 * H M S m u n) → ms, or undefined if malformed. Sub-millisecond remainders round up, so a
 * non-zero timeout never becomes an already-expired deadline ('1n' → 1 ms).
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = TIMEOUT.exec(value);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] as string;
  if (unit === 'u') return Math.ceil(amount / 1000);
  if (unit === 'n') return Math.ceil(amount / 1_000_000);
  return amount * (msPerUnit[unit] as number);
}

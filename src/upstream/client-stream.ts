// Helpers shared by the transports' client-streaming calls.
import type { ClientStreamCall, UnaryResult } from './transport.js';

/** A client stream that ended before it started, with `failure` (closed transport, open breaker, …). */
export function failedClientStream(failure: UnaryResult): ClientStreamCall {
  return { write: () => Promise.resolve(false), end: () => {}, cancel: () => {}, result: Promise.resolve(failure) };
}

// Helpers shared by the transports' client-streaming and bidirectional calls.
import { ServerStreamQueue } from './server-stream.js';
import type { BidiStreamCall, CallFailure, ClientStreamCall, UnaryResult } from './transport.js';

/** A client stream that ended before it started, with `failure` (closed transport, open breaker, …). */
export function failedClientStream(failure: UnaryResult): ClientStreamCall {
  return { write: () => Promise.resolve(false), end: () => {}, cancel: () => {}, result: Promise.resolve(failure) };
}

/** A bidirectional stream that ended before it started, with `failure`. */
export function failedBidiStream(failure: CallFailure): BidiStreamCall {
  return Object.assign(ServerStreamQueue.failed(failure), { write: () => Promise.resolve(false), end: () => {} });
}

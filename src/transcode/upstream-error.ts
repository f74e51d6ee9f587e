// Maps a failed upstream call to the GatewayError the client sees. The transport has already
// replaced grpc-js's own texts (which name addresses) with neutral ones; the service's own
// messages and details pass through (DESIGN §4).
import { Code, toCode } from '../errors/codes.js';
import { GatewayError, type StatusDetail } from '../errors/gateway-error.js';
import type { Reason } from '../errors/catalogue.js';

/** The failure half of an upstream result, as the transport reports it. */
export interface UpstreamFailure {
  readonly code: number;
  readonly message: string;
  /** What really happened, for the log only (names the target; may hold the upstream's raw text). */
  readonly cause?: string;
}

/**
 * The client-facing error for an upstream failure, with details already converted to JSON.
 * `overLocalLimit` is set when the response broke the gateway's own receive limit: that is not
 * the client's fault, so it is a 502, never the 429 RESOURCE_EXHAUSTED would map to.
 */
export function upstreamError(failure: UpstreamFailure, details: readonly StatusDetail[], overLocalLimit: boolean): GatewayError {
  if (overLocalLimit) {
    return new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', "the upstream response exceeds the gateway's size limit", {
      httpStatus: 502,
      details: info('PG_UPSTREAM_BAD_RESPONSE'),
      cause: failure.cause,
    });
  }
  const code = toCode(failure.code);
  const reason = reasonFor(code);
  const message = failure.message === '' ? `the upstream call failed (${code})` : failure.message;
  // The cause travels to the access log with the request id (DESIGN §4: details go to the log).
  return new GatewayError(code, reason, message, { details: details.length > 0 ? details : info(reason), cause: failure.cause });
}

function reasonFor(code: Code): Reason {
  switch (code) {
    case Code.UNAVAILABLE:
      return 'PG_UPSTREAM_UNAVAILABLE';
    case Code.DEADLINE_EXCEEDED:
      return 'PG_UPSTREAM_TIMEOUT';
    case Code.CANCELLED:
      // In practice the call was cancelled because the HTTP client went away.
      return 'PG_CLIENT_CLOSED';
    default:
      return 'PG_UPSTREAM_ERROR';
  }
}

function info(reason: Reason): StatusDetail[] {
  return [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'protogate' }];
}

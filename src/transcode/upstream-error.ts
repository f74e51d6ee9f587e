// Maps a failed upstream call to the GatewayError the client sees. Messages that grpc-js makes
// up itself (connection refused, deadline, frame errors) name addresses and internals, so they
// are replaced; the service's own messages and details pass through (DESIGN §4).
import { Code, toCode } from '../errors/codes.js';
import { GatewayError, type StatusDetail } from '../errors/gateway-error.js';
import type { Reason } from '../errors/catalogue.js';

/** The failure half of an upstream result, as the transport reports it. */
export interface UpstreamFailure {
  readonly code: number;
  readonly message: string;
}

const LOCAL_MESSAGE =
  /No connection established|Connection dropped|Deadline exceeded|Received message larger|Failed to parse|Protocol error|RST_STREAM|Call cancelled|Cancelled on client|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|getaddrinfo|Stream refused|failed to connect|Name resolution failed|Server returned|Received HTTP status|Response message parsing error|Request message serialization failure|No address added out of total/i;
const ADDRESS = /\[?[0-9a-f:]*:[0-9a-f:]+\]?:\d+|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?/gi;

/** The client-facing error for an upstream failure, with details already converted to JSON. */
export function upstreamError(failure: UpstreamFailure, details: readonly StatusDetail[]): GatewayError {
  const code = toCode(failure.code);
  const local = LOCAL_MESSAGE.test(failure.message);
  if (code === Code.RESOURCE_EXHAUSTED && /Received message larger/i.test(failure.message)) {
    // The upstream's response is over our receive limit: not the client's fault, so not a 429.
    return new GatewayError(Code.INTERNAL, 'PG_UPSTREAM_BAD_RESPONSE', 'the upstream response exceeds the gateway\'s size limit', {
      httpStatus: 502,
      details: info('PG_UPSTREAM_BAD_RESPONSE'),
    });
  }
  if (local || failure.message === '') {
    const [reason, message] = localFailure(code);
    return new GatewayError(code, reason, message, { details: info(reason) });
  }
  return new GatewayError(code, 'PG_UPSTREAM_ERROR', failure.message.replace(ADDRESS, '[upstream]'), { details });
}

function localFailure(code: Code): [Reason, string] {
  switch (code) {
    case Code.UNAVAILABLE:
      return ['PG_UPSTREAM_UNAVAILABLE', 'the upstream service is unavailable'];
    case Code.DEADLINE_EXCEEDED:
      return ['PG_UPSTREAM_TIMEOUT', 'the upstream service did not answer before the deadline'];
    case Code.CANCELLED:
      return ['PG_CLIENT_CLOSED', 'the request was cancelled'];
    default:
      return ['PG_UPSTREAM_ERROR', 'the upstream call failed'];
  }
}

function info(reason: Reason): StatusDetail[] {
  return [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'protogate' }];
}

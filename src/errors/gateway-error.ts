// The one error type of the request pipeline: a gRPC code, a message a client may read,
// a stable reason code, and google.rpc details already in their JSON form.
import { Code } from './codes.js';
import type { Reason } from './catalogue.js';

/** A `google.rpc.BadRequest.FieldViolation` in its JSON form. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** A `google.protobuf.Any` detail in its JSON form (`{"@type": …, …fields}`). */
export type StatusDetail = Readonly<Record<string, unknown>> & { readonly '@type': string };

const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';

/** Domain used in the `google.rpc.ErrorInfo` details the gateway itself produces. */
export const ERROR_DOMAIN = 'protogate';

/**
 * An error that becomes a `google.rpc.Status` response. `message` is shown to the client,
 * so it must never hold internal text (stack traces, file paths, upstream addresses).
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: Code;
  /** Stable reason code from the catalogue (src/errors/catalogue.ts), e.g. `PG_UNKNOWN_QUERY_PARAM`. */
  readonly reason: Reason;
  readonly details: readonly StatusDetail[];
  /** Extra HTTP response headers (e.g. `Allow` for 405). */
  readonly headers: Readonly<Record<string, string>>;
  /** HTTP status when it is not the code's default (405 for a wrong method). */
  readonly httpStatus: number | undefined;

  constructor(
    code: Code,
    reason: Reason,
    message: string,
    options: {
      details?: readonly StatusDetail[];
      headers?: Record<string, string>;
      httpStatus?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
    this.httpStatus = options.httpStatus;
  }
}

/** An INVALID_ARGUMENT error with a `google.rpc.BadRequest` naming the offending field. */
export function badRequest(reason: Reason, field: string, description: string): GatewayError {
  const message = field === '' ? description : `field "${field}": ${description}`;
  return new GatewayError(Code.INVALID_ARGUMENT, reason, message, {
    details: [
      { '@type': BAD_REQUEST_TYPE, fieldViolations: [{ field, description }] },
      { '@type': ERROR_INFO_TYPE, reason, domain: ERROR_DOMAIN },
    ],
  });
}

/** An error with an `ErrorInfo` detail carrying the reason code. */
export function gatewayError(
  code: Code,
  reason: Reason,
  message: string,
  options: { headers?: Record<string, string>; httpStatus?: number; cause?: unknown } = {},
): GatewayError {
  return new GatewayError(code, reason, message, {
    ...options,
    details: [{ '@type': ERROR_INFO_TYPE, reason, domain: ERROR_DOMAIN }],
  });
}

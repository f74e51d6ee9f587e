// Renders a GatewayError as the JSON body every error response carries (DESIGN §4).
import { codeName, toHttpStatus } from './codes.js';
import type { GatewayError } from './gateway-error.js';

/** `status`: `{code, status, message, details}` (default); `google`: Google's `{"error": {…}}` envelope. */
export type ErrorFormat = 'status' | 'google';

/** An error response, ready for the HTTP adapter. */
export interface ErrorResponse {
  statusCode: number;
  headers: Readonly<Record<string, string>>;
  body: string;
}

/** The HTTP status, headers and JSON body of an error. */
export function renderError(error: GatewayError, format: ErrorFormat): ErrorResponse {
  const statusCode = error.httpStatus ?? toHttpStatus(error.code);
  const status = codeName(error.code);
  const body =
    format === 'google'
      ? { error: { code: statusCode, status, message: error.message, details: error.details } }
      : { code: error.code, status, message: error.message, details: error.details };
  return { statusCode, headers: error.headers, body: JSON.stringify(body) };
}

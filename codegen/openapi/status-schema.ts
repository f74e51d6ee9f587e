// The error body every failed call returns (DESIGN §4): google.rpc.Status plus the canonical
// code name, `{"code":5,"status":"NOT_FOUND","message":"…","details":[…]}`.
import { Code } from '../../src/errors/codes.js';
import { refTo, type Schema } from './schemas.js';

/** Component name of the error body schema. */
export const STATUS_SCHEMA = 'Status';

export function statusSchema(): Schema {
  return {
    type: 'object',
    description:
      'The error body: a google.rpc.Status with the canonical code name. The HTTP status follows ' +
      'the standard gRPC-to-HTTP mapping of `code`.',
    properties: {
      code: { type: 'integer', format: 'int32', minimum: 0, description: 'gRPC status code, e.g. 5 for NOT_FOUND.' },
      status: { type: 'string', enum: Object.keys(Code), description: 'Canonical name of `code`.' },
      message: { type: 'string', description: 'Developer-facing explanation of the error.' },
      details: {
        type: 'array',
        items: refTo('google.protobuf.Any'),
        description: 'Typed error details, e.g. google.rpc.BadRequest or google.rpc.ErrorInfo.',
      },
    },
    required: ['code', 'status', 'message'],
  };
}

/**
 * A copy of `value` whose references to the Status schema point at `statusRef` instead: a proto
 * message named `Status` outside any package keeps that name, and the error body moves aside.
 */
export function withStatusRef<T>(value: T, statusRef: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll(JSON.stringify(refTo(STATUS_SCHEMA)['$ref']), JSON.stringify(statusRef))) as T;
}

const errorResponse = (description: string): Schema => ({
  description,
  content: { 'application/json': { schema: refTo(STATUS_SCHEMA) } },
});

/** Shared error responses, under `components.responses`. */
export const ERROR_RESPONSE_COMPONENTS: Readonly<Record<string, Schema>> = {
  Error: errorResponse('Any other error, with the HTTP status of its gRPC code.'),
  InvalidArgument: errorResponse('INVALID_ARGUMENT (or FAILED_PRECONDITION, OUT_OF_RANGE): the request is malformed or not allowed now.'),
  Unauthenticated: errorResponse('UNAUTHENTICATED: no valid credential was sent; the `WWW-Authenticate` header names the accepted schemes.'),
  PermissionDenied: errorResponse('PERMISSION_DENIED: the credential is valid but lacks a required scope or role.'),
  NotFound: errorResponse('NOT_FOUND: the resource, or a route for this path, does not exist.'),
  Unavailable: errorResponse('UNAVAILABLE: the upstream service cannot be reached right now; retrying later may succeed.'),
  DeadlineExceeded: errorResponse('DEADLINE_EXCEEDED: the upstream call did not finish in time.'),
};

const responseRef = (name: string): Schema => ({ $ref: `#/components/responses/${name}` });

/** The `components.responses` that only operations requiring a credential use. */
export const AUTH_RESPONSE_NAMES: ReadonlySet<string> = new Set(['Unauthenticated', 'PermissionDenied']);

/** The extra error entries of an operation that requires a credential. */
export const AUTH_ERROR_RESPONSES: Readonly<Record<string, Schema>> = {
  '401': responseRef('Unauthenticated'),
  '403': responseRef('PermissionDenied'),
};

/** The error entries of every operation's `responses`. */
export const ERROR_RESPONSES: Readonly<Record<string, Schema>> = {
  '400': responseRef('InvalidArgument'),
  '404': responseRef('NotFound'),
  '503': responseRef('Unavailable'),
  '504': responseRef('DeadlineExceeded'),
  default: responseRef('Error'),
};

/** Component names of the security schemes an authenticated operation lists. */
export const BEARER_SCHEME = 'bearerAuth';
export const API_KEY_SCHEME = 'apiKeyAuth';

/** `components.securitySchemes`, when some route requires a credential. */
export const SECURITY_SCHEMES: Readonly<Record<string, Schema>> = {
  [API_KEY_SCHEME]: {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description:
      'An API key in the `x-api-key` header (the default name; `auth.apiKeys.header` changes it, and ' +
      '`auth.apiKeys.query` also accepts it as a query parameter). Accepted only when the ' +
      "gateway's `auth` config has `apiKeys`; each key carries the scopes and roles configured for it.",
  },
  [BEARER_SCHEME]: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "A JWT in `Authorization: Bearer …`, carrying the operation's scopes. Accepted only when the " +
      "gateway's `auth` config has `jwt`.",
  },
};

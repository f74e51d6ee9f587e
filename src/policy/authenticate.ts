// Authentication and authorization (config key `auth`, per route `(protogate.v1.policy).auth`):
// composes the JWT and API-key schemes, decides once per route whether it needs a credential
// and which scopes, and turns the verified identity into the metadata the backend receives.
// Without `auth` in the config no guard exists and the pipeline's check costs one branch.
// Order: a `Authorization: Bearer` token when jwt is configured, else the API-key header.
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayConfig } from '../config/config-schema.js';
import { Code } from '../errors/codes.js';
import { gatewayError, type GatewayError } from '../errors/gateway-error.js';
import type { GatewayModel, RouteSpec } from '../gateway-model.js';
import { createApiKeyVerifier } from './auth-api-key.js';
import { createJwtVerifier, type CredentialResult } from './auth-jwt.js';

/** The `auth` config section, as validated by the config schema. */
export type AuthConfig = NonNullable<GatewayConfig['auth']>;

/** What a route's guard answers: identity metadata for the backend, or the error to send. */
export type GuardResult =
  | { readonly ok: true; readonly metadata: ReadonlyArray<readonly [string, string]> }
  | { readonly ok: false; readonly error: GatewayError };

/** Checks one request against one route's requirements. */
export type RouteGuard = (headers: IncomingHttpHeaders) => Promise<GuardResult>;

/** The compiled `auth` config. */
export interface AuthGate {
  /** The guard for a route, or `undefined` when the route is public. */
  guardFor(spec: RouteSpec): RouteGuard | undefined;
  /** Metadata names the gateway sets, to drop from client input. */
  readonly identityNames: readonly string[];
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Builds the schemes once, at startup (reads the JWKS file). */
export function createAuthGate(config: AuthConfig): AuthGate {
  const jwt = config.jwt === undefined ? undefined : createJwtVerifier(config.jwt);
  const apiKey = config.apiKeys === undefined ? undefined : createApiKeyVerifier(config.apiKeys);
  const apiKeyHeader = config.apiKeys?.header.toLowerCase();
  const { subject: subjectName, scopes: scopesName } = config.identityHeaders;
  const challenges = [
    ...(jwt === undefined ? [] : ['Bearer realm="protogate"']),
    ...(apiKeyHeader === undefined ? [] : [`ApiKey realm="protogate", header="${apiKeyHeader}"`]),
  ];
  const challenge = challenges.join(', ');
  const asked = [...(jwt === undefined ? [] : ['an Authorization: Bearer token']), ...(apiKeyHeader === undefined ? [] : [`an API key in the ${apiKeyHeader} header`])].join(' or ');

  const unauthenticated = (reason: 'PG_UNAUTHENTICATED' | 'PG_INVALID_TOKEN' | 'PG_INVALID_API_KEY', message: string, header: string): GuardResult => ({
    ok: false,
    error: gatewayError(Code.UNAUTHENTICATED, reason, message, { headers: { 'www-authenticate': header } }),
  });
  const invalidToken = (problem: string, error = 'invalid_token'): GuardResult =>
    unauthenticated('PG_INVALID_TOKEN', `invalid bearer token: ${problem}`, [`Bearer realm="protogate", error="${error}", error_description="${problem}"`, ...challenges.slice(1)].join(', '));

  async function authenticate(headers: IncomingHttpHeaders): Promise<CredentialResult | GuardResult> {
    const authorization = headers.authorization;
    if (jwt !== undefined && authorization !== undefined) {
      const bearer = BEARER.exec(authorization);
      if (bearer === null) return invalidToken('the Authorization header is not "Bearer <token>"', 'invalid_request');
      return jwt(bearer[1]!);
    }
    if (apiKey !== undefined) {
      const presented = headers[apiKeyHeader!];
      if (presented !== undefined) {
        const result = apiKey(Array.isArray(presented) ? presented.join(',') : presented);
        return result.ok ? result : unauthenticated('PG_INVALID_API_KEY', `invalid API key: ${result.problem}`, challenge);
      }
    }
    return unauthenticated('PG_UNAUTHENTICATED', `this method requires authentication: send ${asked}`, challenge);
  }

  return {
    identityNames: [subjectName, scopesName],
    guardFor(spec) {
      const policy = spec.auth ?? (config.defaultPolicy === 'authenticated' ? { public: false, scopes: [] } : undefined);
      if (policy === undefined || policy.public) return undefined;
      const required = policy.scopes;
      const usesBearer = jwt !== undefined;
      return async (headers) => {
        const result = await authenticate(headers);
        if (!('identity' in result)) {
          // a token problem from the verifier, or an error already made
          return 'problem' in result ? invalidToken(result.problem) : result;
        }
        const { subject, scopes } = result.identity;
        for (const scope of required) {
          if (!scopes.includes(scope)) {
            const headersOut: Record<string, string> = usesBearer && headers.authorization !== undefined
              ? { 'www-authenticate': `Bearer realm="protogate", error="insufficient_scope", scope="${required.join(' ')}"` }
              : {};
            return {
              ok: false,
              error: gatewayError(Code.PERMISSION_DENIED, 'PG_MISSING_SCOPE', `the credential lacks the scope "${scope}" that ${spec.service}/${spec.method} requires`, { headers: headersOut }),
            };
          }
        }
        return { ok: true, metadata: [[subjectName, subject], [scopesName, scopes.join(' ')]] };
      };
    },
  };
}

/** Routes whose protos require a credential; with no `auth` configured the gateway must not start. */
export function routesNeedingAuth(model: GatewayModel): RouteSpec[] {
  return model.routes.filter((route) => route.auth !== undefined && !route.auth.public);
}

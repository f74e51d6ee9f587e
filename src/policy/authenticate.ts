// Authentication and authorization (config key `auth`, per route `(protogate.v1.policy).auth`):
// composes the JWT and API-key schemes, decides once per route whether it needs a credential,
// which schemes it accepts, which scopes and roles, and turns the verified identity into the
// metadata the backend receives. Without `auth` in the config no guard exists and the
// pipeline's check costs one branch.
// Order: an `Authorization: Bearer` token when the route accepts jwt, else the API key (header,
// then the query parameter when configured).
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayConfig } from '../config/config-schema.js';
import { Code } from '../errors/codes.js';
import { gatewayError, type GatewayError } from '../errors/gateway-error.js';
import { AUTH_SCHEMES, type GatewayModel, type RouteAuthSpec, type RouteSpec } from '../gateway-model.js';
import { createApiKeyVerifier } from './auth-api-key.js';
import { createJwtVerifier, type CredentialResult, type JwksEvents } from './auth-jwt.js';

/** The `auth` config section, as validated by the config schema. */
export type AuthConfig = NonNullable<GatewayConfig['auth']>;

/** A scheme name as the proto's `auth.schemes` writes it. */
export type SchemeName = (typeof AUTH_SCHEMES)[number];

/** What a route's guard answers: identity metadata for the backend, or the error to send. */
export type GuardResult =
  | {
      readonly ok: true;
      readonly metadata: ReadonlyArray<readonly [string, string]>;
      /** The verified principal; rate limits count per it. */
      readonly subject: string;
    }
  | { readonly ok: false; readonly error: GatewayError };

/**
 * Checks one request against one route's requirements. `queryKey` is the API key the pipeline
 * took out of the query (auth.apiKeys.query), if any.
 */
export type RouteGuard = (headers: IncomingHttpHeaders, queryKey?: string) => Promise<GuardResult>;

/** The compiled `auth` config. */
export interface AuthGate {
  /** The guard for a route, or `undefined` when the route is public. */
  guardFor(spec: RouteSpec): RouteGuard | undefined;
  /** Metadata names the gateway sets, to drop from client input. */
  readonly identityNames: readonly string[];
  /** The query parameter that may carry an API key; the pipeline removes it from every query. */
  readonly apiKeyQuery: string | undefined;
}

/** What the gate reports (for the log); nothing is required. */
export interface AuthEvents {
  readonly jwks?: JwksEvents;
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

type Verified = Extract<CredentialResult, { ok: true }> & { readonly scheme: SchemeName };

/** Builds the schemes once, at startup (reads the JWKS and keys files, starts the JWKS fetch). */
export function createAuthGate(config: AuthConfig, events: AuthEvents = {}): AuthGate {
  const jwt = config.jwt === undefined ? undefined : createJwtVerifier(config.jwt, events.jwks);
  const apiKey = config.apiKeys === undefined ? undefined : createApiKeyVerifier(config.apiKeys);
  const apiKeyHeader = config.apiKeys?.header.toLowerCase();
  const apiKeyQuery = config.apiKeys?.query;
  const { subject: subjectName, scopes: scopesName, roles: rolesName } = config.identityHeaders;
  const configured = configuredSchemes(config);
  const challengeOf: Record<SchemeName, string> = {
    jwt: 'Bearer realm="protogate"',
    'api-key': `ApiKey realm="protogate", header="${apiKeyHeader}"${apiKeyQuery === undefined ? '' : `, query="${apiKeyQuery}"`}`,
  };
  const askedOf: Record<SchemeName, string> = {
    jwt: 'an Authorization: Bearer token',
    'api-key': `an API key in the ${apiKeyHeader} header${apiKeyQuery === undefined ? '' : ` or the ${apiKeyQuery} query parameter`}`,
  };

  /** Everything about a route's credentials that does not depend on the request. */
  function routeGuard(spec: RouteSpec, accepted: readonly SchemeName[], required: { scopes: readonly string[]; roles: readonly string[] }): RouteGuard {
    const acceptsJwt = jwt !== undefined && accepted.includes('jwt');
    const acceptsKey = apiKey !== undefined && accepted.includes('api-key');
    const challenges = accepted.map((scheme) => challengeOf[scheme]);
    const challenge = challenges.join(', ');
    const asked = accepted.map((scheme) => askedOf[scheme]).join(' or ');
    const otherKeyChallenges = challenges.filter((c) => c !== challengeOf.jwt);
    const rpc = `${spec.service}/${spec.method}`;

    const unauthenticated = (reason: 'PG_UNAUTHENTICATED' | 'PG_INVALID_TOKEN' | 'PG_INVALID_API_KEY' | 'PG_SCHEME_NOT_ACCEPTED', message: string, header = challenge): GuardResult => ({
      ok: false,
      error: gatewayError(Code.UNAUTHENTICATED, reason, message, { headers: { 'www-authenticate': header } }),
    });
    const invalidToken = (problem: string, error = 'invalid_token'): GuardResult =>
      unauthenticated('PG_INVALID_TOKEN', `invalid bearer token: ${problem}`, [`Bearer realm="protogate", error="${error}", error_description="${problem}"`, ...otherKeyChallenges].join(', '));

    async function authenticate(headers: IncomingHttpHeaders, queryKey: string | undefined): Promise<Verified | GuardResult> {
      const authorization = jwt === undefined ? undefined : headers.authorization;
      if (acceptsJwt && authorization !== undefined) {
        const bearer = BEARER.exec(authorization);
        if (bearer === null) return invalidToken('the Authorization header is not "Bearer <token>"', 'invalid_request');
        const result = await jwt(bearer[1]!);
        if (result.ok) return { ...result, scheme: 'jwt' };
        if (result.retryAfterSeconds === undefined) return invalidToken(result.problem);
        // No signing keys yet (the IdP was never reachable): the gateway's failure, not the token's.
        return {
          ok: false,
          error: gatewayError(Code.UNAVAILABLE, 'PG_AUTH_UNAVAILABLE', `cannot verify bearer tokens right now: ${result.problem}; retry later`, {
            headers: { 'retry-after': String(result.retryAfterSeconds) },
          }),
        };
      }
      const headerKey = apiKeyHeader === undefined ? undefined : headers[apiKeyHeader];
      const presentedKey = headerKey === undefined ? queryKey : Array.isArray(headerKey) ? headerKey.join(',') : headerKey;
      if (acceptsKey && presentedKey !== undefined) {
        const result = apiKey(presentedKey);
        return result.ok ? { ...result, scheme: 'api-key' } : unauthenticated('PG_INVALID_API_KEY', `invalid API key: ${result.problem}`);
      }
      const sent = authorization !== undefined ? 'a bearer token' : presentedKey !== undefined ? 'an API key' : undefined;
      if (sent !== undefined) {
        return unauthenticated('PG_SCHEME_NOT_ACCEPTED', `${rpc} does not accept ${sent}; it accepts only ${accepted.join(', ')}: send ${asked}`);
      }
      return unauthenticated('PG_UNAUTHENTICATED', `this method requires authentication: send ${asked}`);
    }

    return async (headers, queryKey) => {
      const result = await authenticate(headers, queryKey);
      if (!('identity' in result)) return result;
      const { subject, scopes, roles } = result.identity;
      for (const scope of required.scopes) {
        if (!scopes.includes(scope)) {
          const headersOut: Record<string, string> =
            result.scheme === 'jwt' ? { 'www-authenticate': `Bearer realm="protogate", error="insufficient_scope", scope="${required.scopes.join(' ')}"` } : {};
          return {
            ok: false,
            error: gatewayError(Code.PERMISSION_DENIED, 'PG_MISSING_SCOPE', `the credential lacks the scope "${scope}" that ${rpc} requires`, { headers: headersOut }),
          };
        }
      }
      if (required.roles.length > 0 && !required.roles.some((role) => roles.includes(role))) {
        const wanted = required.roles.map((role) => `"${role}"`).join(', ');
        return {
          ok: false,
          error: gatewayError(Code.PERMISSION_DENIED, 'PG_MISSING_ROLE', `${rpc} requires one of the roles ${wanted}, and the credential holds none of them`),
        };
      }
      const metadata: Array<readonly [string, string]> = [
        [subjectName, subject],
        [scopesName, scopes.join(' ')],
        [rolesName, roles.join(' ')],
      ];
      // Only the header that was just verified, and only when the operator asked for it.
      if (config.forwardToken && result.scheme === 'jwt') metadata.push(['authorization', headers.authorization!]);
      return { ok: true, metadata, subject };
    };
  }

  const policyOf = authPolicyResolver(config);
  return {
    // `authorization` is consumed here: a client's never reaches a backend unless verified and forwardToken is on
    identityNames: [subjectName, scopesName, rolesName, 'authorization'],
    apiKeyQuery,
    guardFor(spec) {
      const policy = policyOf(spec);
      if (policy === undefined || policy.public) return undefined;
      const named = (policy.schemes ?? []) as readonly SchemeName[];
      // startGateway refuses routes naming unconfigured schemes (unconfiguredSchemeRoutes), so this filter only orders them
      const accepted = named.length === 0 ? configured : configured.filter((scheme) => named.includes(scheme));
      return routeGuard(spec, accepted, { scopes: policy.scopes, roles: policy.roles ?? [] });
    },
  };
}

/**
 * What each route requires, decided once: the proto's `auth` (method, else service), else
 * `auth.routes` by the route's operationId, by its rpc's primary operationId (so additional
 * bindings follow the rpc), by its service, else `defaultPolicy`. Undefined: public.
 */
export function authPolicyResolver(config: AuthConfig): (spec: RouteSpec) => RouteAuthSpec | undefined {
  const routes = config.routes;
  const rule = (name: string): RouteAuthSpec | undefined => (Object.hasOwn(routes, name) ? routes[name] : undefined);
  const fallback: RouteAuthSpec | undefined = config.defaultPolicy === 'authenticated' ? { public: false, scopes: [] } : undefined;
  return (spec) => spec.auth ?? rule(spec.operationId) ?? rule(primaryOperationId(spec)) ?? rule(spec.service) ?? fallback;
}

/** `Service_Method` without an additional binding's `_n` suffix (config route keys name the rpc by it). */
export function primaryOperationId(spec: RouteSpec): string {
  return spec.bindingIndex === 0 ? spec.operationId : spec.operationId.replace(/_\d+$/, '');
}

/** `auth.routes` names that match no served operationId or service, for a startup error. */
export function unknownAuthRouteNames(model: GatewayModel, config: AuthConfig): string[] {
  const known = new Set(model.routes.flatMap((route) => [route.operationId, route.service]));
  return Object.keys(config.routes).filter((name) => !known.has(name));
}

/** The schemes the config sets up, in the order credentials are looked for. */
export function configuredSchemes(config: AuthConfig): SchemeName[] {
  return [...(config.jwt === undefined ? [] : ['jwt' as const]), ...(config.apiKeys === undefined ? [] : ['api-key' as const])];
}

/** Routes whose protos require a credential; with no `auth` configured the gateway must not start. */
export function routesNeedingAuth(model: GatewayModel): RouteSpec[] {
  return model.routes.filter((route) => route.auth !== undefined && !route.auth.public);
}

/** Routes whose proto `auth.schemes` names a scheme the config does not set up, with that scheme. */
export function unconfiguredSchemeRoutes(model: GatewayModel, config: AuthConfig): Array<{ route: RouteSpec; scheme: string }> {
  const configured: readonly string[] = configuredSchemes(config);
  const found: Array<{ route: RouteSpec; scheme: string }> = [];
  for (const route of model.routes) {
    if (route.auth === undefined || route.auth.public) continue;
    const scheme = route.auth.schemes?.find((name) => !configured.includes(name));
    if (scheme !== undefined) found.push({ route, scheme });
  }
  return found;
}

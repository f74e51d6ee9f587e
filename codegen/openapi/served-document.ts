// The document a running gateway serves at /openapi.json: the generated one, corrected by what
// only the gateway's config knows. `protogate generate` reads protos alone, so it cannot know the
// API-key header's name, which schemes are configured, whether unannotated routes need a
// credential (`auth.defaultPolicy`) or which routes the config rate-limits. Served docs must
// tell the truth about the wire, so the gateway rewrites those parts before serving.
import type { RouteAuthSpec, RouteRateLimitSpec, RouteSpec } from '../../src/gateway-model.js';
import { markRateLimited, addRateLimitComponents, TOO_MANY_REQUESTS } from './rate-limit-responses.js';
import type { Schema } from './schemas.js';
import { API_KEY_SCHEME, AUTH_ERROR_RESPONSES, BEARER_SCHEME, ERROR_RESPONSE_COMPONENTS, STATUS_SCHEMA, withStatusRef } from './status-schema.js';

/** The scheme component for an API key sent as a query parameter. */
export const API_KEY_QUERY_SCHEME = 'apiKeyQueryAuth';

/** What the running gateway enforces, as far as the document shows it. */
export interface ServedPolicies {
  /** The `auth` config; absent: no authentication (the gateway refuses protos that require it). */
  readonly auth?: {
    readonly jwt: boolean;
    readonly apiKey?: { readonly header: string; readonly query?: string | undefined } | undefined;
    readonly defaultPolicy: 'public' | 'authenticated';
    /** What a route requires when the config can say more than the proto (`auth.routes`); default: the proto's, else defaultPolicy. */
    readonly policyFor?: ((route: RouteSpec) => RouteAuthSpec | undefined) | undefined;
  };
  /** The limit the gateway applies to a route (proto annotation, else config), if any. */
  rateLimitFor(route: RouteSpec): RouteRateLimitSpec | undefined;
}

/** A copy of `document` with security and rate limits as the gateway enforces them. */
export function servedDocument(document: Record<string, unknown>, routes: readonly RouteSpec[], policies: ServedPolicies): Record<string, unknown> {
  const out = structuredClone(document);
  const byId = new Map(routes.map((route) => [route.operationId, route]));
  const components = (out['components'] ??= {}) as Schema;
  const statusRef = statusRefOf(components);
  let anySecured = false;
  let anyLimited = false;
  for (const item of Object.values((out['paths'] ?? {}) as Record<string, Record<string, Schema>>)) {
    for (const operation of Object.values(item)) {
      const route = byId.get(operation['operationId'] as string);
      if (route === undefined) continue;
      if (policies.auth !== undefined) anySecured = secure(operation, route, policies.auth) || anySecured;
      const limit = policies.rateLimitFor(route);
      if (limit !== undefined && (operation['responses'] as Schema)['429'] === undefined) markRateLimited(operation, limit);
      anyLimited ||= limit !== undefined;
    }
  }
  if (policies.auth !== undefined) {
    const schemes = securitySchemes(policies.auth);
    if (anySecured && Object.keys(schemes).length > 0) components['securitySchemes'] = schemes;
    else delete components['securitySchemes'];
    const responses = (components['responses'] ??= {}) as Schema;
    for (const name of ['Unauthenticated', 'PermissionDenied']) {
      if (anySecured) responses[name] ??= withStatusRef(ERROR_RESPONSE_COMPONENTS[name]!, statusRef);
      else delete responses[name];
    }
  }
  if (anyLimited && (components['responses'] as Schema | undefined)?.[TOO_MANY_REQUESTS] === undefined) addRateLimitComponents(components, statusRef);
  return out;
}

/** Sets an operation's `security` and 401/403 entries; true when it requires a credential. */
function secure(operation: Schema, route: RouteSpec, auth: NonNullable<ServedPolicies['auth']>): boolean {
  const policy = auth.policyFor !== undefined ? auth.policyFor(route) : (route.auth ?? (auth.defaultPolicy === 'authenticated' ? { public: false, scopes: [] as readonly string[] } : undefined));
  const responses = operation['responses'] as Record<string, Schema>;
  if (policy === undefined || policy.public) {
    operation['security'] = [];
    delete responses['401'];
    delete responses['403'];
    return false;
  }
  const accepted = (policy as { schemes?: readonly string[] }).schemes ?? [];
  const accepts = (scheme: string) => accepted.length === 0 || accepted.includes(scheme);
  const alternatives: Schema[] = [];
  if (auth.jwt && accepts('jwt')) alternatives.push({ [BEARER_SCHEME]: [...policy.scopes] });
  if (auth.apiKey !== undefined && accepts('api-key')) {
    alternatives.push({ [API_KEY_SCHEME]: [] });
    if (auth.apiKey.query !== undefined) alternatives.push({ [API_KEY_QUERY_SCHEME]: [] });
  }
  operation['security'] = alternatives;
  Object.assign(responses, AUTH_ERROR_RESPONSES);
  return true;
}

function securitySchemes(auth: NonNullable<ServedPolicies['auth']>): Schema {
  const schemes: Schema = {};
  if (auth.apiKey !== undefined) {
    schemes[API_KEY_SCHEME] = {
      type: 'apiKey',
      in: 'header',
      name: auth.apiKey.header,
      description: `An API key in the \`${auth.apiKey.header}\` header.`,
    };
    if (auth.apiKey.query !== undefined) {
      schemes[API_KEY_QUERY_SCHEME] = {
        type: 'apiKey',
        in: 'query',
        name: auth.apiKey.query,
        description: `The same API key as the \`${auth.apiKey.query}\` query parameter, for clients that cannot set headers (it may end up in URL logs; prefer the header).`,
      };
    }
  }
  if (auth.jwt) {
    schemes[BEARER_SCHEME] = {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: "A JWT in `Authorization: Bearer …`, carrying the operation's scopes.",
    };
  }
  return schemes;
}

/** The `$ref` the document's error responses use for the Status schema. */
function statusRefOf(components: Schema): string {
  const error = (components['responses'] as Record<string, Schema> | undefined)?.['Error'];
  const ref = (error?.['content'] as Record<string, { schema?: { $ref?: string } }> | undefined)?.['application/json']?.schema?.$ref;
  return ref ?? `#/components/schemas/${STATUS_SCHEMA}`;
}

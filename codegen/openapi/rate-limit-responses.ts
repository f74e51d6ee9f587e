// What a rate-limited operation tells its callers (src/policy/rate-limit.ts): the RateLimit
// headers on every answer (IETF draft-ietf-httpapi-ratelimit-headers) and the 429 answer with
// `Retry-After` and a RESOURCE_EXHAUSTED Status once the budget is spent.
import type { Schema } from './schemas.js';
import { STATUS_SCHEMA } from './status-schema.js';

/** The component name of the 429 response. */
export const TOO_MANY_REQUESTS = 'TooManyRequests';

const seconds = (description: string): Schema => ({ description, schema: { type: 'integer', minimum: 0 } });

/** `components.headers` of a document with rate-limited operations. */
export const RATE_LIMIT_HEADERS: Readonly<Record<string, Schema>> = {
  'RateLimit-Limit': seconds('Calls the current window allows the caller.'),
  'RateLimit-Remaining': seconds('Calls left in the current window.'),
  'RateLimit-Reset': seconds('Seconds until the budget is whole again.'),
  'RateLimit-Policy': {
    description: 'The limit as `<requests>;w=<window seconds>`, e.g. `100;w=60`.',
    schema: { type: 'string' },
  },
};

const headerRefs = (names: readonly string[]): Schema =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

/** The 429 response component; `statusRef` is the `$ref` of the error body schema. */
export function tooManyRequestsResponse(statusRef = `#/components/schemas/${STATUS_SCHEMA}`): Schema {
  return {
    description:
      'RESOURCE_EXHAUSTED: the caller spent its rate-limit budget for this operation; the request did not reach the service. ' +
      'Retry after the `Retry-After` seconds.',
    headers: {
      'Retry-After': seconds('Seconds to wait before the next call can succeed.'),
      ...headerRefs(Object.keys(RATE_LIMIT_HEADERS)),
    },
    content: { 'application/json': { schema: { $ref: statusRef } } },
  };
}

/** The limit in words, for the operation's description. */
export function rateLimitNote(limit: { readonly requests: number; readonly perMs: number; readonly key: string }): string {
  const window = limit.perMs % 60_000 === 0 ? `${limit.perMs / 60_000} min` : `${limit.perMs / 1000} s`;
  const per = limit.key === 'ip' ? 'client address' : 'caller (the authenticated principal, else the client address)';
  return `Rate limit: ${limit.requests} calls per ${window} per ${per}; every answer carries the RateLimit headers, and a call over the limit gets 429.`;
}

/** Marks one operation as rate-limited: a 429 entry, the RateLimit headers on its 200 answer, the limit in its description. */
export function markRateLimited(operation: Schema, limit: { readonly requests: number; readonly perMs: number; readonly key: string }): void {
  const responses = operation['responses'] as Record<string, Schema>;
  const ok = responses['200'];
  if (ok !== undefined) ok['headers'] = { ...(ok['headers'] as Schema | undefined), ...headerRefs(Object.keys(RATE_LIMIT_HEADERS)) };
  // status codes are integer-like keys, which JSON output lists in ascending order anyway
  responses['429'] = { $ref: `#/components/responses/${TOO_MANY_REQUESTS}` };
  const note = rateLimitNote(limit);
  operation['description'] = typeof operation['description'] === 'string' && operation['description'] !== '' ? `${operation['description']}\n\n${note}` : note;
}

/** Adds the components rate-limited operations refer to. */
export function addRateLimitComponents(components: Schema, statusRef: string): void {
  components['headers'] = { ...(components['headers'] as Schema | undefined), ...RATE_LIMIT_HEADERS };
  components['responses'] = { ...(components['responses'] as Schema | undefined), [TOO_MANY_REQUESTS]: tooManyRequestsResponse(statusRef) };
}

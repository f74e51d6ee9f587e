// Roles, accepted schemes and token forwarding, unit level: real tokens (RS256 and ES256 keys
// made here, a JWKS file) and real API keys against per-route policies as the proto gives them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { configSchema } from '../../../src/config/config-schema.js';
import type { RouteAuthSpec, RouteSpec } from '../../../src/gateway-model.js';
import { createAuthGate, unconfiguredSchemeRoutes, type AuthConfig, type GuardResult } from '../../../src/policy/authenticate.js';
import { makeSigningKey, signToken, type TestSigningKey } from '../../helpers/jwks-server.js';

let rsa: TestSigningKey;
let ec: TestSigningKey;
let jwksFile: string;
const sha = (key: string) => createHash('sha256').update(key).digest('hex');

before(async () => {
  [rsa, ec] = await Promise.all([makeSigningKey('RS256', 'rsa-1'), makeSigningKey('ES256', 'ec-1')]);
  jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-authz-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [rsa.jwk, ec.jwk] }));
});

function authConfig(extra: Record<string, unknown> = {}, jwt: Record<string, unknown> = {}): AuthConfig {
  return configSchema.parse({
    auth: {
      jwt: { jwksFile, issuer: 'https://idp.test', audience: 'protogate-test', ...jwt },
      apiKeys: {
        query: 'api_key',
        keys: [
          { sha256: sha('librarian-key'), principal: 'shelver', roles: ['librarian'] },
          { sha256: sha('plain-key'), principal: 'reader', scopes: ['notes.read'] },
        ],
      },
      ...extra,
    },
  }).auth!;
}

function route(auth: RouteAuthSpec): RouteSpec {
  return { service: 'secure.v1.SecureService', method: 'Shelve', auth } as RouteSpec;
}

async function check(headers: Record<string, string>, auth: RouteAuthSpec, config = authConfig(), queryKey?: string): Promise<GuardResult> {
  const guard = createAuthGate(config).guardFor(route(auth));
  assert.ok(guard, 'the route has a guard');
  return guard(headers, queryKey);
}

const bearer = async (key: TestSigningKey, claims: Record<string, unknown> = {}) => ({ authorization: `Bearer ${await signToken(key, claims)}` });
const needsRole = { public: false, scopes: [], roles: ['librarian', 'admin'] } satisfies RouteAuthSpec;

function denied(result: GuardResult, code: number, reason: string): string {
  assert.ok(!result.ok, 'denied');
  assert.equal(result.error.code, code);
  assert.equal(result.error.reason, reason);
  return result.error.message;
}

describe('roles', () => {
  const cases: Array<{ name: string; headers: () => Promise<Record<string, string>>; config?: () => AuthConfig; ok: boolean }> = [
    { name: 'RS256 token with one of the roles (array)', headers: () => bearer(rsa, { roles: ['reader', 'admin'] }), ok: true },
    { name: 'ES256 token with one of the roles (space-separated)', headers: () => bearer(ec, { roles: 'librarian reader' }), ok: true },
    { name: 'token without a roles claim', headers: () => bearer(rsa), ok: false },
    { name: 'token with other roles', headers: () => bearer(ec, { roles: ['reader'] }), ok: false },
    { name: 'roles from a configured claim', headers: () => bearer(rsa, { groups: ['admin'] }), config: () => authConfig({}, { rolesClaim: 'groups' }), ok: true },
    { name: 'a configured claim ignores "roles"', headers: () => bearer(rsa, { roles: ['admin'] }), config: () => authConfig({}, { rolesClaim: 'groups' }), ok: false },
    { name: 'API key with the role', headers: async () => ({ 'x-api-key': 'librarian-key' }), ok: true },
    { name: 'API key without roles', headers: async () => ({ 'x-api-key': 'plain-key' }), ok: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const result = await check(await c.headers(), needsRole, c.config?.());
      if (c.ok) {
        assert.ok(result.ok, result.ok ? '' : result.error.message);
      } else {
        const message = denied(result, 7, 'PG_MISSING_ROLE');
        assert.match(message, /one of the roles "librarian", "admin"/);
      }
    });
  }

  it('roles travel to the backend as x-user-roles, space-separated', async () => {
    const result = await check(await bearer(rsa, { roles: ['librarian', 'reader'] }), needsRole);
    assert.ok(result.ok);
    assert.deepEqual(result.metadata, [['x-user-id', 'alice'], ['x-user-scopes', ''], ['x-user-roles', 'librarian reader']]);
  });

  it('a roles claim that is not strings, or holds a role metadata cannot carry, is 401', async () => {
    assert.match(denied(await check(await bearer(rsa, { roles: { admin: true } }), needsRole), 16, 'PG_INVALID_TOKEN'), /"roles" claim is neither/);
    assert.match(denied(await check(await bearer(rsa, { roles: ['caf\u00e9'] }), needsRole), 16, 'PG_INVALID_TOKEN'), /role that is not printable ASCII/);
  });

  it('scopes are checked as well as roles', async () => {
    const result = await check(await bearer(rsa, { roles: ['admin'] }), { ...needsRole, scopes: ['notes.write'] });
    denied(result, 7, 'PG_MISSING_SCOPE');
  });
});

describe('accepted schemes', () => {
  const keysOnly = { public: false, scopes: [], schemes: ['api-key'] } satisfies RouteAuthSpec;
  const tokensOnly = { public: false, scopes: [], schemes: ['jwt'] } satisfies RouteAuthSpec;

  it('a bearer token on an API-key-only route is 401 naming the accepted scheme', async () => {
    const result = await check(await bearer(rsa), keysOnly);
    const message = denied(result, 16, 'PG_SCHEME_NOT_ACCEPTED');
    assert.match(message, /does not accept a bearer token; it accepts only api-key: send an API key in the x-api-key header or the api_key query parameter/);
    assert.ok(!result.ok && result.error.headers['www-authenticate'] === 'ApiKey realm="protogate", header="x-api-key", query="api_key"');
  });

  it('an API key on a token-only route is 401 naming the accepted scheme', async () => {
    const result = await check({ 'x-api-key': 'plain-key' }, tokensOnly);
    assert.match(denied(result, 16, 'PG_SCHEME_NOT_ACCEPTED'), /does not accept an API key; it accepts only jwt: send an Authorization: Bearer token/);
    assert.ok(!result.ok && result.error.headers['www-authenticate'] === 'Bearer realm="protogate"');
  });

  it('with both credentials, the accepted one is used', async () => {
    const headers = { ...(await bearer(rsa)), 'x-api-key': 'plain-key' };
    const viaKey = await check(headers, keysOnly);
    assert.ok(viaKey.ok);
    assert.deepEqual(viaKey.metadata[0], ['x-user-id', 'reader']);
    const viaToken = await check(headers, tokensOnly);
    assert.ok(viaToken.ok);
    assert.deepEqual(viaToken.metadata[0], ['x-user-id', 'alice']);
  });

  it('no credential: the challenge and the message name only the accepted schemes', async () => {
    const result = await check({}, tokensOnly);
    assert.match(denied(result, 16, 'PG_UNAUTHENTICATED'), /send an Authorization: Bearer token$/);
    assert.ok(!result.ok && result.error.headers['www-authenticate'] === 'Bearer realm="protogate"');
  });

  it('finds routes naming a scheme the config does not set up', () => {
    const onlyJwt = configSchema.parse({ auth: { jwt: { jwksFile } } }).auth!;
    const model = { formatVersion: 1, descriptor: {}, routes: [route(keysOnly), route(tokensOnly), route({ public: false, scopes: [] })] } as const;
    const found = unconfiguredSchemeRoutes(model, onlyJwt);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.scheme, 'api-key');
    assert.deepEqual(unconfiguredSchemeRoutes(model, authConfig()), []);
  });
});

describe('API key in the query', () => {
  const anyCredential = { public: false, scopes: [] } satisfies RouteAuthSpec;

  it('authenticates like the header', async () => {
    const result = await check({}, anyCredential, authConfig(), 'librarian-key');
    assert.ok(result.ok);
    assert.deepEqual(result.metadata[0], ['x-user-id', 'shelver']);
  });

  it('a bad one is 401 without echoing it', async () => {
    const result = await check({}, anyCredential, authConfig(), 'stolen-guess');
    assert.ok(!denied(result, 16, 'PG_INVALID_API_KEY').includes('stolen-guess'));
  });

  it('the header wins over the query', async () => {
    const result = await check({ 'x-api-key': 'plain-key' }, anyCredential, authConfig(), 'librarian-key');
    assert.ok(result.ok);
    assert.deepEqual(result.metadata[0], ['x-user-id', 'reader']);
  });
});

describe('token forwarding', () => {
  const anyCredential = { public: false, scopes: [] } satisfies RouteAuthSpec;

  it('is off by default: no authorization in the metadata, and the name is protected', async () => {
    const result = await check(await bearer(rsa), anyCredential);
    assert.ok(result.ok);
    assert.equal(result.metadata.find(([name]) => name === 'authorization'), undefined);
    assert.ok(createAuthGate(authConfig()).identityNames.includes('authorization'));
  });

  it('forwardToken: the verified header is forwarded as is', async () => {
    const headers = await bearer(ec);
    const result = await check(headers, anyCredential, authConfig({ forwardToken: true }));
    assert.ok(result.ok);
    assert.deepEqual(result.metadata.at(-1), ['authorization', headers.authorization]);
  });

  it('forwardToken never forwards anything for an API-key request', async () => {
    const result = await check({ 'x-api-key': 'plain-key', authorization: 'Basic eDp5' }, { ...anyCredential, schemes: ['api-key'] }, authConfig({ forwardToken: true }));
    assert.ok(result.ok);
    assert.equal(result.metadata.find(([name]) => name === 'authorization'), undefined);
  });
});

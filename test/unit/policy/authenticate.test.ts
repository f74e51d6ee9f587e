// Authentication and authorization, unit level: real tokens signed in the test (RS256 and ES256
// keys made here, served from a JWKS file; HS256 with a secret), real API keys, and the config
// rules (no "none", keys that fit the algorithms, per-route policy from the proto annotation).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { configSchema } from '../../../src/config/config-schema.js';
import type { RouteSpec } from '../../../src/gateway-model.js';
import { createAuthGate, type AuthConfig, type GuardResult } from '../../../src/policy/authenticate.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const NOW = () => Math.floor(Date.now() / 1000);
let rsa: CryptoKey;
let ec: CryptoKey;
let otherRsa: CryptoKey;
let jwksFile: string;

before(async () => {
  const rsaPair = await generateKeyPair('RS256');
  const ecPair = await generateKeyPair('ES256');
  rsa = rsaPair.privateKey;
  ec = ecPair.privateKey;
  otherRsa = (await generateKeyPair('RS256')).privateKey;
  const keys = [
    { ...(await exportJWK(rsaPair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ecPair.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-auth-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys }));
});

function authConfig(extra: Record<string, unknown> = {}): AuthConfig {
  return configSchema.parse({
    auth: {
      jwt: { secret: SECRET, jwksFile, issuer: 'https://issuer.test', audience: 'protogate-test' },
      apiKeys: { keys: [{ sha256: createHash('sha256').update('good-key').digest('hex'), principal: 'robot', scopes: ['notes.read'] }] },
      ...extra,
    },
  }).auth!;
}

async function sign(claims: Record<string, unknown>, options: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string } = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  const key = options.key ?? (alg === 'HS256' ? new TextEncoder().encode(SECRET) : alg === 'ES256' ? ec : rsa);
  const payload = { sub: 'alice', scope: 'notes.read notes.write', iss: 'https://issuer.test', aud: 'protogate-test', iat: NOW(), exp: NOW() + 300, ...claims };
  return new SignJWT(payload)
    .setProtectedHeader({ alg, ...(alg === 'HS256' ? {} : { kid: options.kid ?? (alg === 'ES256' ? 'ec-1' : 'rsa-1') }) })
    .sign(key);
}

function route(auth: RouteSpec['auth']): RouteSpec {
  return { service: 'secure.v1.SecureService', method: 'Write', operationId: 'SecureService_Write', bindingIndex: 0, ...(auth === undefined ? {} : { auth }) } as RouteSpec;
}

const needsWrite = route({ public: false, scopes: ['notes.write'] });

async function check(headers: Record<string, string>, spec = needsWrite, config = authConfig()): Promise<GuardResult> {
  const guard = createAuthGate(config).guardFor(spec);
  assert.ok(guard, 'the route has a guard');
  return guard(headers);
}

function unsignedToken(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'mallory', scope: 'notes.write', iss: 'https://issuer.test', aud: 'protogate-test', exp: NOW() + 300 })}.`;
}

describe('JWT bearer tokens', () => {
  const cases: Array<{ name: string; token: () => Promise<string>; status: 'ok' | 401 | 403; says?: RegExp }> = [
    { name: 'valid RS256', token: () => sign({}), status: 'ok' },
    { name: 'valid ES256', token: () => sign({}, { alg: 'ES256' }), status: 'ok' },
    { name: 'valid HS256 (secret)', token: () => sign({}, { alg: 'HS256' }), status: 'ok' },
    { name: 'scopes as an array', token: () => sign({ scope: ['notes.write'] }), status: 'ok' },
    { name: 'expired beyond the skew', token: () => sign({ exp: NOW() - 120 }), status: 401, says: /expired/ },
    { name: 'expired within the 30 s skew', token: () => sign({ exp: NOW() - 10 }), status: 'ok' },
    { name: 'not valid yet (nbf)', token: () => sign({ nbf: NOW() + 120 }), status: 401, says: /nbf/ },
    { name: 'no exp', token: () => new SignJWT({ sub: 'a', scope: 'notes.write' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer('https://issuer.test').setAudience('protogate-test').sign(rsa), status: 401, says: /"exp"/ },
    { name: 'wrong issuer', token: () => sign({ iss: 'https://evil.test' }), status: 401, says: /iss/ },
    { name: 'wrong audience', token: () => sign({ aud: 'someone-else' }), status: 401, says: /aud/ },
    { name: 'alg none', token: async () => unsignedToken(), status: 401, says: /algorithm/ },
    { name: 'bad signature (other key, same kid)', token: () => sign({}, { key: otherRsa }), status: 401, says: /signature/ },
    { name: 'unknown kid', token: () => sign({}, { kid: 'nope' }), status: 401, says: /key/ },
    { name: 'garbage', token: async () => 'not.a.jwt', status: 401, says: /malformed/ },
    { name: 'no subject', token: () => sign({ sub: undefined }), status: 401, says: /"sub"/ },
    { name: 'missing scope', token: () => sign({ scope: 'notes.read' }), status: 403, says: /"notes\.write"/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const result = await check({ authorization: `Bearer ${await c.token()}` });
      if (c.status === 'ok') {
        assert.ok(result.ok, result.ok ? '' : result.error.message);
        assert.equal(result.metadata[0]![0], 'x-user-id');
        assert.equal(result.metadata[1]![0], 'x-user-scopes');
        assert.equal(result.metadata[2]![0], 'x-user-roles');
        return;
      }
      assert.ok(!result.ok);
      assert.equal(result.error.code, c.status === 401 ? 16 : 7);
      assert.match(result.error.message, c.says!);
      if (c.status === 401) {
        assert.equal(result.error.reason, 'PG_INVALID_TOKEN');
        assert.match(result.error.headers['www-authenticate']!, /^Bearer realm="protogate", error="invalid_token"/);
      } else {
        assert.equal(result.error.reason, 'PG_MISSING_SCOPE');
      }
    });
  }

  it('forwards the subject and the scopes', async () => {
    const result = await check({ authorization: `Bearer ${await sign({ sub: 'bob', scope: 'notes.write x' })}` });
    assert.ok(result.ok);
    assert.deepEqual(result.metadata, [['x-user-id', 'bob'], ['x-user-scopes', 'notes.write x'], ['x-user-roles', '']]);
  });

  it('rejects a token whose scopes metadata could not carry (non-ASCII), as 401 not 500', async () => {
    const result = await check({ authorization: `Bearer ${await sign({ sub: 'bob', scope: ['notes.write', 'caf\u00e9'] })}` });
    assert.ok(!result.ok);
    assert.equal(result.error.code, 16);
    assert.match(result.error.message, /not printable ASCII/);
  });

  it('uses the configured claims and identity names', async () => {
    const base = authConfig();
    const config = { ...base, jwt: { ...base.jwt!, subjectClaim: 'uid', scopesClaim: 'scp' }, identityHeaders: { subject: 'x-principal', scopes: 'x-perms', roles: 'x-groups' } };
    const result = await check({ authorization: `Bearer ${await sign({ uid: 'carol', scp: ['notes.write'] })}` }, needsWrite, config);
    assert.ok(result.ok);
    assert.deepEqual(result.metadata, [['x-principal', 'carol'], ['x-perms', 'notes.write'], ['x-groups', '']]);
    assert.deepEqual(createAuthGate(config).identityNames, ['x-principal', 'x-perms', 'x-groups', 'authorization']);
  });

  it('a non-Bearer Authorization header is an invalid request', async () => {
    const result = await check({ authorization: 'Basic YTpi' });
    assert.ok(!result.ok);
    assert.equal(result.error.code, 16);
    assert.match(result.error.headers['www-authenticate']!, /error="invalid_request"/);
  });

  it('an algorithm outside the allowlist is refused even with the right key', async () => {
    const base = authConfig();
    const config = { ...base, jwt: { ...base.jwt!, algorithms: ['RS256'] } };
    const result = await check({ authorization: `Bearer ${await sign({}, { alg: 'HS256' })}` }, needsWrite, config);
    assert.ok(!result.ok);
    assert.match(result.error.message, /algorithm/);
  });
});

describe('API keys', () => {
  it('a good key authenticates as its principal with its scopes', async () => {
    const result = await check({ 'x-api-key': 'good-key' }, route({ public: false, scopes: ['notes.read'] }));
    assert.ok(result.ok);
    assert.deepEqual(result.metadata, [['x-user-id', 'robot'], ['x-user-scopes', 'notes.read'], ['x-user-roles', '']]);
  });
  it('a bad key is 401 PG_INVALID_API_KEY', async () => {
    const result = await check({ 'x-api-key': 'bad-key' });
    assert.ok(!result.ok);
    assert.equal(result.error.code, 16);
    assert.equal(result.error.reason, 'PG_INVALID_API_KEY');
    assert.ok(!result.error.message.includes('bad-key'));
  });
  it('a good key without the scope is 403', async () => {
    const result = await check({ 'x-api-key': 'good-key' });
    assert.ok(!result.ok);
    assert.equal(result.error.code, 7);
  });
});

describe('route policy', () => {
  it('no credential is 401 PG_UNAUTHENTICATED with the challenges', async () => {
    const result = await check({});
    assert.ok(!result.ok);
    assert.equal(result.error.reason, 'PG_UNAUTHENTICATED');
    assert.equal(result.error.headers['www-authenticate'], 'Bearer realm="protogate", ApiKey realm="protogate", header="x-api-key"');
  });
  it('public routes and routes without a policy (defaultPolicy public) have no guard', () => {
    const gate = createAuthGate(authConfig());
    assert.equal(gate.guardFor(route({ public: true, scopes: [] })), undefined);
    assert.equal(gate.guardFor(route(undefined)), undefined);
  });
  it('defaultPolicy authenticated guards routes without a policy, but not public ones', () => {
    const gate = createAuthGate(authConfig({ defaultPolicy: 'authenticated' }));
    assert.notEqual(gate.guardFor(route(undefined)), undefined);
    assert.equal(gate.guardFor(route({ public: true, scopes: [] })), undefined);
  });
});

describe('auth config', () => {
  const issues = (auth: unknown) => {
    const parsed = configSchema.safeParse({ auth });
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };
  it('rejects alg "none"', () => {
    assert.match(issues({ jwt: { secret: SECRET, algorithms: ['none'] } }).join('\n'), /auth\.jwt\.algorithms\.0: is "none"/);
  });
  it('rejects an algorithm the configured keys cannot verify', () => {
    assert.match(issues({ jwt: { secret: SECRET, algorithms: ['RS256'] } }).join('\n'), /needs a jwksFile or jwksUrl/);
  });
  it('needs a key and a scheme', () => {
    assert.match(issues({ jwt: {} }).join('\n'), /auth\.jwt: needs a key/);
    assert.match(issues({}).join('\n'), /auth: needs at least one scheme/);
  });
  it('rejects a short secret and a key stored in clear', () => {
    assert.match(issues({ jwt: { secret: 'short' } }).join('\n'), /at least 32/);
    assert.match(issues({ apiKeys: { keys: [{ sha256: 'plain-key', principal: 'p' }] } }).join('\n'), /SHA-256/);
  });
  it('defaults', () => {
    const auth = configSchema.parse({ auth: { jwt: { secret: SECRET } } }).auth!;
    assert.equal(auth.defaultPolicy, 'public');
    assert.deepEqual(auth.identityHeaders, { subject: 'x-user-id', scopes: 'x-user-scopes', roles: 'x-user-roles' });
    assert.equal(auth.jwt!.rolesClaim, 'roles');
    assert.equal(auth.forwardToken, false);
    assert.equal(auth.jwt!.clockSkewSeconds, 30);
  });
});

// The JWKS URL key source against a real JWKS endpoint on loopback, with RS256 and ES256 keys
// made here: the first fetch, key rotation (an unknown kid triggers one refetch), the cooldown
// that stops forged kids from hammering the IdP, stale-while-revalidate when refreshes fail, an
// IdP down at startup (503 material, not 401), the fetch timeout, and malformed answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import { createRemoteJwks, KeySourceUnavailable, type RemoteJwksOptions } from '../../../src/policy/remote-jwks.js';
import { makeSigningKey, signToken, startJwksServer, type JwksServer, type TestSigningKey } from '../../helpers/jwks-server.js';

let rsa: TestSigningKey;
let ec: TestSigningKey;
let rotated: TestSigningKey;
const servers: JwksServer[] = [];

before(async () => {
  [rsa, ec, rotated] = await Promise.all([makeSigningKey('RS256', 'rsa-1'), makeSigningKey('ES256', 'ec-1'), makeSigningKey('RS256', 'rsa-2')]);
});

after(async () => {
  await Promise.all(servers.map((server) => server.close().catch(() => undefined)));
});

async function server(): Promise<JwksServer> {
  const started = await startJwksServer([rsa.jwk, ec.jwk]);
  servers.push(started);
  return started;
}

/** A key source with recorded refresh errors; durations default to "never stale, no cooldown". */
function source(url: string, options: Partial<RemoteJwksOptions> = {}) {
  const errors: Array<{ message: string; keptKeys: boolean }> = [];
  const base: RemoteJwksOptions = {
    url,
    maxAgeMs: 60_000,
    cooldownMs: 0,
    timeoutMs: 2_000,
    onRefreshError: (error, keptKeys) => errors.push({ message: error.message, keptKeys }),
  };
  // descriptors, not a spread: a test may pass a getter to change an option later
  const jwks = createRemoteJwks(Object.defineProperties(base, Object.getOwnPropertyDescriptors(options)));
  const verify = (token: string) => jwtVerify(token, jwks.getKey, { algorithms: ['RS256', 'ES256'], issuer: 'https://idp.test' });
  return { jwks, errors, verify };
}

describe('JWKS URL', () => {
  it('fetches the keys once at creation and verifies RS256 and ES256 tokens with them', async () => {
    const idp = await server();
    const { jwks, verify, errors } = source(idp.url);
    assert.equal(jwks.state(), 'loading');
    await jwks.settled();
    assert.equal(jwks.state(), 'fresh');
    assert.equal((await verify(await signToken(rsa))).payload.sub, 'alice');
    assert.equal((await verify(await signToken(ec, { sub: 'bob' }))).payload.sub, 'bob');
    assert.equal(idp.fetches(), 1, 'fresh keys are not refetched');
    assert.deepEqual(errors, []);
  });

  it('rotation: a token with a new kid makes it refetch once, then verifies', async () => {
    const idp = await server();
    const { jwks, verify } = source(idp.url);
    await jwks.settled();
    idp.keys = [rsa.jwk, ec.jwk, rotated.jwk];
    assert.equal((await verify(await signToken(rotated, { sub: 'carol' }))).payload.sub, 'carol');
    assert.equal(idp.fetches(), 2);
    assert.equal((await verify(await signToken(rotated))).payload.sub, 'alice');
    assert.equal(idp.fetches(), 2, 'the rotated key is cached now');
  });

  it('cooldown: forged kids within the cooldown cause no fetch at all', async () => {
    const idp = await server();
    const { jwks, verify } = source(idp.url, { cooldownMs: 60_000 });
    await jwks.settled();
    for (let i = 0; i < 5; i++) {
      const forged = { ...rotated, kid: `forged-${i}` };
      await assert.rejects(verify(await signToken(forged)), (error: { code?: string }) => error.code === 'ERR_JWKS_NO_MATCHING_KEY');
    }
    assert.equal(idp.fetches(), 1);
  });

  it('stale-while-revalidate: failed refreshes keep the last keys, and each failure is reported', async () => {
    const idp = await server();
    const { jwks, verify, errors } = source(idp.url, { maxAgeMs: 1 });
    await jwks.settled();
    idp.mode = { kind: 'status', status: 503 };
    await new Promise((resolve) => setTimeout(resolve, 5)); // let the keys age past maxAgeMs
    assert.equal(jwks.state(), 'stale');
    assert.equal((await verify(await signToken(rsa))).payload.sub, 'alice', 'served from the stale keys');
    await jwks.settled();
    assert.deepEqual(errors, [{ message: 'HTTP 503 instead of 200', keptKeys: true }]);
    await idp.close();
    assert.equal((await verify(await signToken(ec))).payload.sub, 'alice', 'still served with the IdP gone');
    await jwks.settled();
    assert.equal(errors.length, 2);
    assert.match(errors[1]!.message, /cannot fetch it \(ECONNREFUSED\)/);
    assert.equal(errors[1]!.keptKeys, true);
  });

  it('a refresh after the max age picks up new keys without failing the token that triggered it', async () => {
    const idp = await server();
    const { jwks, verify } = source(idp.url, { maxAgeMs: 1 });
    await jwks.settled();
    idp.keys = [rotated.jwk];
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal((await verify(await signToken(rsa))).payload.sub, 'alice', 'answered from the cached set');
    await jwks.settled();
    assert.equal(idp.fetches(), 2);
    assert.equal((await verify(await signToken(rotated))).payload.sub, 'alice');
  });

  it('an IdP down at startup: KeySourceUnavailable with a Retry-After, no fetch within the cooldown, recovery after it', async () => {
    const idp = await server();
    idp.mode = { kind: 'status', status: 500 };
    let cooldownMs = 60_000;
    const { jwks, verify, errors } = source(idp.url, {
      get cooldownMs() {
        return cooldownMs;
      },
    });
    await jwks.settled();
    assert.equal(jwks.state(), 'unavailable');
    assert.deepEqual(errors, [{ message: 'HTTP 500 instead of 200', keptKeys: false }]);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(verify(await signToken(rsa)), (error) => {
        assert.ok(error instanceof KeySourceUnavailable);
        assert.ok(error.retryAfterSeconds >= 59 && error.retryAfterSeconds <= 60, String(error.retryAfterSeconds));
        return true;
      });
    }
    assert.equal(idp.fetches(), 1, 'tokens do not make a down IdP fetched again before the cooldown');
    idp.mode = { kind: 'keys' };
    cooldownMs = 0;
    assert.equal((await verify(await signToken(rsa))).payload.sub, 'alice', 'the next token after the cooldown fetches and passes');
    assert.equal(jwks.state(), 'fresh');
  });

  it('bounds a fetch by the timeout', async () => {
    const idp = await server();
    idp.mode = { kind: 'hang' };
    const { jwks, verify, errors } = source(idp.url, { timeoutMs: 150, cooldownMs: 60_000 });
    await assert.rejects(verify(await signToken(rsa)), KeySourceUnavailable);
    assert.deepEqual(errors, [{ message: 'no answer within 150 ms', keptKeys: false }]);
    assert.equal(jwks.state(), 'unavailable');
  });

  const malformed: Array<{ name: string; mode: JwksServer['mode']; says: RegExp }> = [
    { name: 'not JSON', mode: { kind: 'body', body: '<html>' }, says: /not JSON/ },
    { name: 'not a key set', mode: { kind: 'body', body: '{"kty":"RSA"}' }, says: /not a JWK Set/ },
    { name: 'a redirect (not followed)', mode: { kind: 'status', status: 302 }, says: /HTTP 302/ },
  ];
  for (const c of malformed) {
    it(`a refresh that gets ${c.name} fails and keeps the last keys`, async () => {
      const idp = await server();
      const { jwks, verify, errors } = source(idp.url, { maxAgeMs: 1 });
      await jwks.settled();
      idp.mode = c.mode;
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal((await verify(await signToken(rsa))).payload.sub, 'alice');
      await jwks.settled();
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, c.says);
      assert.equal(errors[0]!.keptKeys, true);
    });
  }
});

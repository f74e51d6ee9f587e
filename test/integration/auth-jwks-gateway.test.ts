// Authentication and authorization end to end, with the keys at a JWKS URL: a real JWKS HTTP
// server (RS256 and ES256 keys made here), the real gateway on loopback, and a real grpc-js
// backend that records the metadata it receives. Proves key rotation and stale keys over HTTP,
// the 503 while the IdP was never reachable, roles (403), accepted schemes (401), API keys from a
// file and from the query (never in a log, never bound as a field), that spoofed identity
// metadata never arrives, and that `authorization` arrives only with auth.forwardToken.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';
import { makeSigningKey, signToken, startJwksServer, type JwksServer, type TestSigningKey } from '../helpers/jwks-server.js';

const ROBOT_KEY = 'robot-key-6f1c2e';
const LIBRARIAN_KEY = 'librarian-key-93ab0d';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');

let rsa: TestSigningKey;
let ec: TestSigningKey;
let rotated: TestSigningKey;
let idp: JwksServer;
let backend: RunningGrpcServer;
let gateway: TestGateway;
let forwarding: TestGateway;
const logLines: string[] = [];
const logWaiters: Array<() => void> = [];

/** Resolves once the gateway's log holds `pattern` (no timers: woken by each log line). */
async function logged(pattern: RegExp): Promise<void> {
  while (!pattern.test(logLines.join(''))) await new Promise<void>((resolve) => logWaiters.push(resolve));
}
const calls: Array<{ method: string; metadata: grpc.Metadata }> = [];
const secureProtos = { paths: [testProtosDir], files: ['secure/v1/secure.proto'] };

function authConfig(extra: Record<string, unknown> = {}) {
  const keysFile = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-keys-it-')), 'keys.yaml');
  writeFileSync(
    keysFile,
    `- { sha256: ${sha(ROBOT_KEY)}, principal: robot, scopes: [notes.read] }\n- { sha256: ${sha(LIBRARIAN_KEY)}, principal: shelver, roles: [librarian] }\n`,
  );
  return {
    jwt: { jwksUrl: idp.url, jwksMaxAge: '1ms', jwksCooldown: '1ms', issuer: 'https://idp.test', audience: 'protogate-test' },
    apiKeys: { keysFile, query: 'api_key' },
    ...extra,
  };
}

before(async () => {
  [rsa, ec, rotated] = await Promise.all([makeSigningKey('RS256', 'rsa-1'), makeSigningKey('ES256', 'ec-1'), makeSigningKey('RS256', 'rsa-2')]);
  idp = await startJwksServer([rsa.jwk, ec.jwk]);
  const handler = (method: string) => (request: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
    calls.push({ method, metadata: call.metadata });
    return request;
  };
  backend = await startRawGrpcServer(
    Object.fromEntries(['Open', 'WhoAmI', 'Write', 'Shelve', 'RobotRead', 'PersonRead'].map((m) => [`/secure.v1.SecureService/${m}`, handler(m)])),
  );
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      for (const wake of logWaiters.splice(0)) wake();
      done();
    },
  });
  gateway = await startTestGateway(
    { protos: secureProtos, upstreams: [{ service: '*', target: backend.target }], auth: authConfig(), log: { level: 'debug', access: true } },
    pino({ level: 'debug' }, sink),
  );
  forwarding = await startTestGateway({ protos: secureProtos, upstreams: [{ service: '*', target: backend.target }], auth: authConfig({ forwardToken: true }) });
});

after(async () => {
  await gateway?.close();
  await forwarding?.close();
  await backend?.close();
  await idp?.close().catch(() => undefined);
});

beforeEach(() => {
  calls.length = 0;
});

const bearer = async (key: TestSigningKey, claims: Record<string, unknown> = {}) => ({ authorization: `Bearer ${await signToken(key, claims)}` });

describe('JWKS URL over HTTP', () => {
  it('RS256 and ES256 tokens verified with the fetched keys reach the backend with the identity', async () => {
    for (const key of [rsa, ec]) {
      calls.length = 0;
      const response = await fetchJson(`${gateway.base}/v1/whoami`, {
        method: 'POST',
        headers: await bearer(key, { sub: `user-${key.alg}`, scope: 'notes.read', roles: ['reader'] }),
        json: { id: '1' },
      });
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(calls[0]!.metadata.get('x-user-id'), [`user-${key.alg}`]);
      assert.deepEqual(calls[0]!.metadata.get('x-user-scopes'), ['notes.read']);
      assert.deepEqual(calls[0]!.metadata.get('x-user-roles'), ['reader']);
    }
  });

  it('key rotation: a token signed with a key the IdP just published is accepted', async () => {
    idp.keys = [rsa.jwk, ec.jwk, rotated.jwk];
    const before = idp.fetches();
    const response = await fetchJson(`${gateway.base}/v1/whoami`, { method: 'POST', headers: await bearer(rotated), json: {} });
    assert.equal(response.status, 200, response.text);
    assert.ok(idp.fetches() > before, 'the unknown kid made the gateway refetch');
  });

  it('a kid the IdP does not publish is 401, and the backend is not called', async () => {
    const response = await fetchJson(`${gateway.base}/v1/whoami`, { method: 'POST', headers: await bearer({ ...rotated, kid: 'forged' }), json: {} });
    assert.equal(response.status, 401);
    assert.equal(response.json.code, 16);
    assert.match(response.json.message, /no single configured key matches/);
    assert.equal(calls.length, 0);
  });
});

describe('roles and schemes over HTTP', () => {
  it('a method needing a role: 403 PG_MISSING_ROLE without it, 200 with it (token or API key)', async () => {
    const without = await fetchJson(`${gateway.base}/v1/shelved`, { method: 'POST', headers: await bearer(rsa, { roles: ['reader'] }), json: { id: '1' } });
    assert.equal(without.status, 403);
    assert.equal(without.json.code, 7);
    assert.equal(without.json.status, 'PERMISSION_DENIED');
    assert.match(without.json.message, /requires one of the roles "librarian", "admin"/);
    assert.equal(calls.length, 0);
    const withToken = await fetchJson(`${gateway.base}/v1/shelved`, { method: 'POST', headers: await bearer(ec, { roles: 'admin' }), json: { id: '1' } });
    assert.equal(withToken.status, 200);
    const withKey = await fetchJson(`${gateway.base}/v1/shelved`, { method: 'POST', headers: { 'x-api-key': LIBRARIAN_KEY }, json: { id: '2' } });
    assert.equal(withKey.status, 200);
    assert.deepEqual(calls[1]!.metadata.get('x-user-roles'), ['librarian']);
  });

  it('an API-key-only method refuses a bearer token with 401 naming the accepted scheme', async () => {
    const response = await fetchJson(`${gateway.base}/v1/robots/7`, { headers: await bearer(rsa) });
    assert.equal(response.status, 401);
    assert.equal(response.json.code, 16);
    assert.match(response.json.message, /does not accept a bearer token; it accepts only api-key/);
    assert.equal(response.headers.get('www-authenticate'), 'ApiKey realm="protogate", header="x-api-key", query="api_key"');
    assert.equal(calls.length, 0);
  });

  it('a token-only method refuses an API key with 401 naming the accepted scheme', async () => {
    const response = await fetchJson(`${gateway.base}/v1/people/7`, { headers: { 'x-api-key': ROBOT_KEY } });
    assert.equal(response.status, 401);
    assert.match(response.json.message, /accepts only jwt/);
    const ok = await fetchJson(`${gateway.base}/v1/people/7`, { headers: await bearer(rsa, { scope: 'notes.read' }) });
    assert.equal(ok.status, 200);
  });
});

describe('API keys from the keys file and the query', () => {
  it('a key in the query authenticates, and is taken out before query binding', async () => {
    const response = await fetchJson(`${gateway.base}/v1/robots/7?text=hello&api_key=${ROBOT_KEY}`);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { id: '7', text: 'hello' });
    assert.deepEqual(calls[0]!.metadata.get('x-user-id'), ['robot']);
  });

  it('a bad key in the query is 401 without echoing it; the backend is not called', async () => {
    const response = await fetchJson(`${gateway.base}/v1/robots/7?api_key=guessed-key-123`);
    assert.equal(response.status, 401);
    assert.equal(response.json.code, 16);
    assert.ok(!response.text.includes('guessed-key-123'));
    assert.equal(calls.length, 0);
  });

  it('the parameter is stripped on a public method too, instead of being an unknown field', async () => {
    const response = await fetchJson(`${gateway.base}/v1/open/1?api_key=${ROBOT_KEY}`);
    assert.equal(response.status, 200, response.text);
  });

  it('keys and tokens never reach the log', () => {
    const log = logLines.join('');
    assert.match(log, /"route":"\/v1\/robots\/\{id\}"/, 'access lines were written');
    for (const secret of [ROBOT_KEY, LIBRARIAN_KEY, 'guessed-key-123']) assert.ok(!log.includes(secret), `${secret} is not logged`);
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(log), 'no JWT is logged');
  });
});

describe('identity metadata at the backend', () => {
  it('spoofed identity and authorization metadata never arrive; authorization is not forwarded by default', async () => {
    const response = await fetchJson(`${gateway.base}/v1/whoami`, {
      method: 'POST',
      headers: {
        ...(await bearer(rsa, { roles: ['reader'] })),
        'x-user-id': 'mallory',
        'grpc-metadata-x-user-id': 'mallory',
        'grpc-metadata-x-user-roles': 'admin',
        'grpc-metadata-x-user-scopes': 'everything',
        'grpc-metadata-authorization': 'Bearer forged',
      },
      json: {},
    });
    assert.equal(response.status, 200);
    const metadata = calls[0]!.metadata;
    assert.deepEqual(metadata.get('x-user-id'), ['alice']);
    assert.deepEqual(metadata.get('x-user-roles'), ['reader']);
    assert.deepEqual(metadata.get('x-user-scopes'), ['']);
    assert.deepEqual(metadata.get('authorization'), []);
  });

  it('on a public method nothing of the kind arrives either', async () => {
    await fetchJson(`${gateway.base}/v1/open/1`, {
      headers: { 'grpc-metadata-x-user-roles': 'admin', 'grpc-metadata-authorization': 'Bearer forged', authorization: `Bearer ${await signToken(rsa)}` },
    });
    for (const name of ['x-user-id', 'x-user-roles', 'authorization']) assert.deepEqual(calls[0]!.metadata.get(name), [], name);
  });

  it('forwardToken: the verified Authorization header arrives as metadata, exactly once', async () => {
    const headers = await bearer(ec);
    const response = await fetchJson(`${forwarding.base}/v1/whoami`, { method: 'POST', headers: { ...headers, 'grpc-metadata-authorization': 'Bearer forged' }, json: {} });
    assert.equal(response.status, 200);
    assert.deepEqual(calls[0]!.metadata.get('authorization'), [headers.authorization]);
  });

  it('forwardToken: an API-key request forwards no authorization', async () => {
    const response = await fetchJson(`${forwarding.base}/v1/robots/1`, { headers: { 'x-api-key': ROBOT_KEY, authorization: 'Bearer not-verified' } });
    assert.equal(response.status, 200);
    assert.deepEqual(calls[0]!.metadata.get('authorization'), []);
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('an IdP that is down', () => {
  it('at startup: the gateway starts, tokens get 503 PG_AUTH_UNAVAILABLE with Retry-After, public methods and API keys work', async () => {
    const down = `http://127.0.0.1:${await closedPort()}/.well-known/jwks.json`;
    const warnings: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        warnings.push(chunk.toString());
        done();
      },
    });
    const cold = await startTestGateway(
      { protos: secureProtos, upstreams: [{ service: '*', target: backend.target }], auth: authConfig({ jwt: { jwksUrl: down, jwksCooldown: '30s', issuer: 'https://idp.test' } }) },
      pino({ level: 'warn' }, sink),
    );
    try {
      const response = await fetchJson(`${cold.base}/v1/whoami`, { method: 'POST', headers: await bearer(rsa), json: {} });
      assert.equal(response.status, 503);
      assert.equal(response.json.code, 14);
      assert.equal(response.json.status, 'UNAVAILABLE');
      assert.match(response.json.message, /cannot verify bearer tokens right now/);
      assert.ok(Number(response.headers.get('retry-after')) >= 1);
      assert.equal(calls.length, 0);
      assert.equal((await fetchJson(`${cold.base}/v1/open/1`)).status, 200);
      assert.equal((await fetchJson(`${cold.base}/v1/whoami`, { method: 'POST', headers: { 'x-api-key': ROBOT_KEY }, json: {} })).status, 200);
      assert.match(warnings.join(''), /JWKS fetch failed; bearer tokens are answered 503 until it succeeds/);
      assert.ok(warnings.join('').includes(`"jwksUrl":"${down}"`), 'the warning names the URL');
    } finally {
      await cold.close();
    }
  });

  it('after keys were fetched: tokens are still verified with the cached keys, and the failed refresh is logged', async () => {
    const response = await fetchJson(`${gateway.base}/v1/whoami`, { method: 'POST', headers: await bearer(ec), json: {} });
    assert.equal(response.status, 200);
    await idp.close();
    for (const key of [rsa, ec]) {
      const cached = await fetchJson(`${gateway.base}/v1/whoami`, { method: 'POST', headers: await bearer(key), json: {} });
      assert.equal(cached.status, 200, cached.text);
    }
    // the failed background refresh is reported once it settles
    await logged(/JWKS refresh failed; still verifying tokens with the last keys fetched/);
    assert.match(logLines.join(''), /"keptKeys":true/);
  });
});

describe('startup checks', () => {
  it('refuses a proto whose auth.schemes names a scheme the config does not set up', async () => {
    await assert.rejects(
      startTestGateway({ protos: secureProtos, upstreams: [{ service: '*', target: backend.target }], auth: { jwt: { secret: 'x'.repeat(32) } } }),
      /secure\.v1\.SecureService\/RobotRead \(secure\.proto:\d+\) accepts the "api-key" scheme in its proto's auth\.schemes, but the config has no auth\.apiKeys/,
    );
  });

  it('refuses an API-key query parameter named like a request field the query could set', async () => {
    await assert.rejects(
      startTestGateway({ protos: secureProtos, upstreams: [{ service: '*', target: backend.target }], auth: { apiKeys: { query: 'text', keys: [{ sha256: sha('k'), principal: 'p' }] } } }),
      /auth\.apiKeys\.query: is "text", which is also the request field secure\.v1\.Note\.text of secure\.v1\.SecureService\/Open \(secure\.proto:\d+\); .*choose another parameter name/,
    );
  });
});

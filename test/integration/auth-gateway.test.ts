// Authentication and authorization end to end: real HTTP in, a real grpc-js backend behind, real
// tokens (RS256, key made here, public key in a JWKS file) and a real API key. Proves that a
// rejected request never reaches the backend, that the backend sees the verified identity, and
// that identity headers a client sends are never forwarded.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

let backend: RunningGrpcServer;
let gateway: TestGateway;
let privateKey: CryptoKey;
const calls: Array<{ method: string; metadata: grpc.Metadata }> = [];

before(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-auth-it-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }] }));
  const handler = (method: string) => (request: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
    calls.push({ method, metadata: call.metadata });
    return request;
  };
  backend = await startRawGrpcServer({
    '/secure.v1.SecureService/Open': handler('Open'),
    '/secure.v1.SecureService/WhoAmI': handler('WhoAmI'),
    '/secure.v1.SecureService/Write': handler('Write'),
  });
  gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['secure/v1/secure.proto'] },
    upstreams: [{ service: '*', target: backend.target }],
    metadata: { forwardHeaders: ['x-user-id'] },
    auth: {
      jwt: { jwksFile, issuer: 'https://issuer.test', audience: 'secure-api' },
      apiKeys: { keys: [{ sha256: createHash('sha256').update('robot-key').digest('hex'), principal: 'robot', scopes: ['notes.read'] }] },
    },
  });
});

after(async () => {
  await gateway?.close();
  await backend?.close();
});

beforeEach(() => {
  calls.length = 0;
});

function token(claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', scope: 'notes.read notes.write', iss: 'https://issuer.test', aud: 'secure-api', exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .sign(privateKey);
}

describe('auth over HTTP', () => {
  it('a public method needs no credential', async () => {
    const response = await fetchJson(`${gateway.base}/v1/open/1`);
    assert.equal(response.status, 200);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.metadata.get('x-user-id').length, 0);
  });

  it('no credential: 401, WWW-Authenticate, code 16, and no backend call', async () => {
    const response = await fetchJson(`${gateway.base}/v1/whoami`, { method: 'POST', json: { id: '1' } });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm="protogate"/);
    assert.equal(response.json.code, 16);
    assert.equal(response.json.status, 'UNAUTHENTICATED');
    assert.equal(calls.length, 0);
  });

  it('an expired token: 401 invalid_token, before the body is even parsed', async () => {
    const expired = await token({ exp: Math.floor(Date.now() / 1000) - 3600 });
    const response = await fetchJson(`${gateway.base}/v1/whoami`, {
      method: 'POST',
      headers: { authorization: `Bearer ${expired}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.ok(!response.text.includes(expired), 'the token is never echoed');
    assert.equal(calls.length, 0);
  });

  it('a valid token: 200, the backend sees the identity, spoofed identity headers never arrive', async () => {
    const response = await fetchJson(`${gateway.base}/v1/whoami`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}`, 'x-user-id': 'mallory', 'grpc-metadata-x-user-scopes': 'admin' },
      json: { id: '1', text: 'hi' },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { id: '1', text: 'hi' });
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.metadata.get('x-user-id'), ['alice']);
    assert.deepEqual(calls[0]!.metadata.get('x-user-scopes'), ['notes.read notes.write']);
    assert.deepEqual(calls[0]!.metadata.get('authorization'), []);
  });

  it('a spoofed identity header on a public method never arrives either', async () => {
    const response = await fetchJson(`${gateway.base}/v1/open/1`, { headers: { 'x-user-id': 'mallory', 'grpc-metadata-x-user-id': 'mallory' } });
    assert.equal(response.status, 200);
    assert.deepEqual(calls[0]!.metadata.get('x-user-id'), []);
  });

  it('a missing scope: 403, code 7, naming the scope, no backend call', async () => {
    const response = await fetchJson(`${gateway.base}/v1/notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token({ scope: 'notes.read' })}` },
      json: { id: '1' },
    });
    assert.equal(response.status, 403);
    assert.equal(response.json.code, 7);
    assert.equal(response.json.status, 'PERMISSION_DENIED');
    assert.match(response.json.message, /"notes\.write"/);
    assert.equal(calls.length, 0);
  });

  it('with every scope the method answers', async () => {
    const response = await fetchJson(`${gateway.base}/v1/notes`, { method: 'POST', headers: { authorization: `Bearer ${await token()}` }, json: { id: '2' } });
    assert.equal(response.status, 200);
    assert.equal(calls.length, 1);
  });

  it('API keys: a good key authenticates, a bad one is 401 without a backend call', async () => {
    const good = await fetchJson(`${gateway.base}/v1/whoami`, { method: 'POST', headers: { 'x-api-key': 'robot-key' }, json: {} });
    assert.equal(good.status, 200);
    assert.deepEqual(calls[0]!.metadata.get('x-user-id'), ['robot']);
    assert.equal(calls[0]!.metadata.get('x-api-key').length, 0);
    calls.length = 0;
    const bad = await fetchJson(`${gateway.base}/v1/whoami`, { method: 'POST', headers: { 'x-api-key': 'wrong' }, json: {} });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.code, 16);
    assert.equal(calls.length, 0);
  });
});

describe('auth at startup', () => {
  it('refuses to serve protos that require auth when no auth is configured', async () => {
    await assert.rejects(
      startTestGateway({ protos: { paths: [testProtosDir], files: ['secure/v1/secure.proto'] }, upstreams: [{ service: '*', target: backend.target }] }),
      /requires authentication in its proto, but no `auth` is configured/,
    );
  });
});

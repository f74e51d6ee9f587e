// Per-method auth from the config (`auth.routes`) for protos that set none: by operationId
// (additional bindings follow their rpc), by service, else defaultPolicy; a proto annotation
// always wins; names that match nothing stop the gateway at startup. Real HTTP, a real grpc-js
// backend that counts calls, real API keys.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { configSchema } from '../../src/config/config-schema.js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const keys = [
  { sha256: sha256('reader-key'), principal: 'reader', scopes: ['echo.read'] },
  { sha256: sha256('plain-key'), principal: 'plain' },
  { sha256: sha256('staff-key'), principal: 'staff', roles: ['staff'] },
];

let backend: RunningGrpcServer;
let gateway: TestGateway;
let calls = 0;

before(async () => {
  const answer = (request: Buffer) => {
    calls++;
    return request;
  };
  backend = await startRawGrpcServer({
    '/echo.v1.EchoService/Echo': answer,
    '/echo.v1.EchoService/Fail': answer,
    '/echo.v1.EchoService/Slow': answer,
    '/secure.v1.SecureService/Open': answer,
    '/secure.v1.SecureService/Write': answer,
  });
  gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto', 'secure/v1/secure.proto'] },
    upstreams: [{ service: '*', target: backend.target }],
    auth: {
      // secure.proto's PersonRead names the jwt scheme, so it must be configured
      jwt: { secret: 'a demo secret of at least 32 characters' },
      apiKeys: { keys },
      defaultPolicy: 'public',
      routes: {
        // the rpc's primary operationId covers its additional bindings
        EchoService_Echo: { scopes: ['echo.read'] },
        EchoService_Fail: { roles: ['staff'] },
        // a service entry applies to its methods without their own entry…
        'echo.v1.EchoService': {},
        // …and never overrides a proto annotation (Open is public, Write needs notes.write)
        'secure.v1.SecureService': { public: true },
      },
    },
  });
});

after(async () => {
  await gateway?.close();
  await backend?.close();
});

beforeEach(() => {
  calls = 0;
});

const get = (path: string, key?: string) => fetchJson(`${gateway.base}${path}`, key === undefined ? {} : { headers: { 'x-api-key': key } });

describe('auth.routes', () => {
  it('requires the configured scope on an rpc and all its bindings', async () => {
    assert.equal((await get('/v1/echo/1')).status, 401);
    const missing = await get('/v1/echo/1', 'plain-key');
    assert.equal(missing.status, 403);
    assert.match(missing.json.message, /echo\.read/);
    assert.equal((await get('/v1/echo/1', 'reader-key')).status, 200);
    assert.equal((await get('/v1/echo/1/count', 'plain-key')).status, 403, 'an additional binding follows its rpc');
    assert.equal(calls, 1);
  });

  it('requires a configured role', async () => {
    const post = (key: string) => fetchJson(`${gateway.base}/v1/fail/0`, { method: 'POST', json: {}, headers: { 'x-api-key': key } });
    assert.equal((await post('reader-key')).status, 403);
    assert.equal((await post('staff-key')).status, 200);
  });

  it('applies the service entry to methods without their own (any credential)', async () => {
    assert.equal((await get('/v1/slow/1')).status, 401);
    assert.equal((await get('/v1/slow/1', 'plain-key')).status, 200);
  });

  it('never overrides what a proto says', async () => {
    assert.equal((await get('/v1/open/1')).status, 200, 'public in its proto');
    const write = await fetchJson(`${gateway.base}/v1/notes`, { method: 'POST', json: {}, headers: { 'x-api-key': 'plain-key' } });
    assert.equal(write.status, 403, 'the proto requires notes.write whatever the service entry says');
  });

  it('stops the gateway at startup for a name that matches nothing', async () => {
    await assert.rejects(
      startTestGateway({
        protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
        upstreams: [{ service: '*', target: backend.target }],
        auth: { apiKeys: { keys }, routes: { EchoService_Nope: {} } },
      }),
      /auth\.routes\.EchoService_Nope: names no served operationId or service/,
    );
  });

  it('refuses at config load a public rule with requirements, and a scheme that is not configured', () => {
    const parsed = configSchema.safeParse({ auth: { apiKeys: { keys }, routes: { A_B: { public: true, scopes: ['x'] }, C_D: { schemes: ['jwt'] } } } });
    assert.equal(parsed.success, false);
    const messages = parsed.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    assert.ok(messages.some((m) => m.startsWith('auth.routes.A_B.public: is true together with scopes')), messages.join('\n'));
    assert.ok(messages.some((m) => m.startsWith('auth.routes.C_D.schemes.0: is "jwt", which is not configured')), messages.join('\n'));
  });
});

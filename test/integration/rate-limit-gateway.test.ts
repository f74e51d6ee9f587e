// Rate limits end to end with the memory store: real HTTP in, a real grpc-js backend behind,
// real API keys. Proves that the call after the budget gets a 429 google.rpc.Status (code 8,
// Retry-After, RateLimit-* headers, RetryInfo) and never reaches the backend, that principals
// and anonymous client addresses have separate budgets, that every answer of a limited route
// carries the headers (errors too) while unlimited routes carry none, that the config limits
// routes the proto leaves alone, that the generated model serves the same limits, and that
// rejections are counted in the metrics.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { buildModel } from '../../codegen/build-model.js';
import { writeGeneratedOutput } from '../../codegen/generated-output.js';
import type { GatewayConfigInput } from '../../src/config/config-schema.js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

let backend: RunningGrpcServer;
const gateways: TestGateway[] = [];
const calls: string[] = [];
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

const PROTOS = { paths: [testProtosDir], files: ['limited/v1/limited.proto'] };

async function gateway(extra: GatewayConfigInput = {}): Promise<TestGateway> {
  const started = await startTestGateway({
    protos: PROTOS,
    upstreams: [{ service: '*', target: backend.target }],
    // the test client is a trusted proxy, so X-Forwarded-For picks each request's client address
    server: { trustedProxies: ['127.0.0.1'] },
    auth: {
      apiKeys: {
        keys: [
          { sha256: sha256('key-a'), principal: 'robot-a' },
          { sha256: sha256('key-b'), principal: 'robot-b' },
        ],
      },
    },
    ...extra,
  });
  gateways.push(started);
  return started;
}

before(async () => {
  const handler = (method: string) => (request: Buffer) => {
    calls.push(method);
    return request;
  };
  backend = await startRawGrpcServer({
    '/limited.v1.LimitedService/Anon': handler('Anon'),
    '/limited.v1.LimitedService/Mine': handler('Mine'),
    '/limited.v1.LimitedService/Free': handler('Free'),
  });
});

after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await backend?.close();
});

beforeEach(() => {
  calls.length = 0;
});

const from = (ip: string, headers: Record<string, string> = {}) => ({ headers: { 'x-forwarded-for': ip, ...headers } });

function assertLimited(res: { status: number; headers: Headers; json: any }, limit: number, remaining: number, windowSeconds: number): void {
  assert.equal(res.headers.get('ratelimit-limit'), String(limit));
  assert.equal(res.headers.get('ratelimit-remaining'), String(remaining));
  assert.equal(res.headers.get('ratelimit-policy'), `${limit};w=${windowSeconds}`);
  const reset = Number(res.headers.get('ratelimit-reset'));
  assert.ok(Number.isInteger(reset) && reset >= 1 && reset <= windowSeconds, `RateLimit-Reset ${reset}`);
}

describe('rate limits over HTTP (memory store)', () => {
  let g: TestGateway;
  before(async () => {
    g = await gateway({ server: { trustedProxies: ['127.0.0.1'], adminPort: 0 } });
  });

  it('the call after the budget: 429 RESOURCE_EXHAUSTED with Retry-After and RetryInfo; the backend saw exactly 3', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetchJson(`${g.base}/v1/anon/${i}`, from('198.51.100.1'));
      assert.equal(res.status, 200, res.text);
      assertLimited(res, 3, 2 - i, 3600);
    }
    const refused = await fetchJson(`${g.base}/v1/anon/4`, from('198.51.100.1'));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('content-type'), 'application/json');
    assert.equal(refused.json.code, 8);
    assert.equal(refused.json.status, 'RESOURCE_EXHAUSTED');
    assert.match(refused.json.message, /rate limit exceeded for limited\.v1\.LimitedService\/Anon: 3 requests per 3600s per caller; retry in \d+s/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 1200, `Retry-After ${retryAfter}`);
    assertLimited(refused, 3, 0, 3600);
    assert.deepEqual(refused.json.details, [
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` },
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'PG_RATE_LIMITED', domain: 'protogate' },
    ]);
    assert.deepEqual(calls, ['Anon', 'Anon', 'Anon']);
  });

  it('anonymous callers are counted per client address', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await fetchJson(`${g.base}/v1/anon/x`, from('198.51.100.2'))).status, 200);
    assert.equal((await fetchJson(`${g.base}/v1/anon/x`, from('198.51.100.2'))).status, 429);
    const other = await fetchJson(`${g.base}/v1/anon/x`, from('198.51.100.3'));
    assert.equal(other.status, 200, 'another address has its own budget');
    assertLimited(other, 3, 2, 3600);
    assert.equal(calls.length, 4);
  });

  it('authenticated callers are counted per principal, whatever their address', async () => {
    const asA = from('198.51.100.10', { 'x-api-key': 'key-a' });
    const asB = from('198.51.100.10', { 'x-api-key': 'key-b' });
    for (let i = 0; i < 2; i++) assert.equal((await fetchJson(`${g.base}/v1/mine`, { method: 'POST', json: { id: `a${i}` }, ...asA })).status, 200);
    const refused = await fetchJson(`${g.base}/v1/mine`, { method: 'POST', json: { id: 'a2' }, ...asA });
    assert.equal(refused.status, 429);
    assertLimited(refused, 2, 0, 3600);
    const elsewhere = await fetchJson(`${g.base}/v1/mine`, { method: 'POST', json: { id: 'a3' }, ...from('203.0.113.99', { 'x-api-key': 'key-a' }) });
    assert.equal(elsewhere.status, 429, 'a new address does not reset a principal\'s budget');
    const b = await fetchJson(`${g.base}/v1/mine`, { method: 'POST', json: { id: 'b0' }, ...asB });
    assert.equal(b.status, 200, 'robot-b has its own budget from the same address');
    assertLimited(b, 2, 1, 3600);
    assert.deepEqual(calls, ['Mine', 'Mine', 'Mine']);
  });

  it('a refused call is refused before its body is read; an authentication failure is answered first', async () => {
    const asA = from('198.51.100.11', { 'x-api-key': 'key-a', 'content-type': 'application/json' });
    const refused = await fetchJson(`${g.base}/v1/mine`, { method: 'POST', body: '{not json', ...asA });
    assert.equal(refused.status, 429, 'robot-a used its budget in the previous test');
    const anonymous = await fetchJson(`${g.base}/v1/mine`, { method: 'POST', json: { id: 'x' }, ...from('198.51.100.11') });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('ratelimit-limit'), null, 'no budget is spent or shown before authentication');
    assert.equal(calls.length, 0);
  });

  it('errors of a limited route carry the headers too; unlimited routes carry none', async () => {
    const bad = await fetchJson(`${g.base}/v1/anon/x?nope=1`, from('198.51.100.20'));
    assert.equal(bad.status, 400);
    assertLimited(bad, 3, 2, 3600);
    const free = await fetchJson(`${g.base}/v1/free/x`, from('198.51.100.20'));
    assert.equal(free.status, 200);
    assert.equal(free.headers.get('ratelimit-limit'), null);
    assert.equal(free.headers.get('ratelimit-policy'), null);
  });

  it('counts rejections in protogate_rate_limit_rejections_total by route', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${g.adminPort}/metrics`)).text();
    // earlier tests: 1 + 1 on /v1/anon/{id}, 2 + 1 on /v1/mine
    assert.match(metrics, /^protogate_rate_limit_rejections_total\{route="\/v1\/anon\/\{id\}",method="GET"\} 2$/m);
    assert.match(metrics, /^protogate_rate_limit_rejections_total\{route="\/v1\/mine",method="POST"\} 3$/m);
    assert.match(metrics, /^protogate_rate_limit_store_failures_total 0$/m);
  });
});

describe('limits from the config', () => {
  it('rateLimit.routes limits a route the proto leaves alone; the proto wins where it sets one', async () => {
    const g = await gateway({ rateLimit: { default: { requests: 100, per: '1m' }, routes: { LimitedService_Free: { requests: 1, per: '10s', key: 'ip' } } } });
    const first = await fetchJson(`${g.base}/v1/free/1`, from('198.51.100.30'));
    assert.equal(first.status, 200);
    assertLimited(first, 1, 0, 10);
    assert.equal((await fetchJson(`${g.base}/v1/free/2`, from('198.51.100.30'))).status, 429);
    const anon = await fetchJson(`${g.base}/v1/anon/1`, from('198.51.100.30'));
    assertLimited(anon, 3, 2, 3600);
    assert.deepEqual(calls, ['Free', 'Anon']);
  });

  it('a rateLimit.routes name that matches nothing stops the gateway at startup, naming the key', async () => {
    await assert.rejects(gateway({ rateLimit: { routes: { LimitedService_Nope: { requests: 1, per: '1s' } } } }), /rateLimit\.routes\.LimitedService_Nope: names no served operationId or service/);
  });
});

describe('the generated model', () => {
  it('`serve --generated` enforces the same proto limits', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'protogate-rl-generated-'));
    const built = buildModel({ protoPaths: PROTOS.paths, protoFiles: PROTOS.files });
    writeGeneratedOutput(out, built.model, {}, PROTOS.files);
    const g = await gateway({ protos: { generated: out }, docs: { enabled: false } });
    for (let i = 0; i < 3; i++) assert.equal((await fetchJson(`${g.base}/v1/anon/${i}`, from('198.51.100.40'))).status, 200);
    const refused = await fetchJson(`${g.base}/v1/anon/3`, from('198.51.100.40'));
    assert.equal(refused.status, 429);
    assertLimited(refused, 3, 0, 3600);
    assert.equal(calls.length, 3);
  });
});

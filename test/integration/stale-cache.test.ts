// Graceful degradation and conditional GETs through the whole gateway, against real grpc-js
// backends on loopback: the last good answer of a GET URL is served, marked stale, once the
// backend is stopped (never for POST, other URLs, other principals, too-old entries or clients
// that refuse stale answers); every GET 200 carries an ETag and If-None-Match gets a 304.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import type { GatewayConfigInput } from '../../src/config/config-schema.js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

const ECHO = { paths: [testProtosDir], files: ['echo/v1/echo.proto'] };
const STALE = 'protogate; hit; detail=stale-upstream-unavailable';
// no retries: a stopped backend answers UNAVAILABLE at once
const NO_RETRIES = { retry: { maxRetries: 0 } };

/** An echo backend that appends `count = generation` (field 2, varint) to each answer, so a test can tell an old answer from a new one. */
async function startGenerationBackend(generation: { value: number }): Promise<RunningGrpcServer> {
  const answer = (request: Buffer) => Buffer.concat([request, Buffer.from([0x10, generation.value])]);
  return startRawGrpcServer({ '/echo.v1.EchoService/Echo': answer });
}

async function startStaleGateway(backend: RunningGrpcServer, extra: Partial<GatewayConfigInput> = {}, maxStale = '1m', logger?: pino.Logger): Promise<TestGateway> {
  return startTestGateway(
    {
      protos: ECHO,
      upstreams: [{ service: '*', target: backend.target }],
      resilience: { ...NO_RETRIES, staleCache: { enabled: true, maxStale } },
      ...extra,
    },
    logger,
  );
}

describe('stale cache: the backend stops', () => {
  const generation = { value: 1 };
  let backend: RunningGrpcServer;
  let gateway: TestGateway;
  let lastEtag: string;
  let lastBody: string;
  const accessLines: Array<Record<string, unknown>> = [];

  before(async () => {
    backend = await startGenerationBackend(generation);
    const logger = pino({ level: 'info' }, { write: (line: string) => void accessLines.push(JSON.parse(line) as Record<string, unknown>) });
    gateway = await startStaleGateway(backend, { server: { adminPort: 0 }, log: { level: 'info', access: true } }, '1m', logger);
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/a?words=x`)).json.count, 1);
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/a`)).json.count, 1);
    assert.equal((await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'posted' } })).status, 200);
    // a newer answer replaces the kept one
    generation.value = 2;
    const fresh = await fetchJson(`${gateway.base}/v1/echo/a`);
    assert.equal(fresh.json.count, 2);
    assert.equal(fresh.headers.get('cache-status'), null, 'a fresh answer is not marked');
    lastEtag = fresh.headers.get('etag')!;
    lastBody = fresh.text;
    // a client saying no-store is answered, but its answer is not kept
    generation.value = 3;
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/a`, { headers: { 'cache-control': 'no-store' } })).json.count, 3);
    await backend.close();
  });
  after(async () => {
    await gateway.close();
  });

  it('serves the last kept answer of the URL with Age and Cache-Status', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/a`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, lastBody, 'byte for byte the last kept answer');
    assert.equal(res.json.count, 2);
    assert.match(res.headers.get('age') ?? '', /^\d+$/);
    assert.ok(Number(res.headers.get('age')) < 60);
    assert.equal(res.headers.get('cache-status'), STALE);
    assert.equal(res.headers.get('etag'), lastEtag, 'the stale answer keeps its ETag');
    assert.equal(res.headers.get('content-type'), 'application/json');
  });

  it('counts stale answers in /metrics and marks them in the access log', async () => {
    accessLines.length = 0;
    const scrape = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('protogate_stale_answers_total{route="/v1/echo/{id}",method="GET"}'));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const before = await scrape();
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/a`)).status, 200);
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/never`)).status, 503);
    assert.equal(await scrape(), before + 1);
    const requests = accessLines.filter((line) => line['msg'] === 'request');
    assert.deepEqual(
      requests.map((line) => [line['status'], line['stale']]),
      [
        [200, true],
        [503, undefined],
      ],
    );
  });

  it('keys by path and query: another query string has its own entry', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/a?words=x`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.count, 1);
    assert.deepEqual(res.json.words, ['x']);
  });

  it('answers 503 for a URL it never saw answered', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/b`);
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.status, 'UNAVAILABLE');
    assert.equal(res.headers.get('cache-status'), null);
  });

  it('never serves a POST stale', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'posted' } });
    assert.equal(res.status, 503, res.text);
  });

  it('answers 503 to a client that refuses stale answers (no-cache, no-store, Pragma, max-stale=0)', async () => {
    for (const headers of [{ 'cache-control': 'no-cache' }, { 'cache-control': 'max-age=0, no-store' }, { pragma: 'no-cache' }, { 'cache-control': 'max-stale=0' }]) {
      const res = await fetchJson(`${gateway.base}/v1/echo/a`, { headers });
      assert.equal(res.status, 503, `${JSON.stringify(headers)}: ${res.text}`);
    }
    // a generous max-stale is still served (maxStale in config caps it)
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/a`, { headers: { 'cache-control': 'max-stale=3600' } })).status, 200);
  });

  it('answers 304 to If-None-Match naming the stale answer', async () => {
    // fetch adds `Cache-Control: no-cache` to a request carrying If-None-Match unless one is given
    // (Fetch standard, HTTP-network-or-cache fetch); a browser revalidating its own cache does not
    const res = await fetch(`${gateway.base}/v1/echo/a`, { headers: { 'if-none-match': lastEtag, 'cache-control': 'max-stale=60' } });
    assert.equal(res.status, 304);
    assert.equal(await res.text(), '');
    assert.equal(res.headers.get('etag'), lastEtag);
    assert.equal(res.headers.get('cache-status'), STALE);
  });
});

describe('stale cache: the breaker and deadlines', () => {
  it('serves the kept answer while the circuit breaker is open (it answers UNAVAILABLE without calling)', async () => {
    const backend = await startGenerationBackend({ value: 4 });
    const gateway = await startStaleGateway(backend, { server: { adminPort: 0 }, resilience: { ...NO_RETRIES, breaker: { failureThreshold: 2, cooldown: '1m' }, staleCache: { enabled: true } } });
    try {
      const fresh = await fetchJson(`${gateway.base}/v1/echo/kept`);
      await backend.close();
      for (const id of ['x1', 'x2', 'x3']) assert.equal((await fetchJson(`${gateway.base}/v1/echo/${id}`)).status, 503);
      const metrics = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
      assert.match(metrics, new RegExp(`protogate_upstream_breaker_state\\{target="${backend.target}"\\} 2`), 'the breaker is open');
      const res = await fetchJson(`${gateway.base}/v1/echo/kept`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, fresh.text);
      assert.equal(res.headers.get('cache-status'), STALE);
    } finally {
      await gateway.close();
    }
  });

  it('serves the kept answer when the upstream call runs out of its deadline (DEADLINE_EXCEEDED)', async () => {
    // Slow has a 300 ms deadline (proto option): the first call answers at once, later ones too late
    let calls = 0;
    const backend = await startRawGrpcServer({
      '/echo.v1.EchoService/Slow': async (request: Buffer) => {
        if (calls++ > 0) await sleep(1000);
        return request;
      },
    });
    const gateway = await startStaleGateway(backend);
    try {
      const fresh = await fetchJson(`${gateway.base}/v1/slow/s`);
      assert.equal(fresh.status, 200, fresh.text);
      const res = await fetchJson(`${gateway.base}/v1/slow/s`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, fresh.text);
      assert.equal(res.headers.get('cache-status'), STALE);
      assert.equal((await fetchJson(`${gateway.base}/v1/slow/other`)).status, 504, 'without a kept answer: the deadline error');
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});

describe('stale cache: maxStale', () => {
  it('never serves an entry older than maxStale', async () => {
    const backend = await startGenerationBackend({ value: 1 });
    const gateway = await startStaleGateway(backend, {}, '300ms');
    try {
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/old`)).status, 200);
      await backend.close();
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/old`)).status, 200, 'still within maxStale');
      // time must pass for an entry to age; there is no event to wait on
      await sleep(350);
      const res = await fetchJson(`${gateway.base}/v1/echo/old`);
      assert.equal(res.status, 503, res.text);
    } finally {
      await gateway.close();
    }
  });

  it('is off by default: a stopped backend gives 503 even for a URL answered before', async () => {
    const backend = await startGenerationBackend({ value: 1 });
    const gateway = await startTestGateway({ protos: ECHO, upstreams: [{ service: '*', target: backend.target }], resilience: NO_RETRIES });
    try {
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/x`)).status, 200);
      await backend.close();
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/x`)).status, 503);
    } finally {
      await gateway.close();
    }
  });
});

describe('stale cache: routes that need auth', () => {
  const keyOf = (key: string) => createHash('sha256').update(key).digest('hex');
  let backend: RunningGrpcServer;
  let gateway: TestGateway;

  before(async () => {
    // the secure proto names the jwt scheme too, so the config must have one; these tests use API keys
    const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-stale-')), 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK((await generateKeyPair('RS256')).publicKey)), kid: 'k1', alg: 'RS256' }] }));
    // answers the note with text = the principal the gateway forwarded (Note.text, field 2)
    backend = await startRawGrpcServer({
      '/secure.v1.SecureService/RobotRead': (request: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
        const who = Buffer.from(String(call.metadata.get('x-user-id')[0] ?? ''));
        return Buffer.concat([request, Buffer.from([0x12, who.length]), who]);
      },
    });
    gateway = await startTestGateway({
      protos: { paths: [testProtosDir], files: ['secure/v1/secure.proto'] },
      upstreams: [{ service: '*', target: backend.target }],
      resilience: { ...NO_RETRIES, staleCache: { enabled: true } },
      auth: {
        jwt: { jwksFile, issuer: 'https://issuer.test', audience: 'secure-api' },
        apiKeys: {
          keys: [
            { sha256: keyOf('robot-key'), principal: 'robot' },
            { sha256: keyOf('other-key'), principal: 'other' },
          ],
        },
      },
    });
  });
  after(async () => {
    await gateway.close();
  });

  it("serves a caller only its own kept answer, and still checks credentials first", async () => {
    const first = await fetchJson(`${gateway.base}/v1/robots/1`, { headers: { 'x-api-key': 'robot-key' } });
    assert.deepEqual(first.json, { id: '1', text: 'robot' });
    await backend.close();

    const stale = await fetchJson(`${gateway.base}/v1/robots/1`, { headers: { 'x-api-key': 'robot-key' } });
    assert.equal(stale.status, 200, stale.text);
    assert.deepEqual(stale.json, { id: '1', text: 'robot' });
    assert.equal(stale.headers.get('cache-status'), STALE);

    const other = await fetchJson(`${gateway.base}/v1/robots/1`, { headers: { 'x-api-key': 'other-key' } });
    assert.equal(other.status, 503, `another principal never gets robot's answer: ${other.text}`);
    assert.equal((await fetchJson(`${gateway.base}/v1/robots/1`)).status, 401);
  });
});

describe('ETag and If-None-Match', () => {
  let backend: RunningGrpcServer;
  let gateway: TestGateway;

  before(async () => {
    backend = await startGenerationBackend({ value: 7 });
    gateway = await startTestGateway({ protos: ECHO, upstreams: [{ service: '*', target: backend.target }] });
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  it('tags a GET answer with a weak ETag and answers 304 with no body when the client holds it', async () => {
    const first = await fetchJson(`${gateway.base}/v1/echo/e`);
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^W\/"[A-Za-z0-9_-]{22}"$/);
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/e`)).headers.get('etag'), etag, 'the same body, the same tag');
    assert.notEqual((await fetchJson(`${gateway.base}/v1/echo/f`)).headers.get('etag'), etag, 'another body, another tag');

    for (const header of [etag, etag.slice(2), `W/"other", ${etag}`, '*']) {
      const res = await fetch(`${gateway.base}/v1/echo/e`, { headers: { 'if-none-match': header } });
      assert.equal(res.status, 304, header);
      assert.equal(await res.text(), '');
      assert.equal(res.headers.get('etag'), etag);
      assert.equal(res.headers.get('content-length'), null, 'a 304 does not claim an empty representation');
      assert.equal(res.headers.get('vary'), 'Accept-Encoding', 'the Vary its 200 may carry (compression is on by default)');
    }
    const changed = await fetchJson(`${gateway.base}/v1/echo/e`, { headers: { 'if-none-match': 'W/"other"' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.json.id, 'e');
  });

  it('tags neither POST answers nor errors', async () => {
    const posted = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'p' } });
    assert.equal(posted.status, 200);
    assert.equal(posted.headers.get('etag'), null);
    const bad = await fetchJson(`${gateway.base}/v1/echo/e?nope=1`);
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('etag'), null);
  });

  it('is off with `etag: false`', async () => {
    const plain = await startTestGateway({ protos: ECHO, upstreams: [{ service: '*', target: backend.target }], etag: false });
    try {
      const res = await fetch(`${plain.base}/v1/echo/e`, { headers: { 'if-none-match': '*' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('etag'), null);
      assert.equal(JSON.parse(await res.text()).id, 'e');
    } finally {
      await plain.close();
    }
  });
});

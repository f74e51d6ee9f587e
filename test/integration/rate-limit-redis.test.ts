// Rate limits in Redis, end to end: two gateway instances share one budget through the real Redis
// on 127.0.0.1:6379 (keys under a prefix unique to this run, deleted afterwards); the store's Lua
// GCRA against a private redis-server (same arithmetic as the memory store, TTLs, EVAL fallback
// after SCRIPT FLUSH); and against a redis-server this test starts, pauses and kills, the store failure modes: `closed` answers 503
// and calls nothing, `open` lets calls through with one logged warning, a hung Redis costs a
// request no more than the command timeout, and both recover by themselves when Redis is back.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { GatewayConfigInput } from '../../src/config/config-schema.js';
import { fetchJson, startTestGateway, testProtosDir, type JsonResponse, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { GCRA_SCRIPT_SHA, createRedisStore } from '../../src/policy/rate-limit-redis.js';
import { remainingTokens } from '../../src/policy/rate-limit.js';

const SHARED_REDIS = 'redis://127.0.0.1:6379';
let backend: RunningGrpcServer;
const gateways: TestGateway[] = [];
let calls = 0;

async function gateway(rateLimit: GatewayConfigInput['rateLimit'], extra: GatewayConfigInput = {}, logger?: pino.Logger): Promise<TestGateway> {
  const started = await startTestGateway(
    {
      protos: { paths: [testProtosDir], files: ['limited/v1/limited.proto'] },
      upstreams: [{ service: '*', target: backend.target }],
      server: { trustedProxies: ['127.0.0.1'] },
      auth: { apiKeys: { keys: [{ sha256: '0'.repeat(64), principal: 'unused' }] } },
      rateLimit,
      ...extra,
    },
    logger,
  );
  gateways.push(started);
  return started;
}

/** GET /v1/anon/x (3 calls an hour per caller) as the client at `ip`; fails instead of hanging. */
const anon = (g: TestGateway, ip: string): Promise<JsonResponse> =>
  fetchJson(`${g.base}/v1/anon/x`, { headers: { 'x-forwarded-for': ip }, signal: AbortSignal.timeout(5000) });

before(async () => {
  backend = await startRawGrpcServer({
    '/limited.v1.LimitedService/Anon': (request) => {
      calls++;
      return request;
    },
  });
});

after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await backend?.close();
});

beforeEach(() => {
  calls = 0;
});

describe('two gateway instances, one Redis', () => {
  const keyPrefix = `protogate-test:${process.pid}:${Date.now()}:`;
  let probe: Redis;

  before(async () => {
    probe = new Redis(SHARED_REDIS, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await probe.connect().catch((error: Error) => {
      throw new Error(`the shared Redis at ${SHARED_REDIS} is not reachable (${error.message}); these tests need it running`);
    });
  });

  after(async () => {
    const keys = await probe.keys(`${keyPrefix}*`);
    if (keys.length > 0) await probe.del(...keys);
    await probe.quit();
  });

  it('share one budget: the 4th call fails on either instance, and the backend saw 3', async () => {
    const rateLimit = { store: 'redis', redis: { url: SHARED_REDIS, keyPrefix } } as const;
    const one = await gateway(rateLimit);
    const two = await gateway(rateLimit);
    const answers = [];
    for (const g of [one, two, one, two, one]) answers.push(await anon(g, '198.51.100.1'));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 429, 429],
    );
    assert.deepEqual(
      answers.map((a) => a.headers.get('ratelimit-remaining')),
      ['2', '1', '0', '0', '0'],
    );
    assert.equal(answers[3]!.json.code, 8);
    assert.ok(Number(answers[3]!.headers.get('retry-after')) >= 1);
    assert.equal(calls, 3);
    assert.equal((await anon(two, '198.51.100.2')).status, 200, 'another caller has its own budget');
    const keys = await probe.keys(`${keyPrefix}*`);
    assert.equal(keys.length, 2, `one bucket per caller: ${keys.join(', ')}`);
    const ttl = await probe.pttl(keys[0]!);
    assert.ok(ttl > 0 && ttl <= 3_600_000, `buckets expire once full again (PTTL ${ttl})`);
  });
});

describe('the Redis store on its own', () => {
  let redis: RedisServer;
  let admin: Redis;
  let store: Awaited<ReturnType<typeof createRedisStore>>;

  before(async () => {
    redis = await startRedisServer(await freePort());
    admin = new Redis(redis.url);
    store = await createRedisStore({ url: redis.url, keyPrefix: 'unit:', connectTimeoutMs: 2000, commandTimeoutMs: 1000 });
  });

  after(async () => {
    await store?.close();
    await admin?.quit();
    await redis?.kill();
  });

  it('runs the same GCRA as the memory store: 7 per minute is a burst of exactly 7', async () => {
    assert.equal(store.connectedAtStart, true);
    const limit = { intervalMs: 60_000 / 7, windowMs: 60_000 };
    const states = [];
    for (let i = 0; i < 8; i++) states.push(await store.take('seven', limit));
    assert.deepEqual(
      states.map((s) => s.allowed),
      [true, true, true, true, true, true, true, false],
    );
    assert.deepEqual(
      states.slice(0, 7).map((s) => remainingTokens(s, limit)),
      [6, 5, 4, 3, 2, 1, 0],
    );
    // Redis's clock moved on a little between the calls
    assert.ok(states[7]!.retryInMs > 8000 && states[7]!.retryInMs <= 60_000 / 7, `retry in ${states[7]!.retryInMs} ms`);
    const ttl = await admin.pttl('unit:seven');
    assert.ok(ttl > 59_000 && ttl <= 60_000, `the key lives until the bucket is full again (PTTL ${ttl})`);
  });

  it('falls back to EVAL when Redis lost the script (restart, SCRIPT FLUSH), and caches it again', async () => {
    await admin.script('FLUSH');
    const state = await store.take('flushed', { intervalMs: 1000, windowMs: 1000 });
    assert.equal(state.allowed, true);
    const cached = (await admin.script('EXISTS', GCRA_SCRIPT_SHA)) as number[];
    assert.deepEqual(cached, [1]);
  });
});

describe('when Redis fails', () => {
  let redis: RedisServer;
  let closed: TestGateway;
  let open: TestGateway;
  const warnings: string[] = [];

  before(async () => {
    redis = await startRedisServer(await freePort());
    const store = (onStoreFailure: 'open' | 'closed') =>
      ({ store: 'redis', onStoreFailure, redis: { url: redis.url, keyPrefix: 'pg:', commandTimeout: '200ms' } }) as const;
    closed = await gateway(store('closed'), { server: { trustedProxies: ['127.0.0.1'], adminPort: 0 } });
    const logger = pino({ level: 'info' }, { write: (line: string) => void warnings.push(line) });
    open = await gateway(store('open'), {}, logger);
  });

  after(async () => {
    await redis?.kill();
  });

  const storeFailureLogs = () => warnings.filter((line) => line.includes('rate-limit store failed'));

  it('works while Redis answers', async () => {
    const res = await anon(closed, '198.51.100.10');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ratelimit-remaining'), '2');
    assert.equal((await anon(open, '198.51.100.10')).status, 200);
  });

  it('a hung Redis (SIGSTOP) costs a request the command timeout, not a hang', async () => {
    redis.pause();
    try {
      const refused = await anon(closed, '198.51.100.11');
      assert.equal(refused.status, 503);
      const through = await anon(open, '198.51.100.11');
      assert.equal(through.status, 200);
      assert.equal(through.headers.get('ratelimit-limit'), null);
    } finally {
      redis.resume();
    }
    assert.equal(calls, 1, 'only the fail-open call reached the backend');
  });

  it('Redis killed: closed answers 503 UNAVAILABLE with Retry-After and calls nothing', async () => {
    await redis.kill();
    const res = await anon(closed, '198.51.100.12');
    assert.equal(res.status, 503);
    assert.equal(res.json.code, 14);
    assert.equal(res.json.status, 'UNAVAILABLE');
    assert.equal(res.json.details[0].reason, 'PG_RATE_LIMIT_STORE_UNAVAILABLE');
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(calls, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${closed.adminPort}/metrics`)).text();
    const failures = Number(/^protogate_rate_limit_store_failures_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(failures >= 2, `store failures counted: ${failures}`);
  });

  it('Redis killed: open lets every call through, warning once rather than per request', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await anon(open, '198.51.100.12');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ratelimit-limit'), null, 'no budget to report');
    }
    assert.equal(calls, 5, 'the limit is not enforced while the store is down');
    assert.equal(storeFailureLogs().length, 1, storeFailureLogs().join('\n'));
    assert.match(storeFailureLogs()[0]!, /"level":40/);
    assert.match(storeFailureLogs()[0]!, /letting requests through unlimited/);
  });

  it('recovers by itself when Redis is back on the same port, and limits again', async () => {
    redis = await startRedisServer(redis.port);
    // ioredis reconnects in the background (backoff capped at 1 s); wait for the first answer that is not a 503
    let res = await anon(closed, '198.51.100.13');
    for (let deadline = Date.now() + 15_000; res.status === 503 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res = await anon(closed, '198.51.100.13');
    }
    assert.equal(res.status, 200, 'closed serves again once Redis answers');
    assert.equal(res.headers.get('ratelimit-remaining'), '2');
    assert.equal((await anon(closed, '198.51.100.13')).status, 200);
    assert.equal((await anon(closed, '198.51.100.13')).status, 200);
    assert.equal((await anon(closed, '198.51.100.13')).status, 429, 'and enforces the limit again');
    const recovered = await anon(open, '198.51.100.13');
    assert.equal(recovered.headers.get('ratelimit-limit'), '3', 'open counts again too');
    assert.ok(warnings.some((line) => line.includes('rate-limit store answers again')));
  });
});

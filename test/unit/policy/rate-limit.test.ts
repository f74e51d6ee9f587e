// Rate limiting, unit level: the GCRA bucket arithmetic of the memory store under an injected
// clock (burst, refill, Retry-After, fractional intervals), its bounds (refilled buckets swept,
// least recently used dropped past maxKeys), which limit each route gets (proto over config,
// operationId over service over default, `unlimited`), the key choice (principal, else IP;
// IPv6 by /64), the headers and the 429 body, and what a failing store means (open or closed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { configSchema, type GatewayConfigInput } from '../../../src/config/config-schema.js';
import type { RouteRateLimitSpec, RouteSpec } from '../../../src/gateway-model.js';
import { createMemoryStore } from '../../../src/policy/rate-limit-memory.js';
import { clientKey, createRateLimiter, routeLimits, type BucketLimit, type RateLimitStore, type RouteLimiter } from '../../../src/policy/rate-limit.js';

const silent = pino({ level: 'silent' });

function clock(start = 1000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const perMinute = (requests: number): BucketLimit => ({ intervalMs: 60_000 / requests, windowMs: 60_000 });

describe('memory store: GCRA buckets', () => {
  it('a burst of `requests`, then refusals telling when the next call is allowed', async () => {
    const time = clock();
    const store = createMemoryStore({ maxKeys: 100, now: time.now });
    const limit = perMinute(3);
    const states = [];
    for (let i = 0; i < 4; i++) states.push(await store.take('k', limit));
    assert.deepEqual(
      states.map((s) => s.allowed),
      [true, true, true, false],
    );
    assert.deepEqual(
      states.map((s) => s.fullInMs),
      [20_000, 40_000, 60_000, 60_000],
    );
    assert.equal(states[3]!.retryInMs, 20_000);
  });

  it('refills one call per interval, never beyond the burst', async () => {
    const time = clock();
    const store = createMemoryStore({ maxKeys: 100, now: time.now });
    const limit = perMinute(3);
    for (let i = 0; i < 3; i++) await store.take('k', limit);
    time.advance(19_999);
    assert.equal((await store.take('k', limit)).allowed, false);
    time.advance(1);
    assert.equal((await store.take('k', limit)).allowed, true, 'one token after one interval');
    assert.equal((await store.take('k', limit)).allowed, false);
    time.advance(10 * 60_000);
    const burst = [];
    for (let i = 0; i < 4; i++) burst.push((await store.take('k', limit)).allowed);
    assert.deepEqual(burst, [true, true, true, false], 'a long pause refills the bucket, not more');
  });

  it('keys are independent', async () => {
    const store = createMemoryStore({ maxKeys: 100, now: clock().now });
    const limit = perMinute(1);
    assert.equal((await store.take('a', limit)).allowed, true);
    assert.equal((await store.take('a', limit)).allowed, false);
    assert.equal((await store.take('b', limit)).allowed, true);
  });

  it('a fractional interval (60 s / 7) still allows exactly 7 in a burst', async () => {
    const store = createMemoryStore({ maxKeys: 100, now: clock(123.456).now });
    const limit = perMinute(7);
    const allowed = [];
    for (let i = 0; i < 8; i++) allowed.push((await store.take('k', limit)).allowed);
    assert.deepEqual(allowed, [true, true, true, true, true, true, true, false]);
  });

  it('sweeps buckets that have refilled (they hold nothing)', async () => {
    const time = clock();
    const store = createMemoryStore({ maxKeys: 100, now: time.now, sweepIntervalMs: 5000 });
    for (let i = 0; i < 10; i++) await store.take(`k${i}`, { intervalMs: 1000, windowMs: 1000 });
    assert.equal(store.size(), 10);
    time.advance(5000);
    await store.take('fresh', { intervalMs: 1000, windowMs: 1000 });
    assert.equal(store.size(), 1);
  });

  it('past maxKeys drops the least recently used buckets, keeping a busy caller\'s empty bucket', async () => {
    const time = clock();
    const store = createMemoryStore({ maxKeys: 100, now: time.now });
    const limit = perMinute(1);
    await store.take('hammering', limit);
    for (let i = 0; i < 150; i++) {
      await store.take(`idle${i}`, limit);
      assert.equal((await store.take('hammering', limit)).allowed, false, 'the busy caller never gets a fresh bucket');
    }
    assert.equal(store.size(), 100);
  });
});

function route(operationId: string, extra: Partial<RouteSpec> = {}): RouteSpec {
  const method = operationId.split('_')[1]!;
  return {
    operationId,
    service: 'rl.v1.S',
    method,
    grpcPath: `/rl.v1.S/${method}`,
    template: `/v1/${method.toLowerCase()}`,
    httpMethod: 'GET',
    bindingIndex: 0,
    ...extra,
  } as RouteSpec;
}

const config = (rateLimit: GatewayConfigInput['rateLimit']) => configSchema.parse({ rateLimit }).rateLimit;

describe('which limit a route gets', () => {
  const a = route('S_A');
  const aAlt = route('S_A_1', { bindingIndex: 1, template: '/v2/a' });
  const b = route('S_B');
  const c = route('S_C', { rateLimit: { requests: 9, perMs: 9000, key: 'ip' } });
  const other = route('T_D', { service: 'rl.v1.T', grpcPath: '/rl.v1.T/D' });
  const routes = [a, aAlt, b, c, other];
  const spec = (requests: number, per: number, key: RouteRateLimitSpec['key'] = 'principal'): RouteRateLimitSpec => ({ requests, perMs: per * 1000, key });

  it('none configured: only the proto-annotated route', () => {
    assert.deepEqual([...routeLimits(routes, config({})).entries()], [[c, spec(9, 9, 'ip')]]);
  });

  it('proto, else operationId (for every binding), else service, else default', () => {
    const limits = routeLimits(
      routes,
      config({
        default: { requests: 100, per: '1m' },
        routes: { S_A: { requests: 1, per: '1s' }, 'rl.v1.S': { requests: 5, per: '10s', key: 'ip' }, S_C: { requests: 2, per: '2s' } },
      }),
    );
    assert.deepEqual(limits.get(a), spec(1, 1));
    assert.deepEqual(limits.get(aAlt), spec(1, 1), 'an additional binding shares its rpc\'s limit');
    assert.deepEqual(limits.get(b), spec(5, 10, 'ip'));
    assert.deepEqual(limits.get(c), spec(9, 9, 'ip'), 'the proto annotation wins over config');
    assert.deepEqual(limits.get(other), spec(100, 60));
  });

  it('{unlimited: true} exempts a route or a service from the default', () => {
    const limits = routeLimits(routes, config({ default: { requests: 100, per: '1m' }, routes: { S_B: { unlimited: true }, 'rl.v1.T': { unlimited: true } } }));
    assert.equal(limits.has(b), false);
    assert.equal(limits.has(other), false);
    assert.equal(limits.has(a), true);
  });

  it('a name that matches no route, or an additional binding, is an error naming the key', () => {
    assert.throws(() => routeLimits(routes, config({ routes: { S_Nope: { requests: 1, per: '1s' } } })), /^ConfigKeyError: rateLimit\.routes\.S_Nope: names no served operationId or service/);
    assert.throws(
      () => routeLimits(routes, config({ routes: { S_A_1: { requests: 1, per: '1s' } } })),
      /rateLimit\.routes\.S_A_1: is an additional binding of rl\.v1\.S\/A, whose bindings share one budget \(set the limit on S_A\)/,
    );
  });

  it('config values are checked by the schema', () => {
    const problems = configSchema.safeParse({ rateLimit: { default: { requests: 0, per: '1.5s', key: 'user' }, redis: { url: 'http://x' } } });
    assert.equal(problems.success, false);
    const paths = problems.error!.issues.map((issue) => issue.path.join('.'));
    assert.deepEqual(paths.sort(), ['rateLimit.default.key', 'rateLimit.default.per', 'rateLimit.default.requests', 'rateLimit.redis.url']);
  });
});

describe('keys', () => {
  it('IPv4 as is; IPv4-mapped IPv6 unwrapped; IPv6 grouped by /64', () => {
    assert.equal(clientKey('203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:bbbb::9'), '2001:db8:1:2::/64');
    assert.notEqual(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'));
  });
});

describe('the limiter', () => {
  const limited = route('S_A', { rateLimit: { requests: 2, perMs: 60_000, key: 'principal' } });
  const byIp = route('S_B', { rateLimit: { requests: 1, perMs: 60_000, key: 'ip' } });
  const free = route('S_C');
  const limiterOf = (store: RateLimitStore, spec: RouteSpec, onStoreFailure: 'open' | 'closed' = 'open'): RouteLimiter => {
    const rateLimit = config({ onStoreFailure });
    return createRateLimiter(routeLimits([limited, byIp, free], rateLimit), rateLimit, store, silent).limiterFor(spec)!;
  };

  it('has nothing to do on an unlimited route', () => {
    const rateLimit = config({});
    assert.equal(createRateLimiter(routeLimits([free], rateLimit), rateLimit, createMemoryStore({ maxKeys: 100 }), silent).limiterFor(free), undefined);
  });

  it('answers RateLimit headers, then a 429 RESOURCE_EXHAUSTED with Retry-After and RetryInfo', async () => {
    const check = limiterOf(createMemoryStore({ maxKeys: 100, now: clock().now }), limited);
    const first = await check('192.0.2.1', 'alice');
    assert.deepEqual(first, {
      ok: true,
      headers: { 'ratelimit-limit': '2', 'ratelimit-remaining': '1', 'ratelimit-reset': '30', 'ratelimit-policy': '2;w=60' },
    });
    const second = await check('192.0.2.1', 'alice');
    assert.equal(second.ok && second.headers?.['ratelimit-remaining'], '0');
    const third = await check('192.0.2.1', 'alice');
    assert.equal(third.ok, false);
    if (third.ok) return;
    assert.equal(third.outcome, 'rejected');
    assert.equal(third.error.code, 8);
    assert.equal(third.error.reason, 'PG_RATE_LIMITED');
    assert.match(third.error.message, /rate limit exceeded for rl\.v1\.S\/A: 2 requests per 60s per caller; retry in 30s/);
    assert.deepEqual(third.error.headers, {
      'ratelimit-limit': '2',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '60',
      'ratelimit-policy': '2;w=60',
      'retry-after': '30',
    });
    assert.deepEqual(third.error.details[0], { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' });
  });

  it('float noise in the clock never adds a second to RateLimit-Reset or Retry-After', async () => {
    // 8385578.18175391 + 10000 - 8385578.18175391 is 10000.000000000931 in doubles
    const tenSeconds = route('S_A', { rateLimit: { requests: 1, perMs: 10_000, key: 'ip' } });
    const rateLimit = config({});
    const check = createRateLimiter(routeLimits([tenSeconds], rateLimit), rateLimit, createMemoryStore({ maxKeys: 100, now: () => 8385578.18175391 }), silent).limiterFor(tenSeconds)!;
    const first = await check('192.0.2.1', undefined);
    assert.equal(first.ok && first.headers?.['ratelimit-reset'], '10');
    const refused = await check('192.0.2.1', undefined);
    assert.equal(!refused.ok && refused.error.headers['retry-after'], '10');
  });

  it('principal: one budget per subject; anonymous callers by address', async () => {
    const check = limiterOf(createMemoryStore({ maxKeys: 100, now: clock().now }), limited);
    for (let i = 0; i < 2; i++) assert.equal((await check('192.0.2.1', 'alice')).ok, true);
    assert.equal((await check('192.0.2.1', 'alice')).ok, false);
    assert.equal((await check('192.0.2.1', 'bob')).ok, true, 'bob has his own budget from the same address');
    assert.equal((await check('192.0.2.1', undefined)).ok, true, 'anonymous: the address');
    assert.equal((await check('192.0.2.1', undefined)).ok, true);
    assert.equal((await check('192.0.2.1', undefined)).ok, false);
    assert.equal((await check('192.0.2.2', undefined)).ok, true, 'another address');
  });

  it('ip: the address even for an authenticated caller', async () => {
    const check = limiterOf(createMemoryStore({ maxKeys: 100, now: clock().now }), byIp);
    assert.equal((await check('192.0.2.1', 'alice')).ok, true);
    assert.equal((await check('192.0.2.1', 'bob')).ok, false);
  });

  const broken: RateLimitStore = { take: () => Promise.reject(new Error('connection lost')), close: () => Promise.resolve() };

  it('store failure, open: allowed without headers, reported', async () => {
    const verdict = await limiterOf(broken, limited, 'open')('192.0.2.1', 'alice');
    assert.deepEqual(verdict, { ok: true, headers: undefined, outcome: 'store-failure' });
  });

  it('store failure, closed: 503 UNAVAILABLE with Retry-After', async () => {
    const verdict = await limiterOf(broken, limited, 'closed')('192.0.2.1', 'alice');
    assert.equal(verdict.ok, false);
    if (verdict.ok) return;
    assert.equal(verdict.outcome, 'store-failure');
    assert.equal(verdict.error.code, 14);
    assert.equal(verdict.error.reason, 'PG_RATE_LIMIT_STORE_UNAVAILABLE');
    assert.equal(verdict.error.headers['retry-after'], '1');
  });
});

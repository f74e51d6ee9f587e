// Fault tests (issue 6, "Tests and proof"): real grpc-js backends on loopback, real HTTP through
// the gateway, bounded load loops. One of two addresses killed under load → ejected, and no
// request fails after the ejection; every address killed → the breaker opens within 1 s and
// answers 503 fast; backends restarted → the gateway recovers by itself; a slow backend → 504 at
// the deadline; active health checks take addresses out and back. The figures are printed as test
// diagnostics so they can be quoted.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../../helpers/gateway.js';
import { startRawGrpcServer, type RawHandler, type RunningGrpcServer } from '../../helpers/grpc-server.js';
import { encodeHealthCheckResponse, HEALTH_CHECK_PATH, ServingStatus } from '../../../src/upstream/health-check.js';

const ECHO = { paths: [testProtosDir], files: ['echo/v1/echo.proto'] };

/** A backend that counts its Echo calls, sleeps in Slow, and answers health checks with `health`. */
class Backend {
  calls = 0;
  health: number = ServingStatus.SERVING;
  server: RunningGrpcServer | undefined;
  port = 0;

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  handlers(): Record<string, RawHandler> {
    return {
      '/echo.v1.EchoService/Echo': (request) => {
        this.calls++;
        return request;
      },
      '/echo.v1.EchoService/Slow': async (request) => {
        await sleep(2000);
        return request;
      },
      [HEALTH_CHECK_PATH]: () => encodeHealthCheckResponse(this.health),
    };
  }

  /** Starts, on the same port as before when restarting. */
  async start(): Promise<this> {
    this.server = await startRawGrpcServer(this.handlers(), this.port);
    this.port = this.server.port;
    return this;
  }

  /** Stops at once, as a crash would. */
  kill(): void {
    this.server!.kill!();
    this.server = undefined;
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}

/** A pino logger whose JSON lines are kept, to see when the gateway ejected an address. */
function capturedLogger() {
  const lines: Array<{ msg: string; time: number; address?: string; change?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** `total` GETs from `concurrency` workers; `onProgress(done)` after each. Statuses and end times, in completion order. */
async function loadLoop(base: string, total: number, concurrency: number, onProgress: (done: number) => void) {
  const results: Array<{ status: number; at: number; message: string }> = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await fetchJson(`${base}/v1/echo/r${i}`);
      results.push({ status: res.status, at: Date.now(), message: res.json?.message ?? '' });
      onProgress(results.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

async function metric(admin: string, prefix: string): Promise<number | undefined> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** Polls `check` every `everyMs` until it is true; fails after `limitMs`. Returns the time it took. */
async function waitFor(what: string, check: () => Promise<boolean>, limitMs: number, everyMs = 50): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
    await sleep(everyMs);
  }
  return Date.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

for (const transport of ['http2', 'grpc-js', 'wire'] as const) {
  describe(`one of two addresses killed under load (${transport})`, () => {
    const a = new Backend();
    const b = new Backend();
    let gateway: TestGateway;
    const { logger, lines } = capturedLogger();

    before(async () => {
      await Promise.all([a.start(), b.start()]);
      gateway = await startTestGateway(
        {
          protos: ECHO,
          upstreams: { '*': [a.target, b.target] },
          upstream: { transport, outlierDetection: { consecutiveFailures: 3, baseEjectionTime: '30s' } },
          timeouts: { default: '3s' },
          log: { level: 'info', access: false },
        },
        logger,
      );
    });
    after(async () => {
      await gateway.close();
      await Promise.all([a.close(), b.close()]);
    });

    it('ejects the dead address; no request fails after the ejection', async (t: TestContext) => {
      const TOTAL = 400;
      let killedAt = 0;
      let callsOnAAtKill = 0;
      const results = await loadLoop(gateway.base, TOTAL, 8, (done) => {
        if (done === 100) {
          callsOnAAtKill = a.calls;
          killedAt = Date.now();
          a.kill();
        }
      });
      const ejection = lines.find((l) => l.msg === 'upstream address ejected' && l.address === a.target);
      assert.ok(ejection !== undefined, `no ejection logged: ${JSON.stringify(lines.map((l) => l.msg))}`);
      const failed = results.filter((r) => r.status !== 200);
      const failedAfterEjection = failed.filter((r) => r.at > ejection.time);
      t.diagnostic(
        `${transport}: ${TOTAL} GETs, 8 concurrent; address killed after 100; ejected ${ejection.time - killedAt} ms after the kill; ` +
          `failed requests: ${failed.length} in all, ${failedAfterEjection.length} after the ejection; ` +
          `calls served by the killed address before the kill: ${callsOnAAtKill}, by the survivor: ${b.calls}`,
      );
      assert.equal(failedAfterEjection.length, 0, JSON.stringify(failedAfterEjection.slice(0, 3)));
      // GETs are retried on the other address, so even the calls cut by the kill succeed
      assert.equal(failed.length, 0, JSON.stringify(failed.slice(0, 3)));
      assert.ok(callsOnAAtKill > 10 && b.calls > 250, 'both served before the kill, the survivor after it');
    });
  });
}

for (const transport of ['http2', 'grpc-js', 'wire'] as const) {
  describe(`every address killed, then restarted (${transport})`, () => {
    const a = new Backend();
    const b = new Backend();
    let gateway: TestGateway;
    let admin: string;
    const COOLDOWN_MS = 1000;

    before(async () => {
      await Promise.all([a.start(), b.start()]);
      gateway = await startTestGateway({
        server: { adminPort: 0 },
        protos: ECHO,
        upstreams: { '*': [a.target, b.target] },
        upstream: { transport, outlierDetection: { consecutiveFailures: 3, baseEjectionTime: '1s' } },
        resilience: { breaker: { failureThreshold: 5, cooldown: `${COOLDOWN_MS}ms` } },
        timeouts: { default: '3s' },
      });
      admin = `http://127.0.0.1:${gateway.adminPort}`;
    });
    after(async () => {
      await gateway.close();
      await Promise.all([a.close(), b.close()]);
    });

    it('opens the breaker within 1 s and answers 503 fast; recovers once the backends are back, without a gateway restart', async (t: TestContext) => {
      for (let i = 0; i < 20; i++) assert.equal((await fetchJson(`${gateway.base}/v1/echo/warm${i}`)).status, 200);
      assert.ok(a.calls > 0 && b.calls > 0, 'both addresses served');

      a.kill();
      b.kill();
      const killedAt = Date.now();
      let beforeOpen = 0;
      let openedAfterMs = -1;
      for (let i = 0; i < 200 && Date.now() - killedAt < 5000; i++) {
        const res = await fetchJson(`${gateway.base}/v1/echo/down${i}`);
        assert.equal(res.status, 503, res.text);
        if (res.json.message === 'upstream circuit open') {
          openedAfterMs = Date.now() - killedAt;
          break;
        }
        beforeOpen++;
      }
      assert.ok(openedAfterMs >= 0, 'the breaker never opened');
      assert.ok(openedAfterMs < 1000, `the breaker opened ${openedAfterMs} ms after the kill`);
      assert.equal(await metric(admin, 'protogate_upstream_breaker_state{'), 2, 'open');
      const ready = await fetchJson(`${admin}/readyz`);
      assert.equal(ready.status, 503, ready.text);
      assert.match(ready.json.reasons.join(';'), /circuit breaker open/);

      const fast: number[] = [];
      for (let i = 0; i < 20; i++) {
        const start = performance.now();
        const res = await fetchJson(`${gateway.base}/v1/echo/fast${i}`);
        fast.push(performance.now() - start);
        assert.equal(res.status, 503);
        assert.equal(res.json.message, 'upstream circuit open');
        assert.equal(res.json.details[0].reason, 'PG_UPSTREAM_UNAVAILABLE');
      }
      t.diagnostic(
        `${transport}: all addresses killed: ${beforeOpen} requests answered 503 before the breaker opened, ${openedAfterMs} ms after the kill; ` +
          `while open: 20 requests, 503 in median ${median(fast).toFixed(1)} ms, max ${Math.max(...fast).toFixed(1)} ms`,
      );

      // back on the same ports; the gateway is not restarted
      await Promise.all([a.start(), b.start()]);
      const restartedAt = Date.now();
      const before = { a: a.calls, b: b.calls };
      await waitFor('a 200 after the restart', async () => (await fetchJson(`${gateway.base}/v1/echo/back`)).status === 200, 20_000, 100);
      const recoveredMs = Date.now() - restartedAt;
      await waitFor('both addresses in rotation and called again', async () => {
        assert.equal((await fetchJson(`${gateway.base}/v1/echo/both`)).status, 200);
        return a.calls > before.a && b.calls > before.b;
      }, 20_000, 20);
      const bothMs = Date.now() - restartedAt;
      for (let i = 0; i < 40; i++) assert.equal((await fetchJson(`${gateway.base}/v1/echo/ok${i}`)).status, 200);
      assert.equal(await metric(admin, 'protogate_upstream_breaker_state{'), 0, 'closed');
      assert.equal((await fetchJson(`${admin}/readyz`)).status, 200);
      t.diagnostic(`${transport}: restart: first 200 after ${recoveredMs} ms (breaker cooldown ${COOLDOWN_MS} ms), both addresses serving after ${bothMs} ms; then 40/40 requests 200`);
    });
  });
}

describe('slow backend', () => {
  const a = new Backend();
  let gateway: TestGateway;

  before(async () => {
    await a.start();
    gateway = await startTestGateway({ protos: ECHO, upstreams: { '*': a.target }, timeouts: { default: '300ms' } });
  });
  after(async () => {
    await gateway.close();
    await a.close();
  });

  it('answers 504 at the deadline, not when the backend finally answers', async (t: TestContext) => {
    const elapsed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const res = await fetchJson(`${gateway.base}/v1/slow/s${i}`);
      elapsed.push(performance.now() - start);
      assert.equal(res.status, 504, res.text);
      assert.equal(res.json.status, 'DEADLINE_EXCEEDED');
    }
    t.diagnostic(`deadline 300 ms, backend takes 2000 ms: 504 after ${elapsed.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    for (const ms of elapsed) assert.ok(ms >= 290 && ms < 1500, `504 after ${ms} ms`);
  });
});

for (const transport of ['http2', 'grpc-js', 'wire'] as const) {
  describe(`active health checks (${transport})`, () => {
    const a = new Backend();
    const b = new Backend();
    let gateway: TestGateway;
    let admin: string;

    before(async () => {
      await Promise.all([a.start(), b.start()]);
      gateway = await startTestGateway({
        server: { adminPort: 0 },
        protos: ECHO,
        upstreams: [{ service: '*', addresses: [a.target, b.target] }],
        upstream: { transport, healthCheck: { enabled: true, interval: '100ms', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 2 } },
        resilience: { breaker: { failureThreshold: 1000 } },
      });
      admin = `http://127.0.0.1:${gateway.adminPort}`;
    });
    after(async () => {
      await gateway.close();
      await Promise.all([a.close(), b.close()]);
    });

    const healthy = (backend: Backend) => metric(admin, `protogate_upstream_address_healthy{target="${a.target},${b.target}",address="${backend.target}"}`);

    it('takes a NOT_SERVING address out of rotation, answers 503 fast when none serves, and brings them back', async (t: TestContext) => {
      assert.equal(await healthy(a), 1);
      a.health = ServingStatus.NOT_SERVING;
      const outMs = await waitFor('a out of rotation', async () => (await healthy(a)) === 0, 5000);
      const callsOnA = a.calls;
      for (let i = 0; i < 20; i++) assert.equal((await fetchJson(`${gateway.base}/v1/echo/h${i}`)).status, 200);
      assert.equal(a.calls, callsOnA, 'no call reached the unhealthy address');

      b.health = ServingStatus.NOT_SERVING;
      await waitFor('b out of rotation', async () => (await healthy(b)) === 0, 5000);
      const noneMs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        const none = await fetchJson(`${gateway.base}/v1/echo/none`);
        noneMs.push(performance.now() - start);
        assert.equal(none.status, 503, none.text);
        assert.equal(none.json.message, 'No healthy upstream address');
      }
      const ready = await fetchJson(`${admin}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(
        ready.json.addresses.map((x: { address: string; healthy: boolean }) => [x.address, x.healthy]),
        [
          [a.target, false],
          [b.target, false],
        ],
      );

      a.health = ServingStatus.SERVING;
      b.health = ServingStatus.SERVING;
      const backMs = await waitFor('both back', async () => (await healthy(a)) === 1 && (await healthy(b)) === 1, 5000);
      assert.equal((await fetchJson(`${admin}/readyz`)).status, 200);
      for (let i = 0; i < 10; i++) assert.equal((await fetchJson(`${gateway.base}/v1/echo/b${i}`)).status, 200);
      assert.ok(a.calls > callsOnA);
      t.diagnostic(
        `${transport}: health checks every 100 ms, thresholds 2/2: out of rotation ${outMs} ms after NOT_SERVING; with none serving 503 in ${noneMs.map((ms) => ms.toFixed(1)).join(', ')} ms; both back ${backMs} ms after SERVING`,
      );
    });
  });
}

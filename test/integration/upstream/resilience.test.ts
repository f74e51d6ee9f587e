// Circuit breaker and retries against real grpc-js backends on loopback, through the whole
// gateway: retries only for idempotent routes; a stopped backend opens the breaker (503 fast,
// visible in /metrics and /readyz); a restarted one is found again by the half-open probe.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../../helpers/gateway.js';
import { startRawGrpcServer, type RawHandler, type RunningGrpcServer } from '../../helpers/grpc-server.js';

const ECHO = { paths: [testProtosDir], files: ['echo/v1/echo.proto'] };

/** Counts calls per method; each method fails its next `failures[method]` calls with UNAVAILABLE. */
function flakyHandlers(calls: Record<string, number>, failures: Record<string, number>): Record<string, RawHandler> {
  const handler =
    (method: string): RawHandler =>
    (request) => {
      calls[method] = (calls[method] ?? 0) + 1;
      if ((failures[method] ?? 0) > 0) {
        failures[method]!--;
        throw Object.assign(new Error('try again'), { code: grpc.status.UNAVAILABLE, details: 'try again' });
      }
      return request;
    };
  return { '/echo.v1.EchoService/Echo': handler('Echo'), '/echo.v1.EchoService/Fail': handler('Fail') };
}

/** The same, with Fail answering NOT_FOUND (a business error). */
function withNotFound(handlers: Record<string, RawHandler>): Record<string, RawHandler> {
  return {
    ...handlers,
    '/echo.v1.EchoService/Fail': () => {
      throw Object.assign(new Error('no such thing'), { code: grpc.status.NOT_FOUND, details: 'no such thing' });
    },
  };
}

describe('retries', () => {
  const calls: Record<string, number> = {};
  const failures: Record<string, number> = {};
  let backend: RunningGrpcServer;
  let gateway: TestGateway;

  before(async () => {
    backend = await startRawGrpcServer(flakyHandlers(calls, failures));
    gateway = await startTestGateway({ protos: ECHO, upstreams: [{ service: '*', target: backend.target }] });
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });
  const reset = (method: string, failing: number) => {
    calls[method] = 0;
    failures[method] = failing;
  };

  it('retries a GET that failed with UNAVAILABLE once, and it succeeds', async (t) => {
    reset('Echo', 1);
    const res = await fetchJson(`${gateway.base}/v1/echo/abc`);
    t.diagnostic(`GET, backend fails once with UNAVAILABLE: ${calls['Echo']} backend calls, answer ${res.status}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, 'abc');
    assert.equal(calls['Echo'], 2);
  });

  it('retries a POST whose rpc is marked idempotent in its proto', async (t) => {
    reset('Echo', 1);
    const res = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'p' } });
    t.diagnostic(`POST of an rpc marked idempotent, backend fails once: ${calls['Echo']} backend calls, answer ${res.status}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(calls['Echo'], 2);
  });

  it('does not retry a non-idempotent POST: one call, 503', async (t) => {
    reset('Fail', 1);
    const res = await fetchJson(`${gateway.base}/v1/fail/14`, { method: 'POST', json: {} });
    t.diagnostic(`POST of a non-idempotent rpc, backend fails once: ${calls['Fail']} backend call, answer ${res.status}`);
    assert.equal(res.status, 503, res.text);
    assert.equal(calls['Fail'], 1);
  });

  it('gives up after the configured retries (2): three calls, the last answer', async (t) => {
    reset('Echo', 5);
    const res = await fetchJson(`${gateway.base}/v1/echo/x`);
    t.diagnostic(`GET, backend keeps failing, maxRetries 2: ${calls['Echo']} backend calls, answer ${res.status}`);
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.message, 'try again');
    assert.equal(calls['Echo'], 3);
  });
});

describe('circuit breaker', () => {
  const calls: Record<string, number> = {};
  let backend: RunningGrpcServer;
  let gateway: TestGateway;
  let admin: string;
  const COOLDOWN_MS = 1500;

  before(async () => {
    backend = await startRawGrpcServer(withNotFound(flakyHandlers(calls, {})));
    gateway = await startTestGateway({
      server: { adminPort: 0 },
      protos: ECHO,
      upstreams: [{ service: '*', target: backend.target }],
      resilience: { breaker: { failureThreshold: 3, cooldown: `${COOLDOWN_MS}ms` }, retry: { maxRetries: 0 } },
    });
    admin = `http://127.0.0.1:${gateway.adminPort}`;
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  const breakerGauge = async (): Promise<number | undefined> => {
    const text = await (await fetch(`${admin}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`protogate_upstream_breaker_state{target="${backend.target}"}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('opens after the threshold when the backend stops, answers 503 without calling it, and recovers after a restart', async () => {
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/a`)).status, 200);
    assert.equal(await breakerGauge(), 0, 'closed');
    const port = backend.port;
    await backend.close();

    for (let i = 0; i < 3; i++) {
      const res = await fetchJson(`${gateway.base}/v1/echo/down${i}`);
      assert.equal(res.status, 503, res.text);
      assert.notEqual(res.json.message, 'upstream circuit open', `failure ${i + 1} reached the upstream`);
    }
    const openedAt = Date.now();
    assert.equal(await breakerGauge(), 2, 'open');
    const ready = await fetchJson(`${admin}/readyz`);
    assert.equal(ready.status, 503, ready.text);
    assert.deepEqual(ready.json.breakers, [{ target: backend.target, state: 'open' }]);
    assert.match(ready.json.reasons.join(';'), /circuit breaker open/);

    // the backend is back on the same port, but the breaker is open: it is not called
    calls['Echo'] = 0;
    backend = await startRawGrpcServer(withNotFound(flakyHandlers(calls, {})), port);
    for (let i = 0; i < 5; i++) {
      const res = await fetchJson(`${gateway.base}/v1/echo/fast${i}`);
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json.message, 'upstream circuit open');
      assert.equal(res.json.details[0].reason, 'PG_UPSTREAM_UNAVAILABLE');
    }
    assert.ok(Date.now() - openedAt < COOLDOWN_MS, 'the fast answers came within the cooldown (test machine too slow otherwise)');
    assert.equal(calls['Echo'], 0, 'an open breaker does not call the upstream');

    // after the cooldown the half-open probe reaches the restarted backend and closes the breaker
    await sleep(COOLDOWN_MS - (Date.now() - openedAt) + 50);
    assert.equal(await breakerGauge(), 1, 'half-open');
    // half-open does not make the gateway unready (traffic must come for the probe); the
    // connectivity of the failed connection still may, until the probe reconnects
    const halfOpen = await fetchJson(`${admin}/readyz`);
    assert.deepEqual(halfOpen.json.breakers, [{ target: backend.target, state: 'half-open' }]);
    assert.doesNotMatch(JSON.stringify(halfOpen.json.reasons ?? []), /circuit breaker/);
    const probe = await fetchJson(`${gateway.base}/v1/echo/probe`);
    assert.equal(probe.status, 200, probe.text);
    assert.equal(calls['Echo'], 1);
    assert.equal(await breakerGauge(), 0, 'closed again');
    assert.equal((await fetchJson(`${admin}/readyz`)).status, 200, 'ready again');
    for (let i = 0; i < 3; i++) assert.equal((await fetchJson(`${gateway.base}/v1/echo/ok${i}`)).status, 200);
    assert.equal(calls['Echo'], 4);
  });

  it('does not count business errors (NOT_FOUND) as failures', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetchJson(`${gateway.base}/v1/fail/5`, { method: 'POST', json: { code: 5 } });
      assert.equal(res.status, 404, res.text);
    }
    assert.equal(await breakerGauge(), 0);
  });
});

// Overload protection (config key `overload`): with the gateway's event loop blocked past
// maxEventLoopDelayMs, or its heap over maxHeapUsedBytes, requests are answered 503 UNAVAILABLE
// with Retry-After at once and never reach the backend; once a sample is back under the
// threshold the gateway serves again. The gateway runs in this process, so the test can block
// the very event loop it measures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configSchema, type GatewayConfigInput } from '../../src/config/config-schema.js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

let backend: RecordingBackend;
const gateways: TestGateway[] = [];

before(async () => {
  backend = await startRecordingBackend();
});
after(async () => {
  for (const gateway of gateways) await gateway.close();
  await backend?.server.close();
});

async function gatewayWith(overload: NonNullable<GatewayConfigInput['overload']>): Promise<TestGateway> {
  const gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
    upstreams: [{ service: '*', target: backend.server.target }],
    overload,
  });
  gateways.push(gateway);
  return gateway;
}

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs in this process meanwhile
  }
}

describe('overload protection', () => {
  it('sheds requests with 503 and Retry-After while the event loop lags, and recovers', async () => {
    const gateway = await gatewayWith({ maxEventLoopDelayMs: 100, retryAfterSeconds: 2 });
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/before`)).status, 200);
    const arrived = backend.arrivals.length;
    blockEventLoop(400);
    const shed = await fetchJson(`${gateway.base}/v1/echo/during`);
    assert.equal(shed.status, 503, shed.text);
    assert.equal(shed.headers.get('retry-after'), '2');
    assert.equal(shed.json.code, 14);
    assert.equal(shed.json.status, 'UNAVAILABLE');
    assert.equal(shed.json.details[0].reason, 'PG_OVERLOADED');
    assert.ok(shed.headers.get('x-request-id'));
    assert.equal(backend.arrivals.length, arrived, 'a shed request never reaches the backend');
    // Back under the threshold from the next sample (250 ms) on.
    const started = performance.now();
    let status = 503;
    while (status === 503 && performance.now() - started < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await fetchJson(`${gateway.base}/v1/echo/after`)).status;
    }
    assert.equal(status, 200, 'serves again once the event loop is back under the threshold');
    assert.ok(performance.now() - started < 1000, `recovered after ${(performance.now() - started).toFixed(0)} ms`);
  });

  it('sheds requests while the heap is over maxHeapUsedBytes', async () => {
    // This test process holds more than 16 MiB of heap, so the first sample is over the limit.
    const gateway = await gatewayWith({ maxHeapUsedBytes: 16 * 1024 * 1024 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const shed = await fetchJson(`${gateway.base}/v1/echo/heavy`);
    assert.equal(shed.status, 503, shed.text);
    assert.equal(shed.headers.get('retry-after'), '1');
    assert.equal(shed.json.details[0].reason, 'PG_OVERLOADED');
  });

  it('refuses an overload key without a threshold, naming what to add', () => {
    const result = configSchema.safeParse({ overload: {} });
    assert.equal(result.success, false);
    assert.match(JSON.stringify(result.error?.issues), /maxEventLoopDelayMs or maxHeapUsedBytes/);
    assert.equal(configSchema.safeParse({ overload: { maxHeapUsedBytes: 1024 } }).success, false, 'a heap limit under 16 MiB is a mistake');
  });
});

// SIGTERM under load, as an orchestrator sends it: the real CLI stops accepting, answers every
// request it had accepted (keep-alive clients get `Connection: close` and move off), exits 0;
// and a request longer than server.drainTimeout is cut at the timeout.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { testProtosDir } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';
import { startLoad } from '../helpers/load-loop.js';
import { startServing } from '../helpers/serving-process.js';

let backend: RunningGrpcServer;
let hangingCalls = 0;

before(async () => {
  backend = await startRawGrpcServer({
    // ~50 ms per call, so a good share of the load is always in flight.
    '/echo.v1.EchoService/Echo': async (request) => {
      await sleep(50);
      return request;
    },
    '/echo.v1.EchoService/Hang': () => {
      hangingCalls++;
      return new Promise<Buffer>(() => {});
    },
  });
});
after(async () => {
  await backend?.close();
});

function writeConfig(extra: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'protogate-drain-'));
  const file = path.join(dir, 'protogate.yaml');
  writeFileSync(
    file,
    `server: { host: 127.0.0.1, port: 0, adminPort: 0${extra} }
protos: { paths: [${JSON.stringify(testProtosDir)}], files: [echo/v1/echo.proto] }
upstreams: [{ service: echo.v1.EchoService, target: "${backend.target}" }]
upstream: { transport: grpc-js }
log: { level: info, access: false }
`,
  );
  return file;
}

describe('SIGTERM', () => {
  it('drains a keep-alive load with zero failed requests among those accepted, and exits 0', { timeout: 120_000 }, async (t) => {
    const gateway = await startServing(['--config', writeConfig(', drainTimeout: 10s')]);
    const load = startLoad(gateway.base, { concurrency: 16, path: (n) => `/v1/echo/r${n}`, maxDurationMs: 20_000, maxRequests: 20_000 });
    await load.completed(300);
    const sigtermAt = performance.now();
    const exited = gateway.stop('SIGTERM');
    const records = await load.done;
    assert.equal(await exited, 0, gateway.stderr());

    const before = records.filter((r) => r.startedAt < sigtermAt);
    const afterwards = records.filter((r) => r.startedAt >= sigtermAt);
    const inFlight = before.filter((r) => r.endedAt >= sigtermAt);
    const failedBefore = before.filter((r) => r.status !== 200);
    const refused = afterwards.filter((r) => r.error === 'ECONNREFUSED');
    const otherAfter = afterwards.filter((r) => r.status !== 200 && r.error !== 'ECONNREFUSED');
    t.diagnostic(
      `requests started before SIGTERM: ${before.length} (${inFlight.length} in flight at SIGTERM), failed: ${failedBefore.length}; ` +
        `started after: ${afterwards.length} (answered ${afterwards.filter((r) => r.status === 200).length}, refused ${refused.length}, other failures ${otherAfter.length})`,
    );
    assert.ok(inFlight.length >= 8, `expected requests in flight at SIGTERM, got ${inFlight.length}`);
    assert.deepEqual(failedBefore, [], 'every request started before SIGTERM is answered 200');
    assert.deepEqual(otherAfter, [], 'after SIGTERM a request is answered or refused, never reset or 5xx');
    // Each of the 16 loops ends on a refused connection: the listener is closed, keep-alive connections were closed after their last answer.
    assert.equal(refused.length, 16);
    await gateway.waitForLog((line) => line.msg === 'stopped');
  });

  it('reports not ready at once, cuts a request still running at server.drainTimeout, and exits 0', { timeout: 120_000 }, async () => {
    const gateway = await startServing(['--config', writeConfig(', drainTimeout: 400ms')]);
    const started = hangingCalls;
    const hanging = statusOf(`${gateway.base}/v1/hang/h1`);
    while (hangingCalls === started) await sleep(10);
    const sigtermAt = performance.now();
    const exited = gateway.stop('SIGTERM');
    await gateway.waitForLog((line) => line.msg === 'shutting down: draining requests in flight');
    // Readiness goes first: an orchestrator stops routing here while the drain runs.
    assert.equal(await statusOf(`${gateway.admin}/readyz`), 503);
    assert.equal(await statusOf(`${gateway.admin}/healthz`), 200);
    const code = await exited;
    const tookMs = performance.now() - sigtermAt;
    assert.equal(code, 0);
    assert.ok(tookMs >= 350 && tookMs < 5000, `exit ${Math.round(tookMs)} ms after SIGTERM, drainTimeout 400ms`);
    assert.equal(await hanging, 'ECONNRESET');
    const warning = await gateway.waitForLog((line) => line.msg === 'drain timeout: requests still in flight were cut');
    assert.equal(warning['cut'], 1);
  });
});

/** The status of one GET on a fresh connection, or the socket error code. */
function statusOf(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

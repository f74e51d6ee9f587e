// `serve --workers 2`: two worker processes share the port, the primary serves the admin port
// with the workers' metrics summed, restarts a worker that dies, forwards SIGHUP, and exits 0 on SIGTERM.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { testProtosDir } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';
import { runCli } from '../helpers/cli.js';
import { startServing } from '../helpers/serving-process.js';

let backend: RunningGrpcServer;

before(async () => {
  backend = await startRawGrpcServer({ '/echo.v1.EchoService/Echo': (request) => request });
});
after(async () => {
  await backend?.close();
});

/** One GET on a new connection (so the cluster hands successive requests to different workers). */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** The live child processes of `primary`, from /proc (field 4 of /proc/PID/stat is the parent). */
function workerPids(primary: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) === primary && state !== 'Z') children.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return children;
}

/** The sum of a counter's series with the given label text, from Prometheus text. */
function counterSum(text: string, name: string, labelText: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labelText))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('serve --workers 2', () => {
  it('rejects a bad --workers value with exit 2 and the usage', async () => {
    for (const value of ['0', 'two', '1.5', '257']) {
      const result = await runCli(['serve', '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto', '--upstream', `*=${backend.target}`, '--workers', value]);
      assert.equal(result.code, 2, `--workers ${value}: ${result.stderr}`);
      assert.match(result.stderr, /--workers "[^"]+" is not a number of processes \(1–256\) or "auto"/);
      assert.match(result.stderr, /--workers N\|auto/);
    }
  });

  it('shares the port, sums the workers\' metrics on the admin port, restarts a dead worker, reloads every worker on SIGHUP, and exits 0 on SIGTERM', { timeout: 180_000 }, async (t) => {
    const gateway = await startServing([
      '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto',
      '--upstream', `echo.v1.EchoService=${backend.target}`,
      '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--workers', '2',
    ]);
    try {
      assert.match(gateway.stderr(), /\(2 workers\)/);
      assert.ok(gateway.admin, gateway.stderr());
      const pid = gateway.child.pid!;
      let pids = workerPids(pid);
      for (let i = 0; i < 100 && pids.length < 2; i++, pids = workerPids(pid)) await sleep(50);
      assert.equal(pids.length, 2, `worker processes of ${pid}: ${pids.join(', ')}`);
      // Ready once every worker listens.
      for (let i = 0; i < 100 && (await get(`${gateway.admin}/readyz`)).status !== 200; i++) await sleep(100);
      assert.equal((await get(`${gateway.admin}/readyz`)).status, 200);

      const requests = 40;
      for (let i = 0; i < requests; i++) {
        const answer = await get(`${gateway.base}/v1/echo/w${i}`);
        assert.equal(answer.status, 200, answer.body);
      }
      // Each worker counted its share (connections are handed out round-robin); the admin port shows the sum.
      const metrics = await get(`${gateway.admin}/metrics`);
      assert.equal(metrics.status, 200);
      const served = counterSum(metrics.body, 'protogate_http_requests_total', 'status="200"');
      t.diagnostic(`protogate_http_requests_total{status="200"} summed over 2 workers: ${served}`);
      assert.equal(served, requests);

      // A worker that dies is replaced, and the port keeps answering meanwhile.
      process.kill(pids[0]!, 'SIGKILL');
      await gateway.waitForLog((line) => line.msg === 'worker exited; restarting it');
      for (let i = 0; i < 6; i++) assert.equal((await get(`${gateway.base}/v1/echo/after-kill-${i}`)).status, 200);
      let replaced = workerPids(pid);
      for (let i = 0; i < 100 && (replaced.length < 2 || replaced.includes(pids[0]!)); i++, replaced = workerPids(pid)) await sleep(100);
      assert.equal(replaced.length, 2);
      assert.ok(!replaced.includes(pids[0]!));
      // The replacement listens (two first workers + one replacement), so SIGTERM finds it serving.
      await gateway.waitForLog((line) => line.msg === 'protogate listening' && gateway.logs.filter((l) => l.msg === 'protogate listening').length >= 3);

      // SIGHUP reaches every worker, and each reloads (here the same flags: the same config).
      gateway.child.kill('SIGHUP');
      await gateway.waitForLog((line) => line.msg === 'config reloaded' && gateway.logs.filter((l) => l.msg === 'config reloaded').length >= 2);
      assert.equal((await get(`${gateway.base}/v1/echo/after-reload`)).status, 200);
    } finally {
      assert.equal(await gateway.stop('SIGTERM'), 0, gateway.stderr());
    }
  });

  // The race behind a flaky run: SIGHUP reaching the primary while a replacement worker starts.
  // Signalled at once, that worker died of SIGHUP's default action; now it reloads once it listens.
  it('reloads a worker that was still starting when SIGHUP came, once it listens', { timeout: 120_000 }, async (t) => {
    const gateway = await startServing([
      '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto',
      '--upstream', `echo.v1.EchoService=${backend.target}`,
      '--host', '127.0.0.1', '--port', '0', '--workers', '2',
    ]);
    try {
      const pid = gateway.child.pid!;
      await gateway.waitForLog(() => gateway.logs.filter((l) => l.msg === 'protogate listening').length >= 2);
      const [victim, survivor] = workerPids(pid);
      assert.ok(victim !== undefined && survivor !== undefined, `worker processes of ${pid}`);
      process.kill(victim, 'SIGKILL');
      await gateway.waitForLog((line) => line.msg === 'worker exited; restarting it');
      // SIGHUP as soon as the replacement process exists, long before it can listen.
      let replacement: number | undefined;
      for (let i = 0; i < 3000 && replacement === undefined; i++) {
        replacement = workerPids(pid).find((child) => child !== survivor && child !== victim);
        if (replacement === undefined) await sleep(5);
      }
      assert.ok(replacement !== undefined, 'the primary forked a replacement');
      gateway.child.kill('SIGHUP');

      const forwarded = await gateway.waitForLog((line) => line.msg === 'SIGHUP: each worker reloads its config');
      t.diagnostic(`at SIGHUP the primary counted ${String(forwarded['workers'])} listening worker(s), ${String(forwarded['pending'])} starting`);
      assert.equal(forwarded['pending'], 1, 'the replacement was still starting (the race this test is about)');
      // Log lines carry no pid: two reloads and no second exit mean both workers reloaded.
      await gateway.waitForLog((line) => line.msg === 'config reloaded' && gateway.logs.filter((l) => l.msg === 'config reloaded').length >= 2);
      assert.equal(gateway.logs.filter((line) => line.msg === 'worker exited; restarting it').length, 1, 'no worker died of the SIGHUP');
      assert.deepEqual(workerPids(pid).sort(), [survivor, replacement].sort());
      assert.equal((await get(`${gateway.base}/v1/echo/after-reload`)).status, 200);
    } finally {
      assert.equal(await gateway.stop('SIGTERM'), 0, gateway.stderr());
    }
  });
});

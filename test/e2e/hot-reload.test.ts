// Hot reload with the real CLI under a keep-alive load: SIGHUP with a changed config (an added
// proto, service and upstream) swaps the pipeline with zero failed requests and the new routes
// answer at once; an invalid config is rejected with its file:line:col in the log while the old
// config keeps serving; with server.watchConfig a file change alone reloads.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startLibraryBackend } from '../../src/demo/library-backend.js';
import { fetchJson, packageRoot, testProtosDir } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';
import { startLoad } from '../helpers/load-loop.js';
import { startServing } from '../helpers/serving-process.js';

let echo: RunningGrpcServer;
let library: Awaited<ReturnType<typeof startLibraryBackend>>;

before(async () => {
  echo = await startRawGrpcServer({
    '/echo.v1.EchoService/Echo': async (request) => {
      await sleep(20);
      return request;
    },
  });
  library = await startLibraryBackend({ port: 0 });
});
after(async () => {
  await echo?.close();
  await library?.close();
});

const protoPaths = JSON.stringify([testProtosDir, path.join(packageRoot, 'protos')]);

/** The echo service only. */
function echoOnly(extra = ''): string {
  return `server: { host: 127.0.0.1, port: 0${extra} }
protos: { paths: ${protoPaths}, files: [echo/v1/echo.proto] }
upstreams: [{ service: echo.v1.EchoService, target: "${echo.target}" }]
log: { level: info, access: false }
`;
}

/** The echo service plus the library service (a new proto, service and upstream). */
function withLibrary(extra = ''): string {
  return `server: { host: 127.0.0.1, port: 0${extra} }
protos: { paths: ${protoPaths}, files: [echo/v1/echo.proto, library/v1/library.proto] }
upstreams:
  - { service: echo.v1.EchoService, target: "${echo.target}" }
  - { service: library.v1.LibraryService, target: "127.0.0.1:${library.port}" }
timeouts: { default: 5s }
log: { level: info, access: false }
`;
}

function configFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-reload-')), 'protogate.yaml');
  writeFileSync(file, text);
  return file;
}

describe('hot reload', () => {
  it('on SIGHUP swaps in a new config under load with zero failed requests, and rejects an invalid one while the old keeps serving', { timeout: 180_000 }, async (t) => {
    const file = configFile(echoOnly());
    const gateway = await startServing(['--config', file]);
    try {
      assert.equal((await fetchJson(`${gateway.base}/v1/shelves`)).status, 404);
      const load = startLoad(gateway.base, { concurrency: 16, path: (n) => `/v1/echo/r${n}`, maxDurationMs: 90_000, maxRequests: 50_000 });
      await load.completed(200);

      writeFileSync(file, withLibrary());
      const reloadsBefore = gateway.logs.length;
      gateway.child.kill('SIGHUP');
      const reloaded = await gateway.waitForLog((line) => line.msg === 'config reloaded' && gateway.logs.indexOf(line) >= reloadsBefore);
      assert.equal(reloaded['reason'], 'SIGHUP');
      const listening = await gateway.waitForLog((line) => line.msg === 'protogate listening');
      assert.ok(Number(reloaded['routes']) > Number(listening['routes']), 'echo.proto routes plus library.proto routes');
      const shelves = await fetchJson(`${gateway.base}/v1/shelves`);
      assert.equal(shelves.status, 200, shelves.text);
      assert.ok(Array.isArray((shelves.json as { shelves: unknown[] }).shelves));
      const afterReload = load.records.length;
      await load.completed(afterReload + 200);

      // A typo in the new config: rejected with file:line:col, and the previous config keeps serving.
      writeFileSync(file, withLibrary().replace('log: { level: info', 'json: { unknownFields: maybe }\nlog: { level: info'));
      gateway.child.kill('SIGHUP');
      const rejected = await gateway.waitForLog((line) => line.msg === 'reload rejected; still serving the previous config');
      assert.match(String(rejected['error']), /protogate\.yaml:7:24: json\.unknownFields: is "maybe", not an allowed value \(use one of: reject, ignore\)/);
      assert.equal((await fetchJson(`${gateway.base}/v1/shelves`)).status, 200);

      // A proto the new config names does not exist: rejected as well.
      writeFileSync(file, withLibrary().replace('library/v1/library.proto', 'library/v1/missing.proto'));
      gateway.child.kill('SIGHUP');
      const missing = await gateway.waitForLog((line) => line.msg === 'reload rejected; still serving the previous config' && line !== rejected);
      assert.match(String(missing['error']), /missing\.proto/);
      await load.completed(load.records.length + 200);
      assert.equal((await fetchJson(`${gateway.base}/v1/shelves`)).status, 200);

      const records = await load.stop();
      const failed = records.filter((record) => record.status !== 200);
      t.diagnostic(`${records.length} requests across a reload and two rejected ones; failed: ${failed.length}`);
      assert.deepEqual(failed, []);
      assert.ok(records.length >= 600);
    } finally {
      assert.equal(await gateway.stop(), 0, gateway.stderr());
    }
  });

  it('with server.watchConfig, reloads when the file changes', { timeout: 120_000 }, async () => {
    const file = configFile(echoOnly(', watchConfig: true'));
    const gateway = await startServing(['--config', file]);
    try {
      assert.equal((await fetchJson(`${gateway.base}/v1/shelves`)).status, 404);
      writeFileSync(file, withLibrary(', watchConfig: true'));
      const reloaded = await gateway.waitForLog((line) => line.msg === 'config reloaded');
      assert.equal(reloaded['reason'], 'config file changed');
      assert.equal((await fetchJson(`${gateway.base}/v1/shelves`)).status, 200);
      // A key only a restart applies is reported, not silently ignored.
      writeFileSync(file, withLibrary(', watchConfig: true, adminPort: 0'));
      const second = await gateway.waitForLog((line) => line.msg === 'config reloaded' && line !== reloaded);
      assert.deepEqual(second['restartNeeded'], ['server.adminPort']);
    } finally {
      assert.equal(await gateway.stop(), 0, gateway.stderr());
    }
  });
});

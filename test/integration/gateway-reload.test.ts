// RunningGateway.reload in-process, against a real grpc-js backend: a request in flight finishes
// on the config it started with while new ones see the new config; upstream connections are kept
// when their config is unchanged and replaced when it changes; a config that cannot be served is
// rejected and the running one stays; metrics carry on across the swap.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { buildModel } from '../../codegen/build-model.js';
import { writeGeneratedOutput } from '../../codegen/generated-output.js';
import { buildOpenApi } from '../../codegen/openapi.js';
import { configSchema, type GatewayConfigInput } from '../../src/config/config-schema.js';
import { fetchJson, packageRoot, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

let backend: RunningGrpcServer;
/** The peer (client address and port, i.e. the connection) of each call, in order. */
const peers: string[] = [];

before(async () => {
  backend = await startRawGrpcServer({
    '/echo.v1.EchoService/Echo': async (request, call) => {
      peers.push(call.getPeer());
      // A request whose id starts with "slow" takes a while, to be in flight across a reload.
      if (request.includes(Buffer.from('slow'))) await sleep(400);
      return request;
    },
  });
});
after(async () => {
  await backend?.close();
});

function config(overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    server: { adminPort: 0 },
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
    upstreams: [{ service: 'echo.v1.EchoService', target: backend.target }],
    ...overrides,
  };
}

/** The full config as reload takes it (the helper's defaults: loopback, port 0, silent logs). */
function parsed(input: GatewayConfigInput) {
  return configSchema.parse({ ...input, server: { host: '127.0.0.1', port: 0, ...input.server }, log: { level: 'silent', access: false } });
}

describe('RunningGateway.reload', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway(config());
  });
  after(async () => {
    await gateway?.close();
  });

  it('answers a request in flight with the old config and new requests with the new one', async () => {
    const before = await fetchJson(`${gateway.base}/v1/echo/quick`);
    assert.equal(before.status, 200);
    assert.ok('count' in before.json, 'json.emitDefaults (default on) emits fields at their defaults');
    const slow = fetchJson(`${gateway.base}/v1/echo/slow-1`);
    await sleep(100);
    const pipelineBefore = gateway.pipeline;
    const result = await gateway.reload(parsed(config({ json: { emitDefaults: false } })));
    assert.deepEqual(result.restartNeeded, []);
    assert.notEqual(gateway.pipeline, pipelineBefore);
    const fresh = await fetchJson(`${gateway.base}/v1/echo/quick`);
    assert.equal(fresh.status, 200);
    assert.deepEqual(fresh.json, { id: 'quick' }, 'the new config emits no defaults');
    const old = await slow;
    assert.equal(old.status, 200);
    assert.ok('count' in old.json, 'the request in flight finished on the old config');
  });

  it('keeps the upstream connection when the upstream config is unchanged, and replaces it when it changes', async () => {
    await fetchJson(`${gateway.base}/v1/echo/a`);
    const first = peers.at(-1)!;
    await gateway.reload(parsed(config({ timeouts: { default: '5s' } })));
    await fetchJson(`${gateway.base}/v1/echo/b`);
    assert.equal(peers.at(-1), first, 'same connection after a reload that left upstreams alone');
    await gateway.reload(parsed(config({ timeouts: { default: '5s' }, resilience: { retry: { maxRetries: 0 } } })));
    await fetchJson(`${gateway.base}/v1/echo/c`);
    assert.notEqual(peers.at(-1), first, 'a new connection after the upstream config changed');
  });

  it('rejects a config it cannot serve and keeps serving the running one', async () => {
    const running = gateway.pipeline;
    await assert.rejects(gateway.reload(parsed(config({ protos: { paths: [testProtosDir], files: ['echo/v1/missing.proto'] } }))), /missing\.proto/);
    await assert.rejects(gateway.reload(parsed(config({ upstreams: [] }))), /no upstream for echo\.v1\.EchoService/);
    assert.equal(gateway.pipeline, running);
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/still`)).status, 200);
  });

  it('counts every request in one set of metrics across reloads', async () => {
    const metrics = await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`).then((response) => response.text());
    const answered = metrics
      .split('\n')
      .filter((line) => line.startsWith('protogate_http_requests_total{') && line.includes('status="200"'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    // quick, slow-1, quick, a, b, c, still
    assert.equal(answered, 7);
  });
});

describe('RunningGateway.reload with --generated output', () => {
  it('serves the regenerated module after a reload (not the one cached at startup)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-generated-'));
    const generate = (files: string[]) => {
      const built = buildModel({ protoPaths: [testProtosDir, path.join(packageRoot, 'protos')], protoFiles: files });
      writeGeneratedOutput(dir, built.model, buildOpenApi(built.model, built.protos), files);
      return built.model.routes.length;
    };
    const echoRoutes = generate(['echo/v1/echo.proto']);
    const input: GatewayConfigInput = { protos: { generated: dir }, upstreams: [{ service: '*', target: backend.target }] };
    const gateway = await startTestGateway(input);
    try {
      assert.equal(gateway.pipeline.routes.length, echoRoutes);
      assert.equal((await fetchJson(`${gateway.base}/v1/shelves`)).status, 404);
      const bothRoutes = generate(['echo/v1/echo.proto', 'library/v1/library.proto']);
      const result = await gateway.reload(parsed(input));
      assert.equal(result.routes, bothRoutes);
      assert.ok(bothRoutes > echoRoutes);
      // The library route now exists: the echo backend does not implement it, so the call fails upstream, not in routing.
      assert.notEqual((await fetchJson(`${gateway.base}/v1/shelves`)).status, 404);
    } finally {
      await gateway.close();
    }
  });
});

describe('RunningGateway.reload after TLS files change in place', () => {
  it('reconnects to the upstream with the new files (same config text), and keeps the connection when they did not change', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-reload-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=reload test CA');
    openssl('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=unrelated CA');
    writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:upstream.reload.test\n');
    openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=upstream.reload.test');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
    const tlsPeers: string[] = [];
    const tlsBackend = await startRawGrpcServer(
      {
        '/echo.v1.EchoService/Echo': (request, call) => {
          tlsPeers.push(call.getPeer());
          return request;
        },
      },
      0,
      grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(path.join(dir, 'server.crt')), private_key: readFileSync(path.join(dir, 'server.key')) }], false),
    );
    const caFile = path.join(dir, 'trusted.crt');
    copyFileSync(path.join(dir, 'ca.crt'), caFile);
    const input: GatewayConfigInput = {
      protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
      upstreams: [{ service: '*', target: tlsBackend.target, tls: { caFile, serverName: 'upstream.reload.test' } }],
      resilience: { retry: { maxRetries: 0 } },
    };
    const gateway = await startTestGateway(input);
    try {
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/one`)).status, 200);
      const first = tlsPeers.at(-1);
      await gateway.reload(parsed(input));
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/two`)).status, 200);
      assert.equal(tlsPeers.at(-1), first, 'files unchanged: the connection is kept');
      // The trusted CA is replaced by an unrelated one: after the reload the upstream's certificate no longer verifies.
      copyFileSync(path.join(dir, 'other.crt'), caFile);
      await gateway.reload(parsed(input));
      const refused = await fetchJson(`${gateway.base}/v1/echo/three`);
      assert.equal(refused.status, 503, refused.text);
      assert.equal(tlsPeers.length, 2, 'the call never reached the upstream');
    } finally {
      await gateway.close();
      await tlsBackend.close();
    }
  });
});

// Traffic hygiene through the CLI as a user runs it: `protogate serve --config protogate.yaml`
// with compression, limits, an IP deny list and trusted proxies set in the file, against the
// demo's grpc-js library backend.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, it } from 'node:test';
import { startLibraryBackend } from '../../src/demo/library-backend.js';
import { serveCli, type ServingCli } from '../helpers/cli.js';
import { packageRoot } from '../helpers/gateway.js';

let backend: Awaited<ReturnType<typeof startLibraryBackend>>;
let cli: ServingCli;
let dir: string;
let port: number;

before(async () => {
  backend = await startLibraryBackend({ port: 0 });
  dir = mkdtempSync(path.join(tmpdir(), 'protogate-hygiene-'));
  const config = path.join(dir, 'protogate.yaml');
  writeFileSync(
    config,
    [
      `protos: { paths: [${JSON.stringify(path.join(packageRoot, 'protos'))}], files: [library/v1/library.proto] }`,
      `upstreams: [{ service: library.v1.LibraryService, target: "127.0.0.1:${backend.port}" }]`,
      'server: { host: 127.0.0.1, port: 0, trustedProxies: [127.0.0.1] }',
      'ipFilter: { deny: [203.0.113.0/24] }',
      'compression: { minBytes: 200, encodings: [gzip, br] }',
      'limits: { maxBodyBytes: 4096, maxQueryParams: 20 }',
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  cli = await serveCli(['--config', config]);
  port = Number(new URL(cli.base).port);
});
after(async () => {
  await cli?.stop();
  await backend?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function request(method: string, urlPath: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('compresses a list reply with the configured preference (gzip before br on equal weights)', async () => {
  const res = await request('GET', '/v1/shelves', { 'accept-encoding': 'br, gzip' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], 'gzip');
  const shelves = JSON.parse(zlib.gunzipSync(res.body).toString('utf8'));
  assert.ok(Array.isArray(shelves.shelves) && shelves.shelves.length > 0);
});

it('accepts a gzip request body and refuses a gzip bomb with 413', async () => {
  const created = await request(
    'POST',
    '/v1/shelves',
    { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    zlib.gzipSync(JSON.stringify({ shelf: { theme: 'Compressed' } })),
  );
  assert.equal(created.status, 200, created.body.toString());
  assert.equal(JSON.parse(created.body.toString('utf8')).theme, 'Compressed');
  const bomb = zlib.gzipSync(Buffer.alloc(1024 * 1024));
  const refused = await request('POST', '/v1/shelves', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, bomb);
  assert.equal(refused.status, 413);
  assert.equal(JSON.parse(refused.body.toString('utf8')).details[0].reason, 'PG_BODY_TOO_LARGE');
});

it('refuses a client the trusted proxy reports from a denied range, and serves others', async () => {
  const denied = await request('GET', '/v1/shelves', { 'x-forwarded-for': '203.0.113.7' });
  assert.equal(denied.status, 403);
  const status = JSON.parse(denied.body.toString('utf8'));
  assert.equal(status.code, 7);
  assert.equal(status.details[0].reason, 'PG_IP_DENIED');
  assert.equal((await request('GET', '/v1/shelves', { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' })).status, 200);
});

it('answers too many query parameters with 400', async () => {
  const query = Array.from({ length: 21 }, (_, i) => `pageSize=${i}`).join('&');
  const res = await request('GET', `/v1/shelves/classics/books?${query}`, {});
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(res.body.toString('utf8')).details[0].reason, 'PG_TOO_MANY_QUERY_PARAMS');
});

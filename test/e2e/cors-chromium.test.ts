// Cross-origin fetch in real headless Chromium (Debian's `chromium`, driven by playwright-core):
// a page served from another origin POSTs JSON to the demo gateway — a non-simple request, so the
// browser preflights it — and reads the status and JSON of a 200 and of a 404; a page from an
// origin the gateway does not allow gets a failed fetch and its POST never reaches the backend.
// Fails, never skips, without Chromium.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startLibraryBackend, type LibraryBackend } from '../../src/demo/library-backend.js';
import type { RequestEvent, UpstreamCallEvent } from '../../src/observability/request-events.js';
import { bundledProtosDir } from '../../src/package-paths.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = process.env['PROTOGATE_CHROMIUM'] ?? '/usr/bin/chromium';

/** The page: on load it runs the fetches and writes what it could read into #result. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>CORS page</title></head>
<body><pre id="result"></pre>
<script>
  const gateway = new URLSearchParams(location.search).get('gateway');
  async function call(path, init) {
    try {
      const response = await fetch(gateway + path, init);
      return { status: response.status, body: await response.json(), requestId: response.headers.get('x-request-id') };
    } catch (error) {
      return { error: error.name + ': ' + error.message };
    }
  }
  (async () => {
    const created = await call('/v1/shelves', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ shelf: { theme: 'Fetched cross-origin' } }),
    });
    const missing = await call('/v1/shelves/no-such-shelf', { headers: { 'content-type': 'application/json' } });
    const result = document.getElementById('result');
    result.textContent = JSON.stringify({ created, missing });
    result.dataset.done = 'yes';
  })();
</script></body></html>`;

let backend: LibraryBackend;
let gateway: TestGateway;
let browser: Browser | undefined;
const pages: http.Server[] = [];
let allowedOrigin = '';
let otherOrigin = '';
const events: RequestEvent[] = [];
let upstreamCalls = 0;
const onRequest = (message: unknown) => {
  if ((message as RequestEvent).source === gateway?.pipeline) events.push(message as RequestEvent);
};
const onUpstreamCall = (message: unknown) => {
  if ((message as UpstreamCallEvent).source === gateway?.pipeline) upstreamCalls++;
};

async function pageServer(): Promise<string> {
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pages.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  allowedOrigin = await pageServer();
  otherOrigin = await pageServer();
  backend = await startLibraryBackend({ port: 0 });
  gateway = await startTestGateway({
    protos: { paths: [bundledProtosDir], files: ['library/v1/library.proto'] },
    upstreams: [{ service: 'library.v1.LibraryService', target: `127.0.0.1:${backend.port}` }],
    cors: { allowOrigins: [allowedOrigin] },
  });
  subscribe('protogate:request', onRequest);
  subscribe('protogate:upstream-call', onUpstreamCall);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  unsubscribe('protogate:request', onRequest);
  unsubscribe('protogate:upstream-call', onUpstreamCall);
  await browser?.close();
  await gateway?.close();
  await backend?.close();
  await Promise.all(pages.map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Opens the page from `origin` against the gateway and returns what its script could read. */
async function runPage(origin: string): Promise<{ created: any; missing: any }> {
  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/?gateway=${encodeURIComponent(gateway.base)}`);
    await page.locator('#result[data-done="yes"]').waitFor({ state: 'attached', timeout: 20_000 });
    return JSON.parse((await page.locator('#result').textContent()) ?? '{}');
  } finally {
    await context.close();
  }
}

it('an allowed origin: the preflighted POST and a 404 are readable cross-origin', async () => {
  events.length = 0;
  const { created, missing } = await runPage(allowedOrigin);
  assert.equal(created.status, 200, JSON.stringify(created));
  assert.equal(created.body.theme, 'Fetched cross-origin');
  assert.match(created.body.name, /^shelves\//);
  assert.ok(created.requestId, 'x-request-id is exposed to the page');
  assert.equal(missing.status, 404, JSON.stringify(missing));
  assert.equal(missing.body.status, 'NOT_FOUND');
  const preflights = events.filter((event) => event.method === 'OPTIONS');
  assert.ok(preflights.length >= 1, 'Chromium sent a preflight');
  assert.ok(preflights.every((event) => event.status === 204));
});

it('another origin: the preflight is refused, fetch fails with a TypeError, nothing reaches the backend', async () => {
  events.length = 0;
  const calls = upstreamCalls;
  const { created, missing } = await runPage(otherOrigin);
  assert.match(created.error, /^TypeError: /);
  assert.match(missing.error, /^TypeError: /);
  assert.equal(upstreamCalls, calls);
  assert.ok(events.some((event) => event.method === 'OPTIONS' && event.status === 403), 'the gateway refused the preflight');
  assert.ok(!events.some((event) => event.method === 'POST'), 'the POST was never sent');
});

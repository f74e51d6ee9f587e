// Server streams in real headless Chromium (Debian's `chromium`, driven by playwright-core): a
// page from another origin reads an SSE stream with EventSource (messages with their ids, the
// in-band error event, the end event) and an NDJSON stream with fetch + ReadableStream, line by
// line as the messages arrive. Fails, never skips, without Chromium.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startTickerBackend, TICKER_PROTO, type TickerBackend } from '../helpers/ticker-backend.js';

const CHROMIUM = process.env['PROTOGATE_CHROMIUM'] ?? '/usr/bin/chromium';

/** The page: on load it reads three streams and writes what it saw into #result. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Stream page</title></head>
<body><pre id="result"></pre>
<script>
  const gateway = new URLSearchParams(location.search).get('gateway');
  // EventSource: messages until the gateway's "end" event (EventSource would reconnect otherwise)
  function sse(path) {
    return new Promise((resolve) => {
      const seen = { messages: [], errors: [], opened: false };
      const source = new EventSource(gateway + path);
      source.onopen = () => (seen.opened = true);
      source.onmessage = (event) => seen.messages.push({ id: event.lastEventId, data: JSON.parse(event.data) });
      source.addEventListener('error', (event) => {
        // the gateway's in-band error is a MessageEvent with data; a connection error has none
        if (event.data !== undefined) seen.errors.push(JSON.parse(event.data));
      });
      const finish = () => {
        source.close();
        resolve(seen);
      };
      source.addEventListener('end', finish);
      source.addEventListener('error', (event) => event.data !== undefined && finish());
      setTimeout(finish, 10000);
    });
  }
  // fetch + ReadableStream: NDJSON lines as they arrive, with the time each arrived
  async function ndjson(path) {
    const started = performance.now();
    const response = await fetch(gateway + path);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const lines = [];
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let newline;
      while ((newline = buffered.indexOf('\\n')) >= 0) {
        lines.push({ at: performance.now() - started, value: JSON.parse(buffered.slice(0, newline)) });
        buffered = buffered.slice(newline + 1);
      }
    }
    return { status: response.status, contentType: response.headers.get('content-type'), lines, endedAt: performance.now() - started };
  }
  (async () => {
    const result = document.getElementById('result');
    try {
      const events = await sse('/v1/ticks/browser?count=3&intervalMs=50');
      const failing = await sse('/v1/ticks/browser?count=5&failAfter=2&failCode=10');
      const lines = await ndjson('/v1/ticks/lines?count=3&intervalMs=400');
      result.textContent = JSON.stringify({ events, failing, lines });
    } catch (error) {
      result.textContent = JSON.stringify({ error: String(error) });
    }
    result.dataset.done = 'yes';
  })();
</script></body></html>`;

let backend: TickerBackend;
let gateway: TestGateway;
let browser: Browser | undefined;
let pages: http.Server;
let origin = '';

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  pages = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  backend = await startTickerBackend();
  gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: [TICKER_PROTO] },
    upstreams: [{ service: '*', target: backend.target }],
    cors: { allowOrigins: [origin] },
    streaming: { sseIdFields: { 'stream.v1.TickerService/Tick': 'cursor' } },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await gateway?.close();
  await backend?.close();
  await new Promise((resolve) => pages.close(resolve));
});

it('EventSource and fetch + ReadableStream read the streams as they arrive', async () => {
  const context = await browser!.newContext();
  let seen: any;
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/?gateway=${encodeURIComponent(gateway.base)}`);
    await page.locator('#result[data-done="yes"]').waitFor({ state: 'attached', timeout: 30_000 });
    seen = JSON.parse((await page.locator('#result').textContent()) ?? '{}');
  } finally {
    await context.close();
  }
  assert.equal(seen.error, undefined, seen.error);

  const { events, failing, lines } = seen;
  assert.equal(events.opened, true);
  assert.deepEqual(
    events.messages.map((m: any) => [m.id, m.data.seq, m.data.name]),
    [['c-0', '0', 'browser'], ['c-1', '1', 'browser'], ['c-2', '2', 'browser']],
  );
  assert.deepEqual(events.errors, []);

  assert.deepEqual(failing.messages.map((m: any) => m.data.seq), ['0', '1']);
  assert.equal(failing.errors.length, 1);
  assert.equal(failing.errors[0].status, 'ABORTED');
  assert.equal(failing.errors[0].message, 'ticker failed after 2');

  assert.equal(lines.status, 200);
  assert.equal(lines.contentType, 'application/x-ndjson');
  assert.deepEqual(lines.lines.map((l: any) => l.value.seq), ['0', '1', '2']);
  // ticks are 400 ms apart: the first line was readable long before the stream ended
  assert.ok(lines.endedAt - lines.lines[0].at >= 600, `first line at ${lines.lines[0].at} ms, end at ${lines.endedAt} ms`);
});

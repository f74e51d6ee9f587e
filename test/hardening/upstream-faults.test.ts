// Broken upstreams against the real CLI, over both gRPC transports: every status code mapped per
// the table (codes outside it → 500), a backend killed mid-call and restarted under load (5xx JSON
// meanwhile, recovery without restarting the gateway), a hung backend (504 at the deadline), an
// over-size response (5xx, not a client's 429), and a raw HTTP/2 server that breaks the gRPC
// protocol (bad frames, missing trailers, resets, GOAWAY, non-gRPC answers) — always a JSON
// error, never a 2xx or a crash, and never an upstream address or internal text in a body.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { assertNothingLeaked, startHostileGateway, type HostileGateway } from '../helpers/hostile-gateway.js';
import { startRecordingBackend, echoTypes } from '../helpers/recording-backend.js';

// DESIGN §4: the gRPC → HTTP table.
const HTTP_FOR_CODE: Record<number, number> = {
  1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** grpc-message as PROTOCOL-HTTP2.md encodes it: percent-encoding outside printable ASCII, and '%'. */
const grpcMessage = (text: string) =>
  text.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));

for (const transport of ['wire', 'http2', 'grpc-js'] as const) {
  describe(`upstream faults over ${transport}`, () => {
    let gw: HostileGateway;
    before(async () => {
      gw = await startHostileGateway({
        upstream: { transport, maxResponseBytes: 1024 },
        timeouts: { default: '1s' },
        resilience: { breaker: { enabled: true, failureThreshold: 5, cooldown: '1s' }, retry: { maxRetries: 0 } },
      });
    });
    after(async () => {
      await gw?.close();
    });

    it('maps every gRPC status code per the table, and unknown codes to 500', async () => {
      for (const code of [...Object.keys(HTTP_FOR_CODE).map(Number), 17, 42, 99, 1000]) {
        const res = await gw.fetch(`/v1/fail/${code}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        const expected = HTTP_FOR_CODE[code] ?? 500;
        if (code === 1 && transport === 'grpc-js') {
          // grpc-js reports a backend's RST_STREAM CANCEL (a killed backend) as CANCELLED too, so
          // the grpc-js transport turns a CANCELLED it did not ask for into UNAVAILABLE (unary-call.ts).
          assert.ok(res.status === 499 || res.status === 503, `grpc status 1: ${res.status} ${res.body}`);
          continue;
        }
        assert.equal(res.status, expected, `grpc status ${code}: ${res.status} ${res.body}`);
        assert.equal(typeof res.json['status'], 'string');
        if (expected === 500 && HTTP_FOR_CODE[code] === undefined) assert.equal(res.json['status'], 'UNKNOWN', res.body);
      }
    });

    it('answers a hung backend with 504 at the deadline', async () => {
      const started = performance.now();
      const res = await gw.fetch('/v1/hang/h1');
      const ms = performance.now() - started;
      assert.equal(res.status, 504, res.body);
      assert.equal(res.json['status'], 'DEADLINE_EXCEEDED');
      assert.ok(ms >= 900 && ms < 3000, `answered after ${ms.toFixed(0)} ms, the deadline is 1 s`);
    });

    it('answers an over-size upstream response with a 5xx, not 429', async () => {
      const res = await gw.fetch('/v1/echo/big-5000');
      assert.ok(res.status >= 500 && res.status < 600, `${res.status} ${res.body}`);
      const small = await gw.fetch('/v1/echo/big-100');
      assert.equal(small.status, 200, small.body);
    });

    it('survives its backend killed mid-call and restarted under load, without a restart of its own', async () => {
      const port = gw.backend.server.port;
      const statuses: number[] = [];
      let stop = false;
      // Load: four clients in a loop for the whole test.
      const load = Array.from({ length: 4 }, async (_, i) => {
        while (!stop) {
          const res = await gw.fetch(`/v1/echo/load-${i}`);
          statuses.push(res.status);
          if (res.status !== 200) assert.ok(res.status >= 500, `${res.status} ${res.body}`);
          await sleep(10);
        }
      });
      await sleep(200);
      const killed = await gw.fetch('/v1/echo/kill');
      assert.ok(killed.status >= 500 && killed.status < 600, `the call cut by the kill: ${killed.status} ${killed.body}`);
      // Down: answered fast.
      const downStarted = performance.now();
      const down = await gw.fetch('/v1/echo/down');
      assert.ok(down.status === 503, `${down.status} ${down.body}`);
      assert.ok(performance.now() - downStarted < 1000);
      await sleep(300);
      const restarted = await startRecordingBackend(port);
      try {
        const deadline = performance.now() + 10_000;
        let recovered = false;
        while (!recovered && performance.now() < deadline) {
          recovered = (await gw.fetch('/v1/echo/after-restart')).status === 200;
          if (!recovered) await sleep(100);
        }
        assert.ok(recovered, 'the gateway serves again once the backend is back');
        stop = true;
        await Promise.all(load);
        assert.ok(statuses.includes(200) && statuses.some((s) => s >= 500), `load saw ${[...new Set(statuses)].join(', ')}`);
        assert.equal(gw.cli.child.exitCode, null, 'the gateway process kept running');
      } finally {
        stop = true;
        await restarted.server.close();
      }
    });

    it('never leaks an upstream address or internal text', () => {
      assertNothingLeaked(gw.seen, gw.backend.server.port);
    });
  });
}

describe('a backend that breaks the gRPC protocol (raw HTTP/2)', () => {
  const { EchoMessage } = echoTypes();
  let server: http2.Http2Server;
  let port: number;
  const gws: HostileGateway[] = [];

  /** Answers Echo by the request's id: each id is one way of breaking gRPC. */
  function misbehave(stream: http2.ServerHttp2Stream, id: string): void {
    const message = Buffer.from(EchoMessage.encode({ id: 'ok' }).finish());
    const framed = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), message]);
    framed.writeUInt32BE(message.length, 1);
    const grpcHeaders = { ':status': 200, 'content-type': 'application/grpc' };
    switch (id) {
      case 'no-trailers':
        stream.respond(grpcHeaders);
        stream.end(framed);
        return;
      case 'compressed-flag':
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat([Buffer.from([1]), framed.subarray(1)]));
        return;
      case 'truncated': {
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        const lying = Buffer.from(framed);
        lying.writeUInt32BE(message.length + 50, 1);
        stream.end(lying);
        return;
      }
      case 'two-messages':
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat([framed, framed]));
        return;
      case 'garbage-message':
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat([Buffer.from([0, 0, 0, 0, 4]), Buffer.from([0xff, 0xff, 0xff, 0xff])]));
        return;
      case 'reset':
        stream.respond(grpcHeaders);
        stream.write(framed.subarray(0, 3));
        setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 10);
        return;
      case 'goaway':
        stream.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR);
        setTimeout(() => stream.session?.destroy(), 10);
        return;
      case 'html':
        stream.respond({ ':status': 502, 'content-type': 'text/html' });
        stream.end('<html>upstream proxy error at 10.0.0.7:8080</html>');
        return;
      case 'not-grpc-200':
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end('{"id":"sneaky"}');
        return;
      case 'bad-status':
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': 'abc', 'grpc-message': 'at /srv/app.ts:12 (peer 10.0.0.7:5)' }));
        stream.end();
        return;
      case 'error-with-internal-text':
        stream.respond({ ...grpcHeaders, 'grpc-status': '13', 'grpc-message': grpcMessage('Error: boom\n    at handler (/srv/app/handler.ts:42:7)') }, { endStream: true });
        return;
      default:
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(framed);
    }
  }

  before(async () => {
    server = http2.createServer();
    server.on('stream', (stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        const id = body.length >= 5 ? String((EchoMessage.decode(body.subarray(5)) as unknown as { id: string }).id) : '';
        misbehave(stream, id);
      });
      stream.on('error', () => {});
    });
    server.on('sessionError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const gw of gws) await gw.close();
    server.close();
  });

  for (const transport of ['wire', 'http2', 'grpc-js'] as const) {
    it(`answers each protocol break with a 5xx JSON error, over ${transport}`, { timeout: 60_000 }, async () => {
      // The recording backend is unused here: the CLI's upstream is the raw server.
      const gw = await startHostileGateway(
        { upstream: { transport }, timeouts: { default: '2s' }, resilience: { breaker: { enabled: false }, retry: { maxRetries: 0 } } },
        { upstream: `127.0.0.1:${port}` },
      );
      gws.push(gw);
      const sane = await gw.fetch('/v1/echo/fine');
      assert.equal(sane.status, 200, `the raw server speaks gRPC when it wants to: ${sane.body}`);
      for (const id of ['no-trailers', 'compressed-flag', 'truncated', 'two-messages', 'garbage-message', 'reset', 'goaway', 'html', 'not-grpc-200', 'bad-status', 'error-with-internal-text']) {
        const res = await gw.fetch(`/v1/echo/${id}`).catch((error: unknown) => {
          throw new Error(`${transport} ${id}: the gateway did not answer (${String(error)}; exit code ${gw.cli.child.exitCode})\n${gw.output().slice(-2000)}`);
        });
        assert.ok(res.status >= 500 && res.status < 600, `${transport} ${id}: ${res.status} ${res.body}`);
        assert.equal(typeof res.json['code'], 'number', `${id}: ${res.body}`);
        assert.doesNotMatch(res.body, /10\.0\.0\.7|srv\/app|ECONNREFUSED|\bat handler\b/, `${id}: ${res.body}`);
        if (id === 'error-with-internal-text') {
          // What the client does not see goes to the log, with the request id.
          const requestId = res.headers['x-request-id']!;
          const deadline = performance.now() + 2000;
          let line: string | undefined;
          while (line === undefined && performance.now() < deadline) {
            line = gw.output().split('\n').find((l) => l.includes(requestId) && l.includes('"cause"'));
            if (line === undefined) await sleep(20);
          }
          assert.ok(line !== undefined, `no log line with request id ${requestId} and a cause`);
          assert.match(line, /handler\.ts:42:7/);
        }
      }
      const after = await gw.fetch('/v1/echo/fine-again');
      assert.equal(after.status, 200, after.body);
      assert.equal(gw.cli.child.exitCode, null);
      assertNothingLeaked(gw.seen, port);
    });
  }
});

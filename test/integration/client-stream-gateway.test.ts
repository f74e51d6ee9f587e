// Client streams end to end: an NDJSON request body through the real gateway to a real grpc-js
// backend (stream/v1/ticker.proto `Collect`), one message per line, one JSON response; a bad line
// is a 400 naming it and cancels the upstream call; other media types are 415. Over every
// upstream transport.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startTickerBackend, TICKER_PROTO, type TickerBackend } from '../helpers/ticker-backend.js';

let backend: TickerBackend;

before(async () => {
  backend = await startTickerBackend();
});

after(async () => {
  await backend.close();
});

for (const transport of ['wire', 'http2', 'grpc-js'] as const) {
  describe(`client streams through the gateway (${transport} transport)`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway({
        protos: { paths: [testProtosDir], files: [TICKER_PROTO] },
        upstreams: [{ service: '*', target: backend.target }],
        upstream: { transport },
      });
    });
    after(async () => {
      await gateway.close();
    });

    const collect = (body: string, contentType = 'application/x-ndjson') =>
      fetchJson(`${gateway.base}/v1/collect`, { method: 'POST', headers: { 'content-type': contentType }, body });


    it('one request message per line, in order; blank lines and a missing final newline are fine', async () => {
      const response = await collect('{"name":"a"}\n\n{"name":"b","seq":"2"}\r\n{"name":"c"}');
      assert.equal(response.status, 200, response.text);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.deepEqual([response.json.name, response.json.count], ['a+b+c', 3]);
    });

    it('an empty body is a stream of no messages', async () => {
      const response = await collect('');
      assert.equal(response.status, 200, response.text);
      assert.deepEqual([response.json.name, response.json.count], ['', 0]);
    });

    it('a bad line: 400 naming the line and the field, and the upstream call is cancelled', async () => {
      const seen = backend.cancelled();
      const response = await collect('{"name":"a"}\n{"name":"b"}\n{"name":"c","nope":1}\n{"name":"d"}\n');
      assert.equal(response.status, 400);
      assert.equal(response.json.status, 'INVALID_ARGUMENT');
      assert.match(response.json.message, /^line 3: /);
      assert.match(response.json.message, /nope/);
      // grpc-js may cancel the call before it has left the client (it starts calls
      // asynchronously), and then the backend sees no cancellation; the node:http2 streams are
      // open at once. The grpc-js cancellation itself is checked in upstream/client-stream.test.ts.
      if (transport !== 'grpc-js') await seen;
    });

    it('malformed JSON on a line is a 400 naming the line', async () => {
      const response = await collect('{"name":"a"}\n{"name":\n');
      assert.equal(response.status, 400);
      assert.match(response.json.message, /^line 2: /);
    });

    it('the upstream failure is the answer', async () => {
      const response = await collect('{"name":"a"}\n{"name":"fail"}\n');
      assert.equal(response.status, 400);
      assert.equal(response.json.status, 'FAILED_PRECONDITION');
      assert.equal(response.json.message, 'collected a failing tick at 2');
    });

    it('application/json is refused with 415: the body must be NDJSON', async () => {
      const response = await collect('{"name":"a"}', 'application/json');
      assert.equal(response.status, 415);
      assert.equal(response.json.details[0].reason, 'PG_UNSUPPORTED_MEDIA_TYPE');
    });
  });
}

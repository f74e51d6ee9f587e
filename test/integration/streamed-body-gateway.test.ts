// Client-streaming request bodies read as they arrive, end to end: the real gateway and a real
// grpc-js backend (stream/v1/relay.proto) that records each message when it gets it. A line
// reaches the backend before the client has sent the next; a bad line is answered while the
// body is still open; the body limit holds for streamed bodies; compressed bodies are decoded
// as a stream; a backend that stops reading stops the gateway reading the client's body.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { RELAY_PROTO, startRelayBackend, type RelayBackend } from '../helpers/relay-backend.js';
import { startStreamingRequest } from '../helpers/streaming-request.js';

const NDJSON = { 'content-type': 'application/x-ndjson' };
const LIMIT = 64 * 1024;

let backend: RelayBackend;

before(async () => {
  backend = await startRelayBackend();
});

after(async () => {
  await backend.close();
});

for (const transport of ['wire', 'http2', 'grpc-js'] as const) {
  describe(`streamed client-stream bodies (${transport} transport)`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway({
        protos: { paths: [testProtosDir], files: [RELAY_PROTO] },
        upstreams: [{ service: '*', target: backend.target }],
        upstream: { transport },
        limits: { maxBodyBytes: LIMIT },
      });
    });
    after(async () => {
      await gateway.close();
    });

    it('forwards each line as it arrives: the backend has line 1 before line 2 is sent, split lines included', async () => {
      const seen = backend.arrivals.length;
      const upload = startStreamingRequest(`${gateway.base}/v1/channels/c1:gather`, NDJSON);
      await upload.write('{"text":"one"}\n');
      await backend.arrived(seen);
      assert.deepEqual(backend.arrivals.slice(seen), [{ channel: 'c1', text: 'one' }]);
      // a line in two pieces, across writes (and so across body chunks)
      await upload.write('{"te');
      await upload.write('xt":"two"}\n\n{"text":"three"}');
      await backend.arrived(seen + 1);
      assert.deepEqual(backend.arrivals[seen + 1], { channel: 'c1', text: 'two' });
      const answer = await upload.finish();
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual([answer.json.count, answer.json.texts], [3, 'one+two+three']);
      // read to its end: the connection may serve a next request
      assert.notEqual(answer.headers.connection, 'close');
    });

    it('a bad line 3 after two good ones: 400 "line 3" while the body is still open, and the call is cancelled', async () => {
      const seen = backend.arrivals.length;
      const cancelled = backend.cancelled();
      const upload = startStreamingRequest(`${gateway.base}/v1/channels/c2:gather`, NDJSON);
      await upload.write('{"text":"a"}\n{"text":"b"}\n');
      await backend.arrived(seen + 1);
      await upload.write('{"text":"c","nope":1}\n');
      const answer = await upload.answer();
      assert.equal(answer.status, 400);
      assert.match(answer.json.message, /^line 3: /);
      assert.match(answer.json.message, /nope/);
      // the rest of the body is never read: the connection is not reused
      assert.equal(answer.headers.connection, 'close');
      await cancelled;
      assert.equal(backend.arrivals.length, seen + 2);
      upload.request.destroy();
    });

    it('a body over limits.maxBodyBytes: 413 by its Content-Length, or when the streamed bytes pass it', async () => {
      const line = `{"text":"${'x'.repeat(1000)}"}\n`;
      const declared = await fetchJson(`${gateway.base}/v1/channels/c3:gather`, { method: 'POST', headers: NDJSON, body: line.repeat(70) });
      assert.equal(declared.status, 413);
      assert.equal(declared.json.details[0].reason, 'PG_BODY_TOO_LARGE');

      const cancelled = backend.cancelled();
      const upload = startStreamingRequest(`${gateway.base}/v1/channels/c3:gather`, NDJSON);
      await upload.write(line.repeat(Math.ceil(LIMIT / line.length)));
      const answer = await upload.answer();
      assert.equal(answer.status, 413);
      assert.equal(answer.json.details[0].reason, 'PG_BODY_TOO_LARGE');
      assert.match(answer.json.message, new RegExp(`larger than ${LIMIT} bytes`));
      // the call had started with the first lines; the refusal cancels it
      await cancelled;
      upload.request.destroy();
    });

    it('a gzip body is decoded as it streams; a gzip bomb past the limit is a 413', async () => {
      const gzip = { ...NDJSON, 'content-encoding': 'gzip' };
      const ok = await fetchJson(`${gateway.base}/v1/channels/c4:gather`, { method: 'POST', headers: gzip, body: gzipSync('{"text":"z1"}\n{"text":"z2"}\n') });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual([ok.json.count, ok.json.texts], [2, 'z1+z2']);
      const bomb = gzipSync(`{"text":"${'b'.repeat(LIMIT * 4)}"}\n`);
      assert.ok(bomb.length < LIMIT);
      const refused = await fetchJson(`${gateway.base}/v1/channels/c4:gather`, { method: 'POST', headers: gzip, body: bomb });
      assert.equal(refused.status, 413);
      const corrupt = await fetchJson(`${gateway.base}/v1/channels/c4:gather`, { method: 'POST', headers: gzip, body: Buffer.from('not gzip at all') });
      assert.equal(corrupt.status, 400);
      assert.equal(corrupt.json.details[0].reason, 'PG_BAD_CONTENT_ENCODING');
    });
  });
}

describe('a backend that stops reading holds the client body back (backpressure)', () => {
  let gateway: TestGateway;
  const TOTAL = 64 * 1024 * 1024;
  before(async () => {
    gateway = await startTestGateway({
      protos: { paths: [testProtosDir], files: [RELAY_PROTO] },
      upstreams: [{ service: '*', target: backend.target }],
      limits: { maxBodyBytes: 2 * TOTAL },
    });
  });
  after(async () => {
    await gateway.close();
  });

  it('the client cannot write the body while the backend holds; after the release all of it arrives', async () => {
    const seen = backend.arrivals.length;
    const upload = startStreamingRequest(`${gateway.base}/v1/channels/slow:gather`, NDJSON);
    await upload.write('{"text":"hold"}\n');
    await backend.arrived(seen);
    const line = `{"text":"${'p'.repeat(1000)}"}\n`;
    const batch = line.repeat(64);
    let written = 0;
    let stalled = false;
    // Writes until the socket stays full: progress is checked once per pause of the writer, and
    // the test stops at the first pause with no progress since the last one. A gateway that
    // buffered the body would take all of it (then `written` reaches TOTAL).
    const writer = (async () => {
      while (written < TOTAL) {
        if (!(await upload.write(batch))) return;
        written += batch.length;
      }
    })();
    let last = -1;
    while (written < TOTAL && written !== last) {
      last = written;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    stalled = written < TOTAL;
    assert.ok(stalled, `the client wrote all ${TOTAL} bytes while the backend read nothing: the gateway buffered the body`);
    assert.ok(written < TOTAL / 2, `${written} bytes written before the stall`);
    backend.release();
    await writer;
    const answer = await upload.finish();
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.count, 1 + written / line.length);
  });
});

describe('google.api.HttpBody client streams: the raw body in HttpBody messages', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({
      protos: { paths: [testProtosDir], files: [RELAY_PROTO] },
      upstreams: [{ service: '*', target: backend.target }],
      limits: { maxBodyBytes: 8 * 1024 * 1024 },
    });
  });
  after(async () => {
    await gateway.close();
  });

  it('a 5 MB binary upload arrives byte for byte, in messages of at most 64 KiB, the first with the Content-Type', async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const response = await fetchJson(`${gateway.base}/v1/uploads`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: bytes });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.json.bytes, String(bytes.length));
    assert.equal(response.json.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(response.json.contentType, 'application/zip');
    assert.equal(response.json.laterContentTypes, 0);
    assert.ok(response.json.maxMessageBytes <= 64 * 1024, String(response.json.maxMessageBytes));
    assert.ok(response.json.messages >= bytes.length / (64 * 1024), String(response.json.messages));
  });

  it('the bytes go out as they arrive: the first message reaches the backend before the body ends', async () => {
    const seen = backend.arrivals.length;
    const upload = startStreamingRequest(`${gateway.base}/v1/uploads`, { 'content-type': 'text/csv' });
    await upload.write('a,b\n1,2\n');
    await backend.arrived(seen);
    assert.deepEqual(backend.arrivals[seen], { channel: 'upload', text: 'text/csv 8' });
    await upload.write('3,4\n');
    await backend.arrived(seen + 1);
    assert.deepEqual(backend.arrivals[seen + 1], { channel: 'upload', text: ' 4' });
    const answer = await upload.finish();
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual([answer.json.bytes, answer.json.messages, answer.json.contentType], ['12', 2, 'text/csv']);
  });

  it('an empty body is a stream of no messages', async () => {
    const response = await fetchJson(`${gateway.base}/v1/uploads`, { method: 'POST', headers: { 'content-type': 'application/zip' } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.json.messages, 0);
  });
});

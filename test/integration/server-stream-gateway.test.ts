// Server streams end to end: real HTTP clients, the real gateway, a real grpc-js backend
// (stream/v1/ticker.proto), over both upstream transports. NDJSON and SSE framing, flush per
// message, errors before and after the first message, heartbeats, SSE ids and Last-Event-ID,
// cancellation on disconnect, the stream deadline, backpressure and shutdown.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RequestEvent } from '../../src/observability/request-events.js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startTickerBackend, TICKER_PROTO as PROTO, type TickerBackend } from '../helpers/ticker-backend.js';

const FLOOD_TICKS = 1500;
const FLOOD_PADDING = 16 * 1024;

let backend: TickerBackend;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  backend = await startTickerBackend();
});

after(async () => {
  await backend.close();
});

/** Reads a fetch body as text chunks as they arrive. */
async function* chunks(response: Response): AsyncGenerator<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

function ndjson(text: string): any[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

/** SSE events of a complete body: {event, id, data} with data parsed, comments counted apart. */
function sseEvents(text: string): { events: Array<{ event: string; id: string | undefined; data: any }>; comments: number } {
  const events: Array<{ event: string; id: string | undefined; data: any }> = [];
  let comments = 0;
  for (const block of text.split('\n\n')) {
    if (block === '') continue;
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments++;
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ event, id, data: JSON.parse(data.join('\n')) });
  }
  return { events, comments };
}

for (const transport of ['http2', 'grpc-js'] as const) {
  describe(`server streams through the gateway (${transport} transport)`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway({
        protos: { paths: [testProtosDir], files: [PROTO] },
        upstreams: [{ service: '*', target: backend.target }],
        upstream: { transport },
        streaming: { sseHeartbeat: '150ms', sseIdFields: { 'stream.v1.TickerService/Tick': 'cursor' } },
      });
    });
    after(async () => {
      await gateway.close();
    });

    it('NDJSON by default: one canonical JSON message per line, in order, with response metadata as headers', async () => {
      // compression is on by default: a stream still goes out uncompressed, flushed per message
      const response = await fetchJson(`${gateway.base}/v1/ticks/a?count=3`, { headers: { 'accept-encoding': 'gzip, br' } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
      assert.equal(response.headers.get('content-encoding'), null);
      assert.equal(response.headers.get('grpc-metadata-x-ticker'), 'on');
      assert.equal(response.headers.get('content-length'), null);
      assert.deepEqual(
        ndjson(response.text).map((m) => [m.name, m.seq, m.cursor]),
        [['a', '0', 'c-0'], ['a', '1', 'c-1'], ['a', '2', 'c-2']],
      );
      // emitDefaults: every key, int64 as a string, bytes as base64
      assert.deepEqual(Object.keys(ndjson(response.text)[0]).sort(), ['cursor', 'name', 'padding', 'seq', 'value']);
    });

    it('flushes each message as it comes: the first line arrives while the stream is still open', async () => {
      const response = await fetch(`${gateway.base}/v1/ticks/g?count=2&mode=MODE_GATED`);
      const reader = chunks(response);
      let text = '';
      while (!text.includes('\n')) text += (await reader.next()).value;
      assert.equal(ndjson(text)[0].seq, '0');
      assert.ok(backend.releaseGate(), 'the backend waited for the test before its second tick');
      for await (const chunk of reader) text += chunk;
      assert.deepEqual(ndjson(text).map((m) => m.seq), ['0', '1']);
    });

    it('POST with body "*" and response_body per message', async () => {
      const posted = await fetchJson(`${gateway.base}/v1/ticks`, { method: 'POST', json: { name: 'p', count: 2 } });
      assert.deepEqual(ndjson(posted.text).map((m) => m.name), ['p', 'p']);
      const values = await fetchJson(`${gateway.base}/v1/ticks/v/values?count=2`);
      assert.deepEqual(ndjson(values.text), ['v0', 'v1']);
    });

    it('system parameters apply per message: $fields selects, $prettyPrint is ignored (one message per line)', async () => {
      const response = await fetchJson(`${gateway.base}/v1/ticks/q?count=2&$fields=seq&$prettyPrint=true`);
      assert.equal(response.status, 200, response.text);
      assert.equal(response.text, '{"seq":"0"}\n{"seq":"1"}\n');
    });

    it('SSE when Accept asks for it: data per message, id from the configured cursor field, an end event', async () => {
      const response = await fetchJson(`${gateway.base}/v1/ticks/s?count=2`, { headers: { accept: 'text/event-stream' } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      assert.equal(response.headers.get('cache-control'), 'no-cache');
      const { events } = sseEvents(response.text);
      assert.deepEqual(
        events.map((e) => [e.event, e.id, e.data.seq]),
        [['message', 'c-0', '0'], ['message', 'c-1', '1'], ['end', undefined, undefined]],
      );
    });

    it('an error before the first message is a normal HTTP error with a google.rpc.Status body', async () => {
      const response = await fetchJson(`${gateway.base}/v1/ticks/e?count=3&failAfter=0&failCode=5`);
      assert.equal(response.status, 404);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(response.json.status, 'NOT_FOUND');
      assert.equal(response.json.message, 'ticker failed after 0');
    });

    it('an error after the first message: an in-band record, then a clean end (NDJSON and SSE)', async () => {
      const response = await fetchJson(`${gateway.base}/v1/ticks/m?count=5&failAfter=2&failCode=10`);
      assert.equal(response.status, 200);
      const lines = ndjson(response.text);
      assert.deepEqual(lines.slice(0, 2).map((m) => m.seq), ['0', '1']);
      assert.equal(lines.length, 3);
      assert.deepEqual(
        { code: lines[2].error.code, status: lines[2].error.status, message: lines[2].error.message },
        { code: 10, status: 'ABORTED', message: 'ticker failed after 2' },
      );
      assert.ok(Array.isArray(lines[2].error.details));

      const sse = await fetchJson(`${gateway.base}/v1/ticks/m?count=5&failAfter=1&failCode=10`, { headers: { accept: 'text/event-stream' } });
      const { events } = sseEvents(sse.text);
      assert.deepEqual(events.map((e) => e.event), ['message', 'error']);
      assert.equal(events[1]!.data.status, 'ABORTED');
    });

    it('the request event of a stream is published at its end, with the in-band failure and the bytes written', async () => {
      const events: RequestEvent[] = [];
      const onRequest = (message: unknown) => {
        if ((message as RequestEvent).source === gateway.pipeline) events.push(message as RequestEvent);
      };
      subscribe('protogate:request', onRequest);
      try {
        const response = await fetchJson(`${gateway.base}/v1/ticks/o?count=5&failAfter=1&failCode=10`);
        assert.equal(events.length, 1);
        assert.deepEqual([events[0]!.status, events[0]!.grpcCode, events[0]!.reason], [200, 10, 'PG_UPSTREAM_ERROR']);
        assert.equal(events[0]!.bytes, Buffer.byteLength(response.text));
        assert.equal(events[0]!.route?.spec.method, 'Tick');
      } finally {
        unsubscribe('protogate:request', onRequest);
      }
    });

    it('SSE heartbeats on an idle stream; NDJSON has none', async () => {
      const sse = await fetchJson(`${gateway.base}/v1/ticks/h?count=2&intervalMs=400`, { headers: { accept: 'text/event-stream' } });
      const { events, comments } = sseEvents(sse.text);
      assert.equal(events.length, 3);
      assert.ok(comments >= 1, `expected a ": ping" comment in ${JSON.stringify(sse.text)}`);
      const plain = await fetchJson(`${gateway.base}/v1/ticks/h?count=2&intervalMs=400`);
      assert.equal(ndjson(plain.text).length, 2);
    });

    it('forwards Last-Event-ID as metadata last-event-id, so the backend can resume', async () => {
      const calls = backend.seenMetadata.length;
      await fetchJson(`${gateway.base}/v1/ticks/r?count=1`, { headers: { accept: 'text/event-stream', 'last-event-id': 'c-41' } });
      assert.deepEqual(backend.seenMetadata[calls]!.get('last-event-id'), ['c-41']);
    });

    it('a client that disconnects mid-stream cancels the upstream call', async () => {
      const seen = backend.cancelled();
      const controller = new AbortController();
      const response = await fetch(`${gateway.base}/v1/ticks/d?mode=MODE_ENDLESS`, { signal: controller.signal });
      const reader = chunks(response);
      assert.match((await reader.next()).value, /"seq":"0"/);
      controller.abort();
      await seen;
    });

    it('backpressure: a client that does not read stalls the backend; reading again gets every message in order', async (t) => {
      const url = new URL(`${gateway.base}/v1/ticks/f?mode=MODE_FLOOD&count=${FLOOD_TICKS}&paddingBytes=${FLOOD_PADDING}`);
      const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, resolve).on('error', reject));
      response.pause();
      let last = -1;
      while (backend.floodWritten() !== last) {
        last = backend.floodWritten();
        await pause(200);
      }
      t.diagnostic(`backend stalled after ${last} of ${FLOOD_TICKS} messages`);
      // between the backend and the paused client: socket buffers, the response's buffer, our
      // read-ahead and the HTTP/2 window — a few MiB, far below the ~33 MiB of JSON in all
      assert.ok(last < FLOOD_TICKS / 2, `the backend wrote ${last} messages while the client read nothing`);
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.resume();
      await new Promise((resolve) => response.on('end', resolve));
      const seqs = text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => Number(JSON.parse(line).seq));
      assert.equal(seqs.length, FLOOD_TICKS);
      assert.ok(seqs.every((seq, i) => seq === i));
    });

    it('client-streaming methods take NDJSON only (415 for JSON)', async () => {
      const response = await fetchJson(`${gateway.base}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"name":"a"}\n' });
      assert.equal(response.status, 200, response.text);
      const json = await fetchJson(`${gateway.base}/v1/collect`, { method: 'POST', json: { name: 'a' } });
      assert.equal(json.status, 415);
      assert.equal(json.json.details[0].reason, 'PG_UNSUPPORTED_MEDIA_TYPE');
    });
  });
}

describe('stream deadlines and shutdown', () => {
  it('timeouts.stream, not timeouts.default, bounds a stream; when it passes, an in-band DEADLINE_EXCEEDED', async () => {
    const gateway = await startTestGateway({
      protos: { paths: [testProtosDir], files: [PROTO] },
      upstreams: [{ service: '*', target: backend.target }],
      timeouts: { default: '100ms', stream: '700ms' },
    });
    try {
      // 3 ticks 150 ms apart: longer than the unary default, well within the stream deadline
      const slow = await fetchJson(`${gateway.base}/v1/ticks/t?count=3&intervalMs=150`);
      assert.equal(ndjson(slow.text).length, 3);
      const started = Date.now();
      const endless = await fetchJson(`${gateway.base}/v1/ticks/t?mode=MODE_ENDLESS`);
      const lines = ndjson(endless.text);
      assert.equal(lines[0].seq, '0');
      assert.equal(lines[1].error.status, 'DEADLINE_EXCEEDED');
      assert.ok(Date.now() - started >= 600);
    } finally {
      await gateway.close();
    }
  });

  it('closing the gateway ends open streams with an UNAVAILABLE record and a clean end', async () => {
    const gateway = await startTestGateway({
      protos: { paths: [testProtosDir], files: [PROTO] },
      upstreams: [{ service: '*', target: backend.target }],
    });
    const response = await fetch(`${gateway.base}/v1/ticks/x?mode=MODE_ENDLESS`);
    const reader = chunks(response);
    let text = (await reader.next()).value as string;
    const closing = gateway.close();
    for await (const chunk of reader) text += chunk;
    await closing;
    const lines = ndjson(text);
    assert.equal(lines.length, 2);
    assert.equal(lines[1].error.status, 'UNAVAILABLE');
    assert.match(lines[1].error.message, /shutting down/);
  });

  it('a bad streaming.sseIdFields entry is a startup error naming the key', async () => {
    await assert.rejects(
      startTestGateway({
        protos: { paths: [testProtosDir], files: [PROTO] },
        upstreams: [{ service: '*', target: backend.target }],
        streaming: { sseIdFields: { 'stream.v1.TickerService/Tick': 'padding_x' } },
      }),
      /streaming\.sseIdFields\.stream\.v1\.TickerService\/Tick: stream\.v1\.Tick has no scalar field "padding_x"/,
    );
  });
});

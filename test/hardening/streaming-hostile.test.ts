// Server streams (NDJSON, SSE) and HttpBody downloads against hostile clients and broken
// upstreams, with real sockets and the real gateway: clients that stop reading (flow control holds
// the backend back instead of the gateway buffering), hundreds of open streams beside unary
// traffic, clients that vanish mid-stream (the backend sees CANCELLED), an upstream that breaks
// the gRPC protocol mid-stream (an in-band error record and a clean end; a raw download is cut)
// or before its first message (a 5xx JSON Status), and hostile Last-Event-ID and Accept headers.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startFaultyStreamUpstream, STREAM_FAULTS, type FaultyStreamUpstream, type StreamFault } from '../helpers/faulty-stream-upstream.js';
import { startStreamingGrpcServer, writeWithBackpressure, type RunningStreamingServer } from '../helpers/grpc-stream-server.js';
import { assertNothingLeaked, type SeenResponse } from '../helpers/hostile-gateway.js';
import { loadTestRoot } from '../helpers/proto-root.js';
import { rawExchange } from '../helpers/raw-http.js';
import { TICKER_PROTO } from '../helpers/ticker-backend.js';

const MEDIA_PROTO = 'media/v1/media.proto';
const root = loadTestRoot([TICKER_PROTO, MEDIA_PROTO], {});
const TickRequest = root.lookupType('stream.v1.TickRequest');
const Tick = root.lookupType('stream.v1.Tick');
const HttpBody = root.lookupType('google.api.HttpBody');
const GetBlobRequest = root.lookupType('media.v1.GetBlobRequest');

const TRANSPORTS = ['wire', 'http2', 'grpc-js'] as const;
// A flood the backend would write in full to a client that reads: ~90 MiB of NDJSON, ~128 MiB of download.
const FLOOD_TICKS = 4000;
const FLOOD_PADDING = 16 * 1024;
const DOWNLOAD_CHUNKS = 2000;
const DOWNLOAD_CHUNK = 64 * 1024;
const OPEN_STREAMS = 200;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The backend, over ticker.proto and media.proto, by the request's name (Tick) or id
 * (DownloadBlob), counting what each call wrote and whether the gateway cancelled it.
 * Tick: MODE_FLOOD writes `count` padded ticks with backpressure, MODE_ENDLESS one tick and then
 * waits, otherwise `count` ticks whose cursor is `<name>-<seq>`. DownloadBlob: `flood-*` writes
 * DOWNLOAD_CHUNKS chunks with backpressure, anything else one chunk and then waits.
 */
interface CountingBackend extends RunningStreamingServer {
  /** Messages the call named `name` has written so far. */
  written(name: string): number;
  /** True while the call is waiting for its HTTP/2 stream to drain (its write is held back). */
  blocked(name: string): boolean;
  /** Resolves once the call named `name` has been cancelled by its client (the gateway). */
  cancelled(name: string): Promise<void>;
  /** The last-event-id metadata of the call named `name`. */
  lastEventId(name: string): string[] | undefined;
}

async function startCountingBackend(): Promise<CountingBackend> {
  const written = new Map<string, number>();
  const blocked = new Set<string>();
  const cancelled = new Set<string>();
  const lastEventIds = new Map<string, string[]>();
  const events = new EventEmitter().setMaxListeners(0);
  const watch = (name: string, call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    lastEventIds.set(name, call.metadata.get('last-event-id').map(String));
    call.on('cancelled', () => {
      cancelled.add(name);
      events.emit(name);
    });
  };
  const write = async (name: string, call: grpc.ServerWritableStream<Buffer, Buffer>, message: Buffer): Promise<boolean> => {
    const sent = writeWithBackpressure(call, message);
    blocked.add(name); // cleared in the same tick unless the write waits for 'drain'
    const ok = await sent;
    blocked.delete(name);
    if (ok) written.set(name, (written.get(name) ?? 0) + 1);
    return ok;
  };
  const server = await startStreamingGrpcServer(
    {
      '/stream.v1.TickerService/Tick': async (bytes, call) => {
        const request = TickRequest.toObject(TickRequest.decode(bytes), { defaults: true }) as { name: string; count: number; mode: number; paddingBytes: number };
        const { name } = request;
        watch(name, call);
        const tick = (seq: number) => Buffer.from(Tick.encode({ name, seq, cursor: `${name}-${seq}`, padding: Buffer.alloc(request.paddingBytes, 7) }).finish());
        const count = request.mode === 2 ? 1 : request.count;
        for (let seq = 0; seq < count; seq++) if (!(await write(name, call, tick(seq)))) return;
        if (request.mode !== 2) call.end();
      },
      '/media.v1.MediaService/DownloadBlob': async (bytes, call) => {
        const { id } = GetBlobRequest.decode(bytes) as unknown as { id: string };
        watch(id, call);
        const chunk = (i: number) => Buffer.from(HttpBody.encode({ contentType: 'application/octet-stream', data: Buffer.alloc(id.startsWith('flood-') ? DOWNLOAD_CHUNK : 16, i % 251) }).finish());
        const count = id.startsWith('flood-') ? DOWNLOAD_CHUNKS : 1;
        for (let i = 0; i < count; i++) if (!(await write(id, call, chunk(i)))) return;
        if (count > 1) call.end();
      },
    },
    { '/media.v1.MediaService/GetBlob': () => Buffer.from(HttpBody.encode({ contentType: 'text/plain', data: Buffer.from('pong') }).finish()) },
  );
  return Object.assign(server, {
    written: (name: string) => written.get(name) ?? 0,
    blocked: (name: string) => blocked.has(name),
    cancelled: (name: string) => (cancelled.has(name) ? Promise.resolve() : new Promise<void>((resolve) => events.once(name, () => resolve()))),
    lastEventId: (name: string) => lastEventIds.get(name),
  });
}

/** GET on a connection of its own (no pool limit), resolving at the response head. */
function get(url: string, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => http.get(url, { agent: false, headers }, resolve).on('error', reject));
}

/** Reads `response` until `done(text so far)`; the response keeps flowing into the returned buffer. */
function readUntil(response: http.IncomingMessage, done: (text: string) => boolean): { text: () => string; reached: Promise<void> } {
  let text = '';
  const reached = new Promise<void>((resolve, reject) => {
    response.setEncoding('latin1');
    response.on('data', (chunk: string) => {
      text += chunk;
      if (done(text)) resolve();
    });
    response.on('close', () => (done(text) ? resolve() : reject(new Error(`the response closed before the expected data: ${JSON.stringify(text.slice(0, 300))}`))));
  });
  return { text: () => text, reached };
}

/** The rest of `response`: its body, and whether it ended with its terminating chunk (not cut). */
function readToEnd(response: http.IncomingMessage, sofar: { text: () => string }): Promise<{ body: string; complete: boolean }> {
  return new Promise((resolve) => {
    const done = () => resolve({ body: sofar.text(), complete: response.complete });
    if (response.closed) done();
    else response.on('close', done);
  });
}

/** The backend's message count once it stopped growing, and whether its write is held back then. */
async function settled(backend: CountingBackend, name: string): Promise<{ written: number; blocked: boolean }> {
  let last = -1;
  let quiet = 0;
  while (quiet < 3) {
    await pause(150);
    const now = backend.written(name);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  return { written: last, blocked: backend.blocked(name) };
}

function ndjsonLines(text: string): any[] {
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}

/** The events of an SSE body: name and parsed data (comments skipped). */
function sseEvents(text: string): Array<{ event: string; id: string | undefined; data: any }> {
  return text.split('\n\n').filter((block) => block.includes('data: ')).map((block) => {
    const lines = block.split('\n');
    const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
    return { event: field('event') ?? 'message', id: field('id'), data: JSON.parse(lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n')) };
  });
}

/** A google.rpc.Status as the gateway writes it (in-band or as an error body). */
function assertStatus(status: any, what: string): void {
  assert.equal(typeof status?.code, 'number', `${what}: ${JSON.stringify(status)}`);
  assert.notEqual(status.code, 0, what);
  assert.equal(typeof status.status, 'string', what);
  assert.equal(typeof status.message, 'string', what);
  assert.ok(Array.isArray(status.details), what);
}

let backend: CountingBackend;
before(async () => {
  backend = await startCountingBackend();
});
after(async () => {
  await backend.close();
});

function gatewayFor(target: string, transport: (typeof TRANSPORTS)[number], extra: Record<string, unknown> = {}): Promise<TestGateway> {
  return startTestGateway({
    protos: { paths: [testProtosDir], files: [TICKER_PROTO, MEDIA_PROTO] },
    upstreams: [{ service: '*', target }],
    upstream: { transport },
    streaming: { sseIdFields: { 'stream.v1.TickerService/Tick': 'cursor' } },
    ...extra,
  });
}

describe('a client that stops reading holds the backend back (flow control, not gateway memory)', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await gatewayFor(backend.target, 'wire');
  });
  after(async () => {
    await gateway.close();
  });

  for (const format of ['ndjson', 'sse', 'download'] as const) {
    it(`${format}: the backend stalls far below the whole flood, and is cancelled when the client goes`, { timeout: 20_000 }, async (t) => {
      const name = `flood-${format}`;
      const response =
        format === 'download'
          ? await get(`${gateway.base}/v1/blobs/${name}:download`)
          : await get(`${gateway.base}/v1/ticks/${name}?mode=MODE_FLOOD&count=${FLOOD_TICKS}&paddingBytes=${FLOOD_PADDING}`, format === 'sse' ? { accept: 'text/event-stream' } : {});
      assert.equal(response.statusCode, 200);
      response.pause(); // the client reads nothing more
      const total = format === 'download' ? DOWNLOAD_CHUNKS : FLOOD_TICKS;
      const { written: stalled, blocked } = await settled(backend, name);
      t.diagnostic(`backend stalled after ${stalled} of ${total} messages`);
      assert.ok(blocked, `the backend is not held back by flow control (it wrote ${stalled} of ${total})`);
      // Between the backend and the paused client sit socket buffers, the HTTP/2 stream window
      // (4 MiB) and the gateway's 256 KiB read-ahead: a few MiB, a small part of the flood.
      assert.ok(stalled < total / 4, `the backend wrote ${stalled} of ${total} messages to a client that reads nothing`);
      const cancelled = backend.cancelled(name);
      response.destroy();
      await cancelled;
      assert.ok(backend.written(name) < total / 4, 'nothing more was written after the client left');
    });
  }
});

describe(`${OPEN_STREAMS} open streams`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await gatewayFor(backend.target, 'wire');
  });
  after(async () => {
    await gateway.close();
  });

  it('leave unary requests answered, and are all cancelled at the backend when their clients disconnect', { timeout: 30_000 }, async () => {
    const kinds = ['ndjson', 'sse', 'download'] as const;
    const names = Array.from({ length: OPEN_STREAMS }, (_, i) => `open-${kinds[i % 3]}-${i}`);
    const responses = await Promise.all(
      names.map(async (name, i) => {
        const kind = kinds[i % 3];
        const response = await get(
          kind === 'download' ? `${gateway.base}/v1/blobs/${name}:download` : `${gateway.base}/v1/ticks/${name}?mode=MODE_ENDLESS`,
          kind === 'sse' ? { accept: 'text/event-stream' } : {},
        );
        assert.equal(response.statusCode, 200, name);
        // the first message reached the client: every stream is open end to end
        await readUntil(response, (text) => text.length > 0).reached;
        return response;
      }),
    );
    const unary = await fetchJson(`${gateway.base}/v1/blobs/ping`);
    assert.equal(unary.status, 200, unary.text);
    assert.equal(unary.text, 'pong');
    const cancellations = names.map((name) => backend.cancelled(name));
    for (const response of responses) response.destroy();
    await Promise.all(cancellations);
  });
});

for (const transport of TRANSPORTS) {
  describe(`a client that disconnects mid-stream cancels the call (${transport} transport)`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await gatewayFor(backend.target, transport);
    });
    after(async () => {
      await gateway.close();
    });

    for (const format of ['ndjson', 'sse', 'download'] as const) {
      it(`${format}: the backend sees CANCELLED`, { timeout: 10_000 }, async () => {
        const name = `gone-${transport}-${format}`;
        const response =
          format === 'download'
            ? await get(`${gateway.base}/v1/blobs/${name}:download`)
            : await get(`${gateway.base}/v1/ticks/${name}?mode=MODE_ENDLESS`, format === 'sse' ? { accept: 'text/event-stream' } : {});
        await readUntil(response, (text) => text.length > 0).reached;
        const cancelled = backend.cancelled(name);
        response.destroy();
        await cancelled;
      });
    }
  });
}

describe('an upstream that breaks the gRPC protocol mid-stream (raw HTTP/2)', () => {
  let upstream: FaultyStreamUpstream;
  const releases = new Map<string, () => void>();
  before(async () => {
    // Tick names and blob ids say `<fault>.<good messages>.<kind>`
    upstream = await startFaultyStreamUpstream((path, request) => {
      const download = path.endsWith('/DownloadBlob');
      const name = download ? (GetBlobRequest.decode(request) as unknown as { id: string }).id : (TickRequest.decode(request) as unknown as { name: string }).name;
      const [fault, good] = name.split('.') as [StreamFault, string];
      const message = (seq: number) =>
        Buffer.from(download ? HttpBody.encode({ contentType: 'text/plain', data: Buffer.from(`chunk${seq};`) }).finish() : Tick.encode({ name, seq }).finish());
      return {
        messages: Array.from({ length: Number(good) }, (_, seq) => message(seq)),
        fault,
        oversized: Buffer.from(Tick.encode({ name, padding: Buffer.alloc(8192) }).finish()),
        release: Number(good) === 0 ? undefined : new Promise<void>((resolve) => releases.set(name, resolve)),
      };
    });
  });
  after(async () => {
    await upstream.close();
  });

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let gateway: TestGateway;
      const seen: SeenResponse[] = [];
      before(async () => {
        gateway = await gatewayFor(upstream.target, transport, {
          upstream: { transport, maxResponseBytes: 4096 },
          resilience: { breaker: { enabled: false }, retry: { maxRetries: 0 } },
        });
      });
      after(async () => {
        await gateway.close();
      });

      /** Opens the stream, waits for its 2 good messages, lets the upstream break, reads the rest. */
      async function midStream(name: string, path: string, accept: string | undefined, enough: (text: string) => boolean) {
        const response = await get(`${gateway.base}${path}`, accept === undefined ? {} : { accept });
        assert.equal(response.statusCode, 200, name);
        const sofar = readUntil(response, enough);
        await sofar.reached;
        releases.get(name)!();
        const rest = await readToEnd(response, sofar);
        seen.push({ what: `GET ${path}`, status: response.statusCode!, headers: response.headers as Record<string, string>, body: rest.body });
        return { ...rest, contentType: response.headers['content-type'] };
      }

      for (const fault of STREAM_FAULTS) {
        // grpc-js (the library) ends a stream whose last length prefix promises more bytes than
        // came as OK, dropping the partial message; the wire and http2 transports report INTERNAL
        const options = { timeout: 10_000, ...(transport === 'grpc-js' && fault === 'truncated' ? { todo: 'grpc-js reports a cut-short last message as a clean end' } : {}) };

        it(`${fault} after 2 messages: NDJSON ends with an error line, SSE with event: error, a download is cut`, options, async () => {
          const ndjson = await midStream(`${fault}.2.ndjson`, `/v1/ticks/${fault}.2.ndjson`, undefined, (text) => text.split('\n').length > 2);
          assert.equal(ndjson.contentType, 'application/x-ndjson');
          assert.ok(ndjson.complete, `a clean end: ${ndjson.body}`);
          const lines = ndjsonLines(ndjson.body);
          assert.deepEqual(lines.slice(0, 2).map((line) => line.seq), ['0', '1']);
          assert.equal(lines.length, 3, ndjson.body);
          assertStatus(lines[2].error, `${fault} NDJSON`);

          const sse = await midStream(`${fault}.2.sse`, `/v1/ticks/${fault}.2.sse`, 'text/event-stream', (text) => text.split('\n\n').length > 2);
          assert.equal(sse.contentType, 'text/event-stream');
          assert.ok(sse.complete, `a clean end: ${sse.body}`);
          const events = sseEvents(sse.body);
          assert.deepEqual(events.map((event) => event.event), ['message', 'message', 'error'], sse.body);
          assertStatus(events[2]!.data, `${fault} SSE`);

          const download = await midStream(`${fault}.2.download`, `/v1/blobs/${fault}.2.download:download`, undefined, (text) => text.includes('chunk1;'));
          assert.equal(download.contentType, 'text/plain');
          assert.equal(download.complete, false, `the download must not look whole: ${download.body}`);
          assert.equal(download.body, 'chunk0;chunk1;');
        });

        it(`${fault} before the first message: a 5xx JSON Status (stream and download)`, options, async () => {
          for (const path of [`/v1/ticks/${fault}.0.ndjson`, `/v1/blobs/${fault}.0.download:download`]) {
            const response = await fetchJson(`${gateway.base}${path}`, { headers: { accept: 'text/event-stream' } });
            seen.push({ what: `GET ${path}`, status: response.status, headers: Object.fromEntries(response.headers), body: response.text });
            assert.ok(response.status >= 500 && response.status < 600, `${path}: ${response.status} ${response.text}`);
            assert.equal(response.headers.get('content-type'), 'application/json');
            assertStatus(response.json, path);
          }
        });
      }

      it('never leaks a stack trace, a file path or the upstream address', () => {
        assertNothingLeaked(seen, upstream.port);
      });
    });
  }
});

describe('hostile SSE request headers', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await gatewayFor(backend.target, 'wire');
  });
  after(async () => {
    await gateway.close();
  });

  /** One request with `header` (raw bytes, CRLF-terminated) on its own connection. */
  const rawWith = (name: string, header: string | Buffer) =>
    rawExchange(gateway.port, [
      `GET /v1/ticks/${name}?count=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/event-stream\r\n`,
      header,
      '\r\n',
    ]);

  it('Last-Event-ID with CR, LF, a folded line, NUL or a control character: 400 JSON, the backend never called', async () => {
    const cases: Array<[string, string]> = [
      ['cr', 'Last-Event-ID: a\rb\r\n'],
      ['lf', 'Last-Event-ID: a\nb\r\n'],
      ['fold', 'Last-Event-ID: a\r\n b\r\n'],
      ['injected', 'Last-Event-ID: a\r\n\r\nGET /v1/ticks/smuggled?count=1 HTTP/1.1\r\nHost: x\r\n'],
      ['nul', 'Last-Event-ID: a\0b\r\n'],
      ['ctl', 'Last-Event-ID: a\x01b\r\n'],
    ];
    for (const [what, header] of cases) {
      const name = `lei-${what}`;
      const exchange = await rawWith(name, header);
      const response = exchange.responses[0];
      if (what === 'injected') {
        // the header ends at the blank line: a well-formed request, then a second one on the
        // same connection — each a request of its own, nothing spliced into a header
        assert.equal(response?.status, 200, exchange.raw);
        assert.deepEqual(backend.lastEventId(name), ['a']);
        continue;
      }
      assert.equal(response?.status, 400, `${what}: ${exchange.raw}`);
      assert.equal(JSON.parse(response.body).details[0].reason, 'PG_MALFORMED_REQUEST', what);
      assert.equal(backend.lastEventId(name), undefined, `${what}: the backend was called`);
    }
  });

  it('a huge Last-Event-ID is forwarded whole up to limits.maxHeaderBytes, and 431 JSON beyond', async () => {
    const big = 'x'.repeat(15_000);
    const kept = await rawWith('lei-big', `Last-Event-ID: ${big}\r\n`);
    assert.equal(kept.responses[0]?.status, 200, kept.raw.slice(0, 300));
    assert.deepEqual(backend.lastEventId('lei-big'), [big]);
    const refused = await rawWith('lei-huge', `Last-Event-ID: ${'x'.repeat(20_000)}\r\n`);
    assert.equal(refused.responses[0]?.status, 431, refused.raw.slice(0, 300));
    assert.equal(JSON.parse(refused.responses[0].body).details[0].reason, 'PG_HEADERS_TOO_LARGE');
    assert.equal(backend.lastEventId('lei-huge'), undefined);
  });

  it('a Last-Event-ID that gRPC metadata cannot carry (non-ASCII, TAB): 400 PG_BAD_HEADER naming the header, the backend never called', async () => {
    const cases: Array<[string, Buffer]> = [
      ['latin1', Buffer.from('Last-Event-ID: caf\xe9-0\r\n', 'latin1')],
      ['utf8', Buffer.from('Last-Event-ID: café-0\r\n', 'utf8')],
      ['tab', Buffer.from('Last-Event-ID: a\tb\r\n')],
    ];
    for (const [what, header] of cases) {
      const name = `lei-${what}`;
      const exchange = await rawWith(name, header);
      const response = exchange.responses[0];
      assert.equal(response?.status, 400, `${what}: ${exchange.raw}`);
      const status = JSON.parse(response.body);
      assert.equal(status.details[0].reason, 'PG_BAD_HEADER', `${what}: ${response.body}`);
      assert.match(status.message, /Last-Event-ID/);
      assert.equal(backend.lastEventId(name), undefined, `${what}: the backend was called`);
    }
  });

  it('sends as an SSE id only what can come back as Last-Event-ID and reach the backend', async () => {
    for (const [name, id] of [['plain', 'plain-0'], ['caf%C3%A9', undefined], ['a%09b', undefined]] as const) {
      const response = await fetchJson(`${gateway.base}/v1/ticks/${name}?count=1`, { headers: { accept: 'text/event-stream' } });
      const [first] = sseEvents(response.text);
      assert.equal(first?.id, id, `${name}: ${response.text}`);
      assert.equal(first?.data.cursor, `${decodeURIComponent(name)}-0`);
    }
    const resumed = await fetchJson(`${gateway.base}/v1/ticks/resumed?count=1`, { headers: { accept: 'text/event-stream', 'last-event-id': 'plain-0' } });
    assert.equal(resumed.status, 200, resumed.text);
    assert.deepEqual(backend.lastEventId('resumed'), ['plain-0']);
  });

  it('Accept variants: SSE only when text/event-stream outranks NDJSON; anything else is NDJSON, never an error', async () => {
    const cases: Array<[string, 'ndjson' | 'sse']> = [
      ['text/event-stream;q=0', 'ndjson'],
      ['text/event-stream;q=0, application/x-ndjson;q=0', 'ndjson'],
      ['text/event-stream;q=abc', 'ndjson'],
      ['text/event-stream;q=-1', 'ndjson'],
      ['text/event-stream, application/x-ndjson', 'ndjson'], // a tie: NDJSON
      ['garbage', 'ndjson'],
      [';;;,,,=q=;', 'ndjson'],
      ['text/event-streamx', 'ndjson'],
      ['application/json;q=0', 'ndjson'],
      ['TEXT/EVENT-STREAM', 'sse'],
      ['application/x-ndjson;q=0.1, text/event-stream;q=0.2', 'sse'],
      [`${'x/y;q=1, '.repeat(1200)}text/event-stream`, 'sse'],
    ];
    for (const [accept, format] of cases) {
      const response = await fetchJson(`${gateway.base}/v1/ticks/accept?count=2`, { headers: { accept } });
      const what = `Accept: ${accept.slice(0, 60)}`;
      assert.equal(response.status, 200, `${what}: ${response.text}`);
      if (format === 'sse') {
        assert.equal(response.headers.get('content-type'), 'text/event-stream', what);
        assert.deepEqual(sseEvents(response.text).map((event) => event.event), ['message', 'message', 'end'], what);
      } else {
        assert.equal(response.headers.get('content-type'), 'application/x-ndjson', what);
        assert.deepEqual(ndjsonLines(response.text).map((line) => line.seq), ['0', '1'], what);
      }
    }
  });
});

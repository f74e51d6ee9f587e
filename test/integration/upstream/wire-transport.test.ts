// What only the wire transport has to get right itself, because it speaks HTTP/2 on its own:
// the server's stream limit (calls queue, none is refused), GOAWAY's last stream id, flow control
// both ways with small windows, header blocks spread over CONTINUATION frames, a peer that does
// not speak HTTP/2 (or picks no h2 over TLS), cancelling a queued call, and server and client
// streams (delegated to node:http2).
// The shared unary behaviour runs in unary-call.test.ts, channel-pool.test.ts and
// http2-transport.test.ts over this transport too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Code } from '../../../src/errors/codes.js';
import { WireConnection, type WireStream } from '../../../src/upstream/h2-wire/wire-connection.js';
import { createWireTransport, type WireTransport } from '../../../src/upstream/h2-wire/wire-transport.js';
import type { UnaryRequest } from '../../../src/upstream/transport.js';

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

function request(path: string, overrides: Partial<UnaryRequest> = {}): UnaryRequest {
  return { path, message: Buffer.from('hi'), metadata: [], deadline: Date.now() + 5000, ...overrides };
}

function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function answer(stream: ServerHttp2Stream, body: Buffer, trailers: Record<string, string> = { 'grpc-status': '0' }): void {
  if (stream.closed) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(body);
}

/** A raw node:http2 server with per-path handlers; `settings` are its SETTINGS. */
async function startRawServer(settings: http2.Settings = {}): Promise<{
  target: string;
  handlers: Map<string, Handler>;
  sessions: http2.ServerHttp2Session[];
  open: () => number;
  maxOpen: () => number;
  seen: string[];
  close(): Promise<void>;
}> {
  const handlers = new Map<string, Handler>();
  const sessions: http2.ServerHttp2Session[] = [];
  const seen: string[] = [];
  let open = 0;
  let maxOpen = 0;
  const server = http2.createServer({ settings, maxSessionMemory: 100 });
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream, headers) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    seen.push(String(headers[':path']));
    stream.on('close', () => open--);
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const handler = handlers.get(String(headers[':path']));
      if (handler === undefined) stream.respond({ ':status': 404 }, { endStream: true });
      else handler(stream, headers, Buffer.concat(chunks));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    target: `127.0.0.1:${address.port}`,
    handlers,
    sessions,
    open: () => open,
    maxOpen: () => maxOpen,
    seen,
    close: async () => {
      for (const session of sessions) session.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('wire transport: HTTP/2 on its own', () => {
  let server: Awaited<ReturnType<typeof startRawServer>>;
  let transport: WireTransport;
  const held: Array<() => void> = [];

  before(async () => {
    // a small stream limit, and windows far below the messages sent, so both sides must wait for WINDOW_UPDATEs
    server = await startRawServer({ maxConcurrentStreams: 3, initialWindowSize: 1000 });
    server.handlers.set('/t.S/Echo', (stream, _headers, body) => answer(stream, frame(body.subarray(5))));
    server.handlers.set('/t.S/Held', (stream, _headers, body) => held.push(() => answer(stream, frame(body.subarray(5)))));
    server.handlers.set('/t.S/Huge', (stream) => answer(stream, frame(Buffer.alloc(6_000_000, 9))));
    server.handlers.set('/t.S/Headers', (stream, headers) =>
      // nghttp2 sends at most 64 KiB of headers: echo the request's length, send 26,668 bytes of our own
      answer(stream, frame(Buffer.from('ok')), { 'grpc-status': '0', 'x-big-length': String(headers['x-big']?.length), 'x-big-bin': Buffer.alloc(20_000, 3).toString('base64') }),
    );
    transport = createWireTransport({ target: server.target, maxReceiveMessageBytes: 8 * 1024 * 1024 });
  });

  after(async () => {
    await transport.close();
    await server.close();
  });

  it('queues calls beyond the server\'s MAX_CONCURRENT_STREAMS instead of having them refused', async () => {
    const calls = Array.from({ length: 12 }, (_, i) => transport.unary(request('/t.S/Held', { message: Buffer.from(`m${i}`) })));
    while (held.length < 3) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(server.open(), 3, 'only three streams open at the server');
    // answer whatever is held until every call is through
    let answered = 0;
    const release = setInterval(() => {
      while (held.length > 0) {
        held.shift()?.();
        answered++;
      }
    }, 2);
    const results = await Promise.all(calls);
    clearInterval(release);
    assert.equal(answered, 12);
    results.forEach((result, i) => {
      assert.ok(result.ok, `call ${i}`);
      assert.equal(result.message.toString(), `m${i}`);
    });
    assert.equal(server.maxOpen(), 3);
  });

  it('cancelling a call that waits for a stream slot never reaches the server', async () => {
    const first = Array.from({ length: 3 }, () => transport.unary(request('/t.S/Held')));
    while (held.length < 3) await new Promise((resolve) => setImmediate(resolve));
    const controller = new AbortController();
    const seenBefore = server.seen.length;
    const queued = transport.unary(request('/t.S/Echo', { signal: controller.signal }));
    controller.abort();
    const result = await queued;
    assert.ok(!result.ok);
    assert.equal(result.code, Code.CANCELLED);
    while (held.length > 0) held.shift()?.();
    for (const done of await Promise.all(first)) assert.ok(done.ok);
    assert.equal(server.seen.length, seenBefore, 'the cancelled call was never sent');
  });

  it('sends messages far larger than the server\'s windows, and receives one larger than its own', async () => {
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const results = await Promise.all([1, 2, 3].map(() => transport.unary(request('/t.S/Echo', { message: big }))));
    for (const result of results) {
      assert.ok(result.ok);
      assert.ok(result.message.equals(big));
    }
    // 6 MB: past the 4 MiB stream window we advertise, so only our WINDOW_UPDATEs let it finish
    const huge = await transport.unary(request('/t.S/Huge'));
    assert.ok(huge.ok);
    assert.equal(huge.message.length, 6_000_000);
    assert.equal(huge.message[5_999_999], 9);
  });

  it('spreads a large header block over CONTINUATION frames, and reads the server\'s', async () => {
    const value = 'x'.repeat(40_000); // above the 16,384-byte frame size
    const result = await transport.unary(request('/t.S/Headers', { metadata: [['x-big', value]] }));
    assert.ok(result.ok);
    assert.deepEqual(result.trailers, [
      ['x-big-length', '40000'],
      ['x-big-bin', Buffer.alloc(20_000, 3).toString('base64')],
    ]);
  });
});

describe('wire transport: GOAWAY and peers that go wrong', () => {
  it('fails only the streams above GOAWAY\'s last stream id; those below finish; new calls get a new connection', async () => {
    const server = await startRawServer();
    const pending = new Map<number, ServerHttp2Stream>();
    server.handlers.set('/t.S/Held', (stream) => pending.set(stream.id ?? 0, stream));
    server.handlers.set('/t.S/Echo', (stream, _headers, body) => answer(stream, frame(body.subarray(5))));
    const transport = createWireTransport({ target: server.target });
    try {
      const calls = [1, 2, 3].map(() => transport.unary(request('/t.S/Held')));
      while (pending.size < 3) await new Promise((resolve) => setImmediate(resolve));
      const session = server.sessions[0] as http2.ServerHttp2Session;
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, 3); // streams 1 and 3 will be answered, 5 will not
      const refused = await calls[2];
      assert.ok(refused !== undefined && !refused.ok);
      assert.equal(refused.code, Code.UNAVAILABLE);
      assert.match(refused.cause ?? '', /GOAWAY/);
      answer(pending.get(1) as ServerHttp2Stream, frame(Buffer.from('one')));
      answer(pending.get(3) as ServerHttp2Stream, frame(Buffer.from('three')));
      const [one, three] = await Promise.all([calls[0], calls[1]]);
      assert.ok(one?.ok && three?.ok);
      assert.equal(one.message.toString(), 'one');
      assert.equal(three.message.toString(), 'three');
      const next = await transport.unary(request('/t.S/Echo'));
      assert.ok(next.ok);
      assert.equal(server.sessions.length, 2, 'the next call opened a new connection');
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it('answers UNAVAILABLE when the peer does not speak HTTP/2', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    const transport = createWireTransport({ target: `127.0.0.1:${address.port}` });
    try {
      const result = await transport.unary(request('/t.S/Echo'));
      assert.ok(!result.ok);
      assert.equal(result.code, Code.UNAVAILABLE);
      assert.equal(result.message, 'Upstream unavailable');
    } finally {
      await transport.close();
      server.close();
    }
  });
});

describe('wire transport: TLS without h2', () => {
  it('refuses a TLS server that picks no protocol by ALPN (an HTTP/1 server); the request never goes out', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wire-alpn-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=alpn.test', '-addext', 'subjectAltName=DNS:alpn.test'], { cwd: dir, stdio: 'ignore' });
      const cert = readFileSync(path.join(dir, 'cert.pem'));
      const received: Buffer[] = [];
      // no ALPNProtocols: the server ignores ALPN (a server offering only http/1.1 fails the handshake itself)
      const server = tls.createServer({ cert, key: readFileSync(path.join(dir, 'key.pem')) }, (socket) => {
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        socket.on('error', () => {});
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const address = server.address();
      assert.ok(address !== null && typeof address === 'object');
      const transport = createWireTransport({ target: `127.0.0.1:${address.port}`, tls: { ca: cert, serverName: 'alpn.test' } });
      try {
        const result = await transport.unary(request('/t.S/Echo', { metadata: [['authorization', 'Bearer secret']] }));
        assert.ok(!result.ok);
        assert.equal(result.code, Code.UNAVAILABLE);
        assert.match(result.cause ?? '', /did not negotiate h2/);
        // calls wait for the server's SETTINGS, so the request and its metadata never went out
        assert.equal(Buffer.concat(received).includes('Bearer secret'), false);
      } finally {
        await transport.close();
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('wire connection: a peer that accepts and never speaks', () => {
  it('gives the connection up when no SETTINGS arrive in time, failing the calls queued on it', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const address = silent.address();
    assert.ok(address !== null && typeof address === 'object');
    const lostReasons: string[] = [];
    let connectionLost = false;
    const stream: WireStream = {
      id: 0,
      sendWindow: 0,
      sent: 0,
      unacknowledged: 0,
      message: Buffer.from('hi'),
      pathField: Buffer.alloc(0),
      writeHeaderFields: () => {},
      onHeaders: () => assert.fail('no headers expected'),
      onData: () => assert.fail('no data expected'),
      onReset: () => assert.fail('no reset expected'),
      onLost: (reason) => lostReasons.push(reason),
    };
    const connection = new WireConnection({
      host: '127.0.0.1',
      port: address.port,
      authority: `127.0.0.1:${address.port}`,
      keepaliveMs: undefined,
      tls: undefined,
      settingsTimeoutMs: 50,
      events: { ready: () => assert.fail('never ready'), lost: () => (connectionLost = true) },
    });
    try {
      connection.ref();
      connection.start(stream);
      await connection.closed;
      assert.equal(stream.id, 0, 'the call never went out');
      assert.deepEqual(lostReasons, ['no HTTP/2 SETTINGS from the server in time']);
      assert.equal(connectionLost, true);
      assert.equal(connection.state, 'closed');
    } finally {
      silent.close();
    }
  });
});

describe('wire transport: streams (delegated to node:http2)', () => {
  it('delivers the messages and the status', async () => {
    const server = await startRawServer();
    server.handlers.set('/t.S/List', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-h': 'v' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.write(frame(Buffer.from('a')));
      stream.end(frame(Buffer.from('bc')));
    });
    const transport = createWireTransport({ target: server.target });
    try {
      const call = transport.serverStream(request('/t.S/List'));
      const messages: string[] = [];
      for (let message = await call.read(); message !== undefined; message = await call.read()) messages.push(message.toString());
      assert.deepEqual(messages, ['a', 'bc']);
      assert.deepEqual(call.headers(), [['x-h', 'v']]);
      assert.equal(call.status().ok, true);
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it('client streams: writes every message, then the one response', async () => {
    const server = await startRawServer();
    server.handlers.set('/t.S/Join', (stream, _headers, body) => {
      const parts: string[] = [];
      for (let at = 0; at < body.length; ) {
        const length = body.readUInt32BE(at + 1);
        parts.push(body.subarray(at + 5, at + 5 + length).toString());
        at += 5 + length;
      }
      answer(stream, frame(Buffer.from(parts.join('+'))));
    });
    const transport = createWireTransport({ target: server.target });
    try {
      assert.ok(transport.clientStream !== undefined);
      const call = transport.clientStream(request('/t.S/Join'));
      for (const part of ['x', 'yy', 'zzz']) assert.equal(await call.write(Buffer.from(part)), true);
      call.end();
      const result = await call.result;
      assert.ok(result.ok);
      assert.equal(result.message.toString(), 'x+yy+zzz');
    } finally {
      await transport.close();
      await server.close();
    }
  });
});

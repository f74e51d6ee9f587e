// The edges of the transports that speak HTTP/2 themselves (node:http2, and the wire transport
// on its own framing), against a raw node:http2 server that can answer what a grpc-js server never
// would (HTTP errors, missing status, compressed flags, split frames, resets), and against a
// grpc-js server that restarts. The behaviours shared with the grpc-js transport are in
// unary-call.test.ts and channel-pool.test.ts, run over every transport.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Code } from '../../../src/errors/codes.js';
import type { ChannelPoolOptions } from '../../../src/upstream/channel-pool.js';
import { createWireTransport } from '../../../src/upstream/h2-wire/wire-transport.js';
import { createHttp2Transport, type Http2Transport } from '../../../src/upstream/http2-transport.js';
import { decodeGrpcMessage, encodeGrpcTimeout } from '../../../src/upstream/http2-metadata.js';
import type { UnaryRequest } from '../../../src/upstream/transport.js';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';

type RawHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

function request(path: string, overrides: Partial<UnaryRequest> = {}): UnaryRequest {
  return { path, message: Buffer.from('hi'), metadata: [], deadline: Date.now() + 5000, ...overrides };
}

function frame(message: Buffer, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

const GRPC_HEADERS = { ':status': 200, 'content-type': 'application/grpc' } as const;

const transports: ReadonlyArray<readonly [string, (options: ChannelPoolOptions) => Http2Transport]> = [
  ['node:http2', createHttp2Transport],
  ['wire', createWireTransport],
];

/** Answers with headers, one framed message and trailers, all as given. */
function answer(stream: ServerHttp2Stream, body: Buffer | undefined, trailers: Record<string, string>): void {
  stream.respond(GRPC_HEADERS, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(body);
}

for (const [transportName, createTransport] of transports) describe(`${transportName} transport: protocol edges (raw HTTP/2 server)`, () => {
  const handlers = new Map<string, RawHandler>();
  const seen: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
  const resets: number[] = [];
  const sockets = new Set<Socket>();
  let pings = 0;
  let server: http2.Http2Server;
  let transport: Http2Transport;

  before(async () => {
    server = http2.createServer();
    server.on('session', (session) => session.on('ping', () => pings++));
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('close', () => resets.push(stream.rstCode));
      stream.on('error', () => {});
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ headers, body });
        const handler = handlers.get(headers[':path'] ?? '');
        if (handler === undefined) stream.respond({ ':status': 404 }, { endStream: true });
        else handler(stream, headers, body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    transport = createTransport({ target: `127.0.0.1:${address.port}`, maxReceiveMessageBytes: 1024 });

    handlers.set('/t.S/Echo', (stream, _headers, body) => answer(stream, frame(body.subarray(5)), { 'grpc-status': '0', 'x-t': 'v' }));
    handlers.set('/t.S/Split', (stream) => {
      // the prefix and the message in several DATA frames
      const whole = frame(Buffer.from('abcdefghij'));
      stream.respond(GRPC_HEADERS, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.write(whole.subarray(0, 3));
      setImmediate(() => {
        stream.write(whole.subarray(3, 8));
        setImmediate(() => stream.end(whole.subarray(8)));
      });
    });
    handlers.set('/t.S/TrailersOnly', (stream) =>
      stream.respond({ ...GRPC_HEADERS, 'grpc-status': '5', 'grpc-message': 'no such book', 'x-t': 'v' }, { endStream: true }),
    );
    handlers.set('/t.S/Http503', (stream) => stream.respond({ ':status': 503 }, { endStream: true }));
    handlers.set('/t.S/Http401', (stream) => stream.respond({ ':status': 401 }, { endStream: true }));
    handlers.set('/t.S/Http500WithStatus', (stream) =>
      stream.respond({ ':status': 500, 'content-type': 'application/grpc', 'grpc-status': '8', 'grpc-message': 'busy' }, { endStream: true }),
    );
    handlers.set('/t.S/Html', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'text/html' });
      stream.end('<html></html>');
    });
    handlers.set('/t.S/NoStatus', (stream) => answer(stream, frame(Buffer.from('x')), { 'x-t': 'v' }));
    handlers.set('/t.S/Encoded', (stream) =>
      answer(stream, undefined, {
        'grpc-status': '9',
        'grpc-message': 'caf%C3%A9 at 10.1.2.3:50051 100%',
        'grpc-status-details-bin': Buffer.from([1, 2, 3, 4]).toString('base64').replace(/=+$/, ''),
      }),
    );
    handlers.set('/t.S/Compressed', (stream) => answer(stream, frame(Buffer.from('zz'), 1), { 'grpc-status': '0' }));
    handlers.set('/t.S/TwoMessages', (stream) => answer(stream, Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]), { 'grpc-status': '0' }));
    handlers.set('/t.S/Empty', (stream) => answer(stream, undefined, { 'grpc-status': '0' }));
    handlers.set('/t.S/Big', (stream) => answer(stream, frame(Buffer.alloc(1025)), { 'grpc-status': '0' }));
    handlers.set('/t.S/Refuse', (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    handlers.set('/t.S/Ignore', () => {
      // ignores grpc-timeout and never answers: only the client's own timer ends the call
    });
    handlers.set('/t.S/Drop', () => {
      for (const socket of sockets) socket.destroy(); // the TCP connection just goes away
    });
    handlers.set('/t.S/Kill', (stream) => stream.session?.destroy()); // GOAWAY, then the connection closes
    handlers.set('/t.S/GoAway', (stream) => {
      answer(stream, frame(Buffer.from('bye')), { 'grpc-status': '0' });
      stream.session?.goaway();
    });
  });

  after(async () => {
    await transport.close();
    server.close();
  });

  it('sends the gRPC request headers, grpc-timeout from the deadline, and one framed message', async () => {
    const result = await transport.unary(
      request('/t.S/Echo', { message: Buffer.from([0, 9, 255]), deadline: Date.now() + 2500, metadata: [['x-id', 'a'], ['te', 'gzip'], ['x-k-bin', Buffer.from([7])]] }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.message, Buffer.from([0, 9, 255]));
    assert.deepEqual(result.trailers, [['x-t', 'v']]);
    const { headers, body } = seen.at(-1) ?? assert.fail('no request seen');
    assert.equal(headers[':method'], 'POST');
    assert.equal(headers['content-type'], 'application/grpc');
    assert.equal(headers['te'], 'trailers');
    assert.equal(headers['x-id'], 'a');
    assert.equal(headers['x-k-bin'], Buffer.from([7]).toString('base64'));
    const timeout = /^(\d{1,8})m$/.exec(String(headers['grpc-timeout']));
    assert.ok(timeout !== null, String(headers['grpc-timeout']));
    assert.ok(Number(timeout[1]) > 2000 && Number(timeout[1]) <= 2500);
    assert.deepEqual(body, Buffer.from([0, 0, 0, 0, 3, 0, 9, 255]));
  });

  it('reassembles a message split over several DATA frames', async () => {
    const result = await transport.unary(request('/t.S/Split'));
    assert.ok(result.ok);
    assert.equal(result.message.toString(), 'abcdefghij');
  });

  it('reads a trailers-only status: metadata as trailers, no headers', async () => {
    const result = await transport.unary(request('/t.S/TrailersOnly'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.NOT_FOUND);
    assert.equal(result.message, 'no such book');
    assert.deepEqual(result.headers, []);
    assert.deepEqual(result.trailers, [['x-t', 'v']]);
  });

  it('maps HTTP statuses without grpc-status and non-gRPC content', async () => {
    const cases: Array<[string, number]> = [
      ['/t.S/Http503', Code.UNAVAILABLE],
      ['/t.S/Http401', Code.UNAUTHENTICATED],
      ['/t.S/Missing', Code.UNIMPLEMENTED], // the raw server answers 404
      ['/t.S/Html', Code.UNKNOWN],
      ['/t.S/Http500WithStatus', Code.RESOURCE_EXHAUSTED], // a grpc-status wins over the HTTP status
    ];
    for (const [path, code] of cases) {
      const result = await transport.unary(request(path));
      assert.ok(!result.ok, path);
      assert.equal(result.code, code, path);
    }
  });

  it('answers UNKNOWN when the trailers lack grpc-status', async () => {
    const result = await transport.unary(request('/t.S/NoStatus'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.UNKNOWN);
    assert.match(result.message, /missing grpc-status/);
  });

  it('percent-decodes grpc-message, masks addresses, and accepts unpadded status details', async () => {
    const result = await transport.unary(request('/t.S/Encoded'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.FAILED_PRECONDITION);
    assert.equal(result.message, 'café at [upstream] 100%');
    assert.deepEqual(result.statusDetails, Buffer.from([1, 2, 3, 4]));
  });

  it('treats a compressed message (no encoding negotiated) as INTERNAL', async () => {
    const result = await transport.unary(request('/t.S/Compressed'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.INTERNAL);
  });

  it('insists on exactly one message for a successful unary call', async () => {
    for (const path of ['/t.S/TwoMessages', '/t.S/Empty']) {
      const result = await transport.unary(request(path));
      assert.ok(!result.ok, path);
      assert.equal(result.code, Code.UNIMPLEMENTED, path);
    }
  });

  it('rejects an oversized message from its prefix and keeps the session usable', async () => {
    const result = await transport.unary(request('/t.S/Big'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.RESOURCE_EXHAUSTED);
    assert.ok((await transport.unary(request('/t.S/Echo'))).ok);
  });

  it('maps RST_STREAM REFUSED_STREAM to UNAVAILABLE', async () => {
    const result = await transport.unary(request('/t.S/Refuse'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.UNAVAILABLE);
  });

  it('enforces the deadline itself when the server ignores grpc-timeout, resetting the stream', async () => {
    const started = Date.now();
    const results = await Promise.all([120, 60, 180].map((ms) => transport.unary(request('/t.S/Ignore', { deadline: started + ms }))));
    for (const result of results) {
      assert.ok(!result.ok);
      assert.equal(result.code, Code.DEADLINE_EXCEEDED);
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 178 && elapsed < 400, `took ${elapsed} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(resets.slice(-3).every((code) => code === http2.constants.NGHTTP2_CANCEL), true, String(resets.slice(-3)));
  });

  it('answers UNAVAILABLE with a neutral message when the connection drops mid-call, then reconnects', async () => {
    for (const path of ['/t.S/Drop', '/t.S/Kill']) {
      const started = Date.now();
      const result = await transport.unary(request(path));
      assert.ok(!result.ok, path);
      assert.equal(result.code, Code.UNAVAILABLE, path);
      assert.equal(result.message, 'Upstream unavailable');
      assert.ok(Date.now() - started < 1000);
      assert.ok((await transport.unary(request('/t.S/Echo'))).ok, path);
      assert.equal(transport.state(), 'ready');
    }
  });

  it('sends keepalive PINGs when keepaliveMs is set', async () => {
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    const kept = createTransport({ target: `127.0.0.1:${address.port}`, keepaliveMs: 20 });
    try {
      assert.ok((await kept.unary(request('/t.S/Echo'))).ok);
      const before = pings;
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.ok(pings - before >= 2, `${pings - before} pings`);
    } finally {
      await kept.close();
    }
  });

  it('moves to a new session after GOAWAY', async () => {
    const bye = await transport.unary(request('/t.S/GoAway'));
    assert.ok(bye.ok);
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (let i = 0; i < 3; i++) assert.ok((await transport.unary(request('/t.S/Echo'))).ok);
  });
});

for (const [transportName, createTransport] of transports) describe(`${transportName} transport: upstream restart (grpc-js server)`, () => {
  async function startEcho(port: number): Promise<{ port: number; close(): void }> {
    const server = new Server();
    const identity = (bytes: Buffer): Buffer => bytes;
    server.addService(
      { Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
      { Echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request) },
    );
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    return { port: bound, close: () => server.forceShutdown() };
  }

  it('recovers on the next calls after the server restarts on the same port', async () => {
    const first = await startEcho(0);
    const transport = createTransport({ target: `127.0.0.1:${first.port}` });
    try {
      assert.ok((await transport.unary(request('/test.Echo/Echo'))).ok);
      first.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = await startEcho(first.port);
      try {
        let ok = false;
        for (let attempt = 0; attempt < 2 && !ok; attempt++) ok = (await transport.unary(request('/test.Echo/Echo'))).ok;
        assert.ok(ok, 'no successful call within two attempts after the restart');
        assert.equal(transport.state(), 'ready');
      } finally {
        second.close();
      }
    } finally {
      await transport.close();
    }
  });
});

describe('node:http2 transport: header values', () => {
  it('encodes grpc-timeout in at most 8 digits, switching units', () => {
    assert.equal(encodeGrpcTimeout(1), '1m');
    assert.equal(encodeGrpcTimeout(99_999_999), '99999999m');
    assert.equal(encodeGrpcTimeout(100_000_000), '100000S');
    assert.equal(encodeGrpcTimeout(100_000_000_001), '1666667M');
    assert.equal(encodeGrpcTimeout(99_999_999 * 60_000 + 1), '1666667H');
  });

  it('percent-decodes grpc-message, keeping malformed escapes', () => {
    assert.equal(decodeGrpcMessage('plain'), 'plain');
    assert.equal(decodeGrpcMessage('a%20b%E2%82%AC'), 'a b€');
    assert.equal(decodeGrpcMessage('100% %zz %4'), '100% %zz %4');
  });
});

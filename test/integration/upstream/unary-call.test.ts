// Unary calls through each transport (the grpc-js channel pool, the node:http2 client and the wire client) against
// a real grpc-js server on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import protobuf from 'protobufjs/minimal.js';
import { Metadata } from '@grpc/grpc-js';
import { Code } from '../../../src/errors/codes.js';
import { createGrpcJsTransport, type ChannelPool, type ChannelPoolOptions } from '../../../src/upstream/channel-pool.js';
import { createWireTransport } from '../../../src/upstream/h2-wire/wire-transport.js';
import { createHttp2Transport } from '../../../src/upstream/http2-transport.js';
import { decodeStatusDetails } from '../../../src/upstream/status-details.js';
import { exceededLocalLimit } from '../../../src/upstream/unary-call.js';
import type { UnaryRequest } from '../../../src/upstream/transport.js';
import { nextCancellation, startTestServer, status, type TestServer } from './grpc-test-server.js';

function encodeStatus(code: number, message: string, details: Array<{ typeUrl: string; value: Uint8Array }>): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 0).int32(code);
  writer.uint32((2 << 3) | 2).string(message);
  for (const detail of details) {
    writer.uint32((3 << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string(detail.typeUrl);
    writer.uint32((2 << 3) | 2).bytes(detail.value);
    writer.ldelim();
  }
  return Buffer.from(writer.finish());
}

const detailValue = new Uint8Array([0x0a, 0x03, 0x66, 0x6f, 0x6f, 0x00, 0xff]);
const statusBytes = encodeStatus(Code.FAILED_PRECONDITION, 'book is locked', [
  { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: detailValue },
]);

function request(path: string, overrides: Partial<UnaryRequest> = {}): UnaryRequest {
  return { path, message: new Uint8Array(0), metadata: [], deadline: Date.now() + 5000, ...overrides };
}

/** A port on which nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  server.close();
  await once(server, 'close');
  return address.port;
}

const transports: ReadonlyArray<readonly [string, (options: ChannelPoolOptions) => ChannelPool]> = [
  ['grpc-js', createGrpcJsTransport],
  ['node:http2', createHttp2Transport],
  ['wire', createWireTransport],
];

for (const [transportName, createTransport] of transports) describe(`${transportName} transport: unary`, () => {
  let server: TestServer;
  let pool: ChannelPool;

  before(async () => {
    server = await startTestServer({
      Echo(call, callback) {
        const headers = new Metadata();
        headers.set('x-header', 'h1');
        headers.set('x-blob-bin', Buffer.from([1, 2, 3]));
        call.sendMetadata(headers);
        const trailers = new Metadata();
        trailers.set('x-trailer', 't1');
        callback(null, call.request, trailers);
      },
      Fail(_call, callback) {
        const trailers = new Metadata();
        trailers.set('grpc-status-details-bin', statusBytes);
        trailers.set('x-trailer', 'failed');
        callback({ code: status.FAILED_PRECONDITION, details: 'book is locked', metadata: trailers });
      },
      Hang() {
        // never answers: the client's deadline or cancellation ends the call
      },
      Big(call, callback) {
        callback(null, Buffer.alloc(Number(call.request.toString()), 7));
      },
    });
    pool = createTransport({ target: server.target });
  });

  after(async () => {
    await pool.close();
    await server.close();
  });

  it('returns the exact response bytes with header and trailer metadata', async () => {
    const message = Buffer.from([0, 1, 2, 250, 255, 0]);
    const result = await pool.unary(request('/test.Echo/Echo', { message: new Uint8Array(message) }));
    assert.equal(result.ok, true);
    assert.ok(result.ok);
    assert.deepEqual(result.message, message);
    // transport headers (content-type, date, grpc-*) are not application metadata
    assert.deepEqual(
      result.headers,
      [
        ['x-header', 'h1'],
        ['x-blob-bin', Buffer.from([1, 2, 3]).toString('base64')],
      ],
    );
    assert.deepEqual(result.trailers, [['x-trailer', 't1']]);
  });

  it('sends request metadata, decoding base64 strings under -bin names', async () => {
    const result = await pool.unary(
      request('/test.Echo/Echo', {
        metadata: [
          ['x-request-id', 'abc-123'],
          ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
          ['x-token-bin', Buffer.from([9, 8, 7])],
          ['x-text-bin', Buffer.from([4, 5]).toString('base64')],
          ['x-multi', 'one'],
          ['x-multi', 'two'],
          ['grpc-timeout', '1S'], // reserved: dropped, the deadline option governs
        ],
      }),
    );
    assert.ok(result.ok);
    const seen = server.received.at(-1);
    assert.ok(seen !== undefined);
    assert.deepEqual(seen.get('x-request-id'), ['abc-123']);
    assert.deepEqual(seen.get('traceparent'), ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);
    assert.deepEqual(seen.get('x-token-bin'), [Buffer.from([9, 8, 7])]);
    assert.deepEqual(seen.get('x-text-bin'), [Buffer.from([4, 5])]);
    // HTTP/2 joins repeated text headers; gRPC treats 'one, two' as the same two values
    assert.deepEqual(seen.get('x-multi').join(', '), 'one, two');
  });

  it('returns metadata gRPC cannot carry as INVALID_ARGUMENT without calling', async () => {
    const calls = server.received.length;
    const result = await pool.unary(request('/test.Echo/Echo', { metadata: [['x-name', 'caf\u00e9']] }));
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.code, Code.INVALID_ARGUMENT);
    assert.equal(server.received.length, calls);
  });

  it('round-trips an error status and its grpc-status-details-bin', async () => {
    const result = await pool.unary(request('/test.Echo/Fail'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.FAILED_PRECONDITION);
    assert.equal(result.message, 'book is locked');
    assert.ok(result.statusDetails !== undefined);
    assert.deepEqual(result.statusDetails, statusBytes);
    assert.equal(result.trailers.some(([name]) => name === 'grpc-status-details-bin'), false);
    assert.deepEqual(result.trailers, [['x-trailer', 'failed']]);
    const decoded = decodeStatusDetails(result.statusDetails);
    assert.ok(decoded !== undefined);
    assert.equal(decoded.code, Code.FAILED_PRECONDITION);
    assert.equal(decoded.message, 'book is locked');
    assert.equal(decoded.details.length, 1);
    assert.equal(decoded.details[0]?.typeUrl, 'type.googleapis.com/google.rpc.ErrorInfo');
    assert.deepEqual(new Uint8Array(decoded.details[0]?.value ?? []), detailValue);
  });

  it('answers UNIMPLEMENTED for a method the server does not have', async () => {
    const result = await pool.unary(request('/test.Echo/Missing'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.UNIMPLEMENTED);
  });

  it('ends a call at its deadline with DEADLINE_EXCEEDED', async () => {
    const started = Date.now();
    const result = await pool.unary(request('/test.Echo/Hang', { deadline: started + 150 }));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started >= 140, 'not before the deadline');
    assert.equal(result.message.includes(String(server.port)), false, result.message);
  });

  it('cancels the call when the signal aborts, and the server sees it', async () => {
    const controller = new AbortController();
    const cancelled = nextCancellation(server);
    const calls = server.received.length;
    const pending = pool.unary(request('/test.Echo/Hang', { signal: controller.signal }));
    // abort once the server has the call, so the cancellation has a stream to reach
    while (server.received.length === calls) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const result = await pending;
    assert.ok(!result.ok);
    assert.equal(result.code, Code.CANCELLED);
    assert.equal(await cancelled, '/test.Echo/Hang');
  });

  it('refuses a call without a finite deadline', async () => {
    for (const deadline of [Number.POSITIVE_INFINITY, Number.NaN]) {
      const result = await pool.unary(request('/test.Echo/Echo', { deadline }));
      assert.ok(!result.ok);
      assert.equal(result.code, Code.INTERNAL);
    }
  });

  it('answers CANCELLED at once for an already-aborted signal', async () => {
    const result = await pool.unary(request('/test.Echo/Echo', { signal: AbortSignal.abort() }));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.CANCELLED);
  });

  it('turns an oversized response into RESOURCE_EXHAUSTED marked as our limit', async () => {
    const result = await pool.unary(request('/test.Echo/Big', { message: Buffer.from(String(4 * 1024 * 1024 + 1)) }));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(exceededLocalLimit(result), 'response');
    assert.match(result.cause ?? '', /larger than max/);
    // the pool still works afterwards
    const small = await pool.unary(request('/test.Echo/Big', { message: Buffer.from('10') }));
    assert.ok(small.ok);
    assert.equal(small.message.length, 10);
  });

  it('honours a configured maxReceiveMessageBytes and maxSendMessageBytes', async () => {
    const small = createTransport({ target: server.target, size: 1, maxReceiveMessageBytes: 1024, maxSendMessageBytes: 16 });
    try {
      const tooBig = await small.unary(request('/test.Echo/Big', { message: Buffer.from('1025') }));
      assert.ok(!tooBig.ok);
      assert.equal(tooBig.code, Code.RESOURCE_EXHAUSTED);
      assert.equal(exceededLocalLimit(tooBig), 'response');
      const fits = await small.unary(request('/test.Echo/Big', { message: Buffer.from('1024') }));
      assert.ok(fits.ok);
      const calls = server.received.length;
      const tooLong = await small.unary(request('/test.Echo/Echo', { message: Buffer.alloc(17) }));
      assert.ok(!tooLong.ok);
      assert.equal(tooLong.code, Code.RESOURCE_EXHAUSTED);
      assert.equal(exceededLocalLimit(tooLong), 'request');
      assert.equal(server.received.length, calls);
    } finally {
      await small.close();
    }
  });

  it('answers UNAVAILABLE well under a second when nothing listens', async () => {
    const port = await closedPort();
    const nowhere = createTransport({ target: `127.0.0.1:${port}` });
    try {
      const started = Date.now();
      const result = await nowhere.unary(request('/test.Echo/Echo', { deadline: started + 10_000 }));
      const elapsed = Date.now() - started;
      assert.ok(!result.ok);
      assert.equal(result.code, Code.UNAVAILABLE);
      assert.ok(elapsed < 1000, `took ${elapsed} ms`);
      assert.ok(result.cause?.includes(`127.0.0.1:${port}`));
      assert.equal(result.message.includes(String(port)), false, result.message);
      // a second call during reconnect backoff fails fast too
      const again = await nowhere.unary(request('/test.Echo/Echo', { deadline: Date.now() + 10_000 }));
      assert.ok(!again.ok);
      assert.equal(again.code, Code.UNAVAILABLE);
      assert.ok(Date.now() - started < 1000);
      assert.equal(nowhere.state(), 'transient-failure');
    } finally {
      await nowhere.close();
    }
  });
});

// Server-streaming calls over both transports against a real grpc-js server: order, messages
// spanning and sharing DATA chunks, errors before and after the first message, cancellation
// reaching the backend, deadlines, the receive limit, and backpressure (a consumer that does not
// read stalls the backend's writes).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Code } from '../../../src/errors/codes.js';
import { createGrpcJsTransport } from '../../../src/upstream/channel-pool.js';
import { createHttp2Transport } from '../../../src/upstream/http2-transport.js';
import { STREAM_HIGH_WATER_BYTES } from '../../../src/upstream/server-stream.js';
import type { ServerStreamCall, UnaryRequest, UpstreamTransport } from '../../../src/upstream/transport.js';
import { exceededLocalLimit } from '../../../src/upstream/unary-call.js';
import { grpcError, startStreamingGrpcServer, writeWithBackpressure, type RunningStreamingServer } from '../../helpers/grpc-stream-server.js';

const MESSAGE_BYTES = 16 * 1024;
const FLOOD_MESSAGES = 2000; // 32 MiB in all

let server: RunningStreamingServer;
let cancelled: () => Promise<void>;
let flood = { written: 0, done: false };
let onCancelled: (() => void) | undefined;

/** `count` bytes: the message's index in 4 bytes, then filler, so order and content can be checked. */
function numbered(index: number, bytes: number): Buffer {
  const message = Buffer.alloc(bytes, index % 251);
  message.writeUInt32BE(index, 0);
  return message;
}

async function readAll(call: ServerStreamCall): Promise<Buffer[]> {
  const messages: Buffer[] = [];
  for (let message = await call.read(); message !== undefined; message = await call.read()) messages.push(message);
  return messages;
}

function request(path: string, overrides: Partial<UnaryRequest> = {}): UnaryRequest {
  return { path, message: Buffer.from('x'), metadata: [], deadline: Date.now() + 10_000, ...overrides };
}

before(async () => {
  server = await startStreamingGrpcServer({
    '/t.S/Sizes': async (_request, call) => {
      const head = new grpc.Metadata();
      head.set('x-head', 'h');
      call.sendMetadata(head);
      // small ones share DATA frames; the 1 MiB one spans many
      const sizes = [3, 0, 10, 1024 * 1024, 7];
      for (let i = 0; i < sizes.length; i++) await writeWithBackpressure(call, numbered(i, Math.max(sizes[i]!, 4)));
      const trailers = new grpc.Metadata();
      trailers.set('x-tail', 't');
      call.end(trailers);
    },
    '/t.S/FailAfterTwo': async (_request, call) => {
      await writeWithBackpressure(call, numbered(0, 8));
      await writeWithBackpressure(call, numbered(1, 8));
      call.emit('error', grpcError(grpc.status.ABORTED, 'stopped after two'));
    },
    '/t.S/FailAtOnce': (_request, call) => {
      call.emit('error', grpcError(grpc.status.NOT_FOUND, 'no such shelf'));
    },
    '/t.S/Forever': (_request, call) => {
      call.write(numbered(0, 8));
      call.on('cancelled', () => onCancelled?.());
    },
    '/t.S/Big': (_request, call) => {
      call.write(Buffer.alloc(2048));
      call.end();
    },
    '/t.S/Flood': async (_request, call) => {
      for (let i = 0; i < FLOOD_MESSAGES; i++) {
        if (!(await writeWithBackpressure(call, numbered(i, MESSAGE_BYTES)))) return;
        flood.written = i + 1;
      }
      flood.done = true;
      call.end();
    },
  });
  cancelled = () => new Promise((resolve) => (onCancelled = resolve));
});

after(async () => {
  await server.close();
});

/** Resolves once `read()` has stayed unchanged for `quietMs` (the writer has stalled). */
async function settledValue(read: () => number, quietMs: number): Promise<number> {
  let last = -1;
  for (;;) {
    const value = read();
    if (value === last) return value;
    last = value;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}

for (const [name, create] of [
  ['node:http2', createHttp2Transport],
  ['grpc-js', createGrpcJsTransport],
] as const) {
  describe(`server streams over the ${name} transport`, () => {
    let transport: UpstreamTransport;
    before(() => {
      transport = create({ target: server.target, maxReceiveMessageBytes: 2 * 1024 * 1024 });
    });
    after(async () => {
      await transport.close();
    });

    it('delivers every message in order, byte-exact, then OK with headers and trailers', async () => {
      const call = transport.serverStream(request('/t.S/Sizes'));
      const messages = await readAll(call);
      assert.deepEqual(
        messages.map((m) => [m.readUInt32BE(0), m.length]),
        [[0, 4], [1, 4], [2, 10], [3, 1024 * 1024], [4, 7]],
      );
      assert.ok(messages[3]!.subarray(4).every((byte) => byte === 3));
      const status = call.status();
      assert.equal(status.ok, true);
      assert.deepEqual(call.headers().find(([k]) => k === 'x-head'), ['x-head', 'h']);
      assert.deepEqual(status.trailers.find(([k]) => k === 'x-tail'), ['x-tail', 't']);
    });

    it('an error after two messages: both messages, then the status', async () => {
      const call = transport.serverStream(request('/t.S/FailAfterTwo'));
      assert.equal((await readAll(call)).length, 2);
      const status = call.status();
      assert.equal(status.ok, false);
      assert.equal(!status.ok && status.code, Code.ABORTED);
      assert.equal(!status.ok && status.message, 'stopped after two');
    });

    it('an error before any message ends the stream at the first read', async () => {
      const call = transport.serverStream(request('/t.S/FailAtOnce'));
      assert.equal(await call.read(), undefined);
      const status = call.status();
      assert.equal(!status.ok && status.code, Code.NOT_FOUND);
    });

    it('cancel() reaches the backend and ends reads with CANCELLED', async () => {
      const seen = cancelled();
      const call = transport.serverStream(request('/t.S/Forever'));
      assert.ok(await call.read());
      const pending = call.read();
      call.cancel();
      assert.equal(await pending, undefined);
      await seen;
      const status = call.status();
      assert.equal(!status.ok && status.code, Code.CANCELLED);
    });

    it('the abort signal cancels the call too', async () => {
      const seen = cancelled();
      let listener: (() => void) | undefined;
      const signal = {
        aborted: false,
        addEventListener: (_type: 'abort', l: () => void) => (listener = l),
        removeEventListener: () => (listener = undefined),
      };
      const call = transport.serverStream(request('/t.S/Forever', { signal }));
      assert.ok(await call.read());
      signal.aborted = true;
      listener?.();
      assert.equal(await call.read(), undefined);
      await seen;
      assert.equal(call.status().ok, false);
    });

    it('the deadline ends a stream that is still running', async () => {
      const call = transport.serverStream(request('/t.S/Forever', { deadline: Date.now() + 200 }));
      assert.ok(await call.read());
      assert.equal(await call.read(), undefined);
      const status = call.status();
      assert.equal(!status.ok && status.code, Code.DEADLINE_EXCEEDED);
    });

    it('a message over the receive limit ends the stream as the gateway-side limit', async () => {
      const small = create({ target: server.target, maxReceiveMessageBytes: 1024 });
      try {
        const call = small.serverStream(request('/t.S/Big'));
        assert.equal(await call.read(), undefined);
        const status = call.status();
        assert.equal(!status.ok && status.code, Code.RESOURCE_EXHAUSTED);
        assert.equal(status.ok ? undefined : exceededLocalLimit(status), 'response');
      } finally {
        await small.close();
      }
    });

    it('backpressure: a consumer that stops reading stalls the backend; reading again gets every message', async (t) => {
      flood = { written: 0, done: false };
      const call = transport.serverStream(request('/t.S/Flood'));
      assert.equal((await call.read())!.readUInt32BE(0), 0);
      const stalledAt = await settledValue(() => flood.written, 150);
      assert.equal(flood.done, false);
      t.diagnostic(`backend stalled after ${stalledAt} of ${FLOOD_MESSAGES} messages`);
      // what may sit between the backend and us: our read-ahead, both HTTP/2 windows and both
      // libraries' buffers; a few MiB at most, far below the 32 MiB the backend has to send
      assert.ok(stalledAt * MESSAGE_BYTES < STREAM_HIGH_WATER_BYTES + 8 * 1024 * 1024, `backend wrote ${stalledAt} messages while nobody read`);
      let expected = 1;
      for (let message = await call.read(); message !== undefined; message = await call.read()) {
        assert.equal(message.readUInt32BE(0), expected++);
      }
      assert.equal(expected, FLOOD_MESSAGES);
      assert.equal(call.status().ok, true);
    });
  });
}

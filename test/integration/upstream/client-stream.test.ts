// Client-streaming calls over the node:http2 and grpc-js transports against a real grpc-js
// server: messages arrive in order and the one response comes back; a backend that stops reading
// holds the writer back (flow control); cancel reaches the backend; an over-limit message fails
// locally.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Code } from '../../../src/errors/codes.js';
import { createGrpcJsTransport } from '../../../src/upstream/channel-pool.js';
import { createHttp2Transport } from '../../../src/upstream/http2-transport.js';
import type { UnaryRequest, UpstreamTransport } from '../../../src/upstream/transport.js';
import { exceededLocalLimit } from '../../../src/upstream/unary-call.js';
import { startStreamingGrpcServer, type RunningStreamingServer } from '../../helpers/grpc-stream-server.js';

let server: RunningStreamingServer;
let stalled: grpc.ServerReadableStream<Buffer, Buffer> | undefined;
let onCancelled: (() => void) | undefined;

const request = (path: string, overrides: Partial<UnaryRequest> = {}): UnaryRequest => ({
  path,
  message: new Uint8Array(),
  metadata: [],
  deadline: Date.now() + 10_000,
  ...overrides,
});

before(async () => {
  server = await startStreamingGrpcServer({}, {}, {
    '/t.C/Join': (call, callback) => {
      const parts: string[] = [];
      call.on('data', (message: Buffer) => parts.push(message.toString()));
      call.on('end', () => callback(null, Buffer.from(parts.join('+'))));
    },
    '/t.C/Stall': (call) => {
      stalled = call;
      call.pause(); // reads nothing: the client's writes must back up
      call.on('cancelled', () => onCancelled?.());
    },
    '/t.C/Reject': (_call, callback) => callback({ code: grpc.status.FAILED_PRECONDITION, details: 'no uploads today' }),
  });
});

after(async () => {
  await server.close();
});

for (const [name, create] of [
  ['node:http2', createHttp2Transport],
  ['grpc-js', createGrpcJsTransport],
] as const) {
  describe(`client streams over the ${name} transport`, () => {
    // both have clientStream (optional in UpstreamTransport)
    let transport: UpstreamTransport & Required<Pick<UpstreamTransport, 'clientStream'>>;
    before(() => {
      transport = create({ target: server.target, maxSendMessageBytes: 1024 * 1024 }) as typeof transport;
    });
    after(async () => {
      await transport.close();
    });

    it('sends the messages in order and returns the response', async () => {
      const call = transport.clientStream(request('/t.C/Join'));
      for (const word of ['a', 'bb', 'ccc']) assert.equal(await call.write(Buffer.from(word)), true);
      call.end();
      const result = await call.result;
      assert.equal(result.ok && result.message.toString(), 'a+bb+ccc');
    });

    it('an upstream failure is the result; writes after it return false', async () => {
      const call = transport.clientStream(request('/t.C/Reject'));
      await call.write(Buffer.from('one'));
      call.end(); // a grpc-js server sends its status once the request stream has ended
      const result = await call.result;
      assert.equal(!result.ok && result.code, Code.FAILED_PRECONDITION);
      assert.equal(await call.write(Buffer.from('late')), false);
    });

    it('flow control: a backend that does not read holds the writer back; cancel reaches it', async () => {
      const call = transport.clientStream(request('/t.C/Stall'));
      const chunk = Buffer.alloc(64 * 1024, 1);
      let written = 0;
      const pending = (async () => {
        while (written < 1000 && (await call.write(chunk))) written++;
      })();
      // wait until the writes stop advancing
      for (let last = -1; written !== last; ) {
        last = written;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      assert.ok(written < 100, `${written} messages of 64 KiB went out while the backend read nothing`);
      assert.ok(stalled !== undefined);
      const seen = new Promise<void>((resolve) => (onCancelled = resolve));
      call.cancel();
      await seen;
      await pending;
      const result = await call.result;
      assert.equal(!result.ok && result.code, Code.CANCELLED);
    });

    it('a message over maxSendMessageBytes fails the call locally', async () => {
      const call = transport.clientStream(request('/t.C/Join'));
      assert.equal(await call.write(Buffer.alloc(2 * 1024 * 1024)), false);
      const result = await call.result;
      assert.equal(!result.ok && result.code, Code.RESOURCE_EXHAUSTED);
      assert.equal(exceededLocalLimit(result), 'request');
    });
  });
}

// Bidirectional calls over every transport against a real grpc-js server (stream/v1/relay.proto
// `Chat`, which echoes each message at once): an answer is read before the next message is
// written; the service may end first; an upstream error ends the responses with its status;
// cancel reaches the backend; an over-limit message fails locally.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../../src/errors/codes.js';
import { createGrpcJsTransport } from '../../../src/upstream/channel-pool.js';
import { createWireTransport } from '../../../src/upstream/h2-wire/wire-transport.js';
import { createHttp2Transport } from '../../../src/upstream/http2-transport.js';
import type { BidiStreamCall, UnaryRequest, UpstreamTransport } from '../../../src/upstream/transport.js';
import { exceededLocalLimit } from '../../../src/upstream/unary-call.js';
import { loadTestRoot } from '../../helpers/proto-root.js';
import { RELAY_PROTO, startRelayBackend, type RelayBackend } from '../../helpers/relay-backend.js';

let backend: RelayBackend;
const Note = loadTestRoot([RELAY_PROTO], {}).lookupType('stream.v1.Note');
const note = (text: string): Uint8Array => Note.encode({ channel: 'c', text }).finish();
const textOf = (message: Buffer | undefined): string | undefined => (message === undefined ? undefined : (Note.toObject(Note.decode(message)) as { text: string }).text);
const request = (): UnaryRequest => ({ path: '/stream.v1.RelayService/Chat', message: new Uint8Array(), metadata: [], deadline: Date.now() + 10_000 });

before(async () => {
  backend = await startRelayBackend();
});

after(async () => {
  await backend.close();
});

for (const [name, create] of [
  ['wire', createWireTransport],
  ['node:http2', createHttp2Transport],
  ['grpc-js', createGrpcJsTransport],
] as const) {
  describe(`bidirectional streams over the ${name} transport`, () => {
    let transport: UpstreamTransport;
    let open: (request: UnaryRequest) => BidiStreamCall;
    before(() => {
      transport = create({ target: backend.target, maxSendMessageBytes: 1024 });
      assert.ok(transport.bidiStream !== undefined);
      open = transport.bidiStream.bind(transport);
    });
    after(async () => {
      await transport.close();
    });

    it('reads the answer to each message before writing the next; the end of the requests ends the call OK', async () => {
      const call = open(request());
      assert.equal(await call.write(note('a')), true);
      assert.equal(textOf(await call.read()), 'echo:a');
      assert.equal(await call.write(note('b')), true);
      assert.equal(textOf(await call.read()), 'echo:b');
      call.end();
      assert.equal(await call.read(), undefined);
      assert.equal(call.status().ok, true);
    });

    it('the service may end first: reads end OK while the request side is still open, later writes say false', async () => {
      const call = open(request());
      await call.write(note('bye'));
      assert.equal(textOf(await call.read()), 'echo:bye');
      assert.equal(await call.read(), undefined);
      assert.equal(call.status().ok, true);
      assert.equal(await call.write(note('late')), false);
    });

    it('an upstream error ends the responses with its status', async () => {
      const call = open(request());
      await call.write(note('fail'));
      assert.equal(await call.read(), undefined);
      const status = call.status();
      assert.equal(status.ok, false);
      assert.equal(!status.ok && status.code, Code.ABORTED);
    });

    it('cancel reaches the backend', async () => {
      const cancelled = backend.cancelled();
      const call = open(request());
      await call.write(note('x'));
      assert.equal(textOf(await call.read()), 'echo:x');
      call.cancel();
      await cancelled;
      assert.equal(await call.read(), undefined);
      assert.equal(!call.status().ok && (call.status() as { code: number }).code, Code.CANCELLED);
    });

    it('a message over maxSendMessageBytes fails the call locally (RESOURCE_EXHAUSTED, marked as the request side)', async () => {
      const call = open(request());
      assert.equal(await call.write(note('y'.repeat(2048))), false);
      assert.equal(await call.read(), undefined);
      const status = call.status();
      assert.ok(!status.ok);
      assert.equal(status.code, Code.RESOURCE_EXHAUSTED);
      assert.equal(exceededLocalLimit(status), 'request');
    });
  });
}

// The pool itself, for each transport: separate connections, round-robin, connectivity state and
// draining close.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../../src/errors/codes.js';
import { createGrpcJsTransport, type ChannelPool, type ChannelPoolOptions } from '../../../src/upstream/channel-pool.js';
import { createWireTransport } from '../../../src/upstream/h2-wire/wire-transport.js';
import { createHttp2Transport } from '../../../src/upstream/http2-transport.js';
import { UpstreamRegistry } from '../../../src/upstream/upstream-registry.js';
import type { UnaryRequest } from '../../../src/upstream/transport.js';
import { startTestServer, type TestServer } from './grpc-test-server.js';

function request(path: string, deadlineMs = 5000): UnaryRequest {
  return { path, message: Buffer.from('ping'), metadata: [], deadline: Date.now() + deadlineMs };
}

const transports: ReadonlyArray<readonly [string, (options: ChannelPoolOptions) => ChannelPool]> = [
  ['grpc-js', createGrpcJsTransport],
  ['node:http2', createHttp2Transport],
  ['wire', createWireTransport],
];

for (const [transportName, createTransport] of transports) describe(`${transportName} channel pool`, () => {
  let server: TestServer;
  const held: Array<() => void> = [];

  before(async () => {
    server = await startTestServer({
      Echo(call, callback) {
        callback(null, call.request);
      },
      Held(call, callback) {
        held.push(() => callback(null, call.request));
      },
    });
  });

  after(async () => {
    await server.close();
  });

  it('round-robins calls over separate connections', async () => {
    const pool = createTransport({ target: server.target, size: 3 });
    try {
      const first = server.peers.length;
      for (let i = 0; i < 6; i++) assert.ok((await pool.unary(request('/test.Echo/Echo'))).ok);
      const peers = server.peers.slice(first);
      assert.equal(new Set(peers).size, 3, `peers: ${peers.join(' ')}`);
      // strict rotation: call i and call i+3 share a connection
      for (let i = 0; i < 3; i++) assert.equal(peers[i], peers[i + 3]);
    } finally {
      await pool.close();
    }
  });

  it('reports idle before the first call, ready after, shutdown once closed', async () => {
    const pool = createTransport({ target: server.target });
    assert.equal(pool.state(), 'idle');
    assert.ok((await pool.unary(request('/test.Echo/Echo'))).ok);
    assert.equal(pool.state(), 'ready');
    await pool.close();
    assert.equal(pool.state(), 'shutdown');
    const result = await pool.unary(request('/test.Echo/Echo'));
    assert.ok(!result.ok);
    assert.equal(result.code, Code.UNAVAILABLE);
  });

  it('close waits for the calls in flight', async () => {
    const pool = createTransport({ target: server.target, size: 1 });
    const calls = server.received.length;
    const pending = pool.unary(request('/test.Echo/Held'));
    while (server.received.length === calls) await new Promise((resolve) => setImmediate(resolve));
    let closed = false;
    const closing = pool.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false);
    held.shift()?.();
    const result = await pending;
    assert.ok(result.ok);
    await closing;
    assert.equal(closed, true);
  });

  it('the registry shares one pool per target and falls back to *', async () => {
    const registry = new UpstreamRegistry(
      [
        { service: 'test.Echo', target: server.target },
        { service: 'test.Other', target: server.target },
        { service: '*', target: '127.0.0.1:1' },
      ],
      { size: 1 },
      createTransport,
    );
    try {
      const echo = registry.transportFor('test.Echo');
      assert.ok(echo !== undefined);
      assert.equal(registry.transportFor('test.Other'), echo);
      assert.notEqual(registry.transportFor('test.Unlisted'), echo);
      assert.ok((await echo.unary(request('/test.Echo/Echo'))).ok);
      assert.deepEqual(registry.states(), [
        { target: server.target, state: 'ready' },
        { target: '127.0.0.1:1', state: 'idle' },
      ]);
    } finally {
      await registry.close();
    }
  });
});

// Server streams through the resilient wrapper (resilient-transport.ts): they pass the breaker,
// count as a success at their first message (or by how they end), are refused fast while the
// breaker is open, and are never retried. A fake inner transport whose streams the test drives.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Code } from '../../../src/errors/codes.js';
import { CIRCUIT_OPEN_MESSAGE, createResilientTransport } from '../../../src/upstream/resilient-transport.js';
import { ServerStreamQueue } from '../../../src/upstream/server-stream.js';
import type { UnaryRequest } from '../../../src/upstream/transport.js';
import { localFailure } from '../../../src/upstream/unary-call.js';

const request: UnaryRequest = { path: '/a.A/Watch', message: new Uint8Array(), metadata: [], deadline: Date.now() + 10_000, idempotent: true };
const retry = { maxRetries: 2, onDeadlineExceeded: true, baseDelayMs: 1, maxDelayMs: 2, budgetRatio: 1, budgetMinPerSecond: 100 };

function fakeInner() {
  const streams: ServerStreamQueue[] = [];
  return {
    streams,
    unary: () => Promise.reject(new Error('not called')),
    serverStream: () => {
      const queue = new ServerStreamQueue();
      streams.push(queue);
      return queue;
    },
    close: async () => {},
  };
}

it('failed streams open the breaker, are not retried, and an open breaker refuses the next stream at once', async () => {
  const inner = fakeInner();
  const transport = createResilientTransport('h:1', inner, { breaker: { failureThreshold: 2, cooldownMs: 60_000 }, retry });
  for (let i = 0; i < 2; i++) {
    const call = transport.serverStream(request);
    inner.streams[i]!.end(localFailure(Code.UNAVAILABLE, 'down', 'test'));
    assert.equal(await call.read(), undefined);
    assert.equal(call.status().ok, false);
  }
  assert.equal(inner.streams.length, 2, 'no retries');
  assert.equal(transport.breakerState(), 'open');
  const refused = transport.serverStream(request);
  assert.equal(await refused.read(), undefined);
  const status = refused.status();
  assert.equal(!status.ok && status.message, CIRCUIT_OPEN_MESSAGE);
  assert.equal(inner.streams.length, 2, 'the open breaker kept the call from the upstream');
  await transport.close();
});

it('a stream counts as a success at its first message, so a later failure does not count against the upstream', async () => {
  const inner = fakeInner();
  const transport = createResilientTransport('h:1', inner, { breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
  const call = transport.serverStream(request);
  inner.streams[0]!.push(Buffer.from('m'));
  assert.deepEqual(await call.read(), Buffer.from('m'));
  inner.streams[0]!.end(localFailure(Code.UNAVAILABLE, 'dropped', 'test'));
  assert.equal(await call.read(), undefined);
  assert.equal(transport.breakerState(), 'closed');
  // a cancelled stream is neutral
  const cancelled = transport.serverStream(request);
  cancelled.cancel();
  assert.equal(transport.breakerState(), 'closed');
  await transport.close();
});

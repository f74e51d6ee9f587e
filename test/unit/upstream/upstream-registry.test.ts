import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamRegistry, type TransportFactory } from '../../../src/upstream/upstream-registry.js';
import type { UpstreamTransport } from '../../../src/upstream/transport.js';

// A factory that records what it made; no sockets are involved.
function recordingFactory(): { factory: TransportFactory; made: string[]; closed: string[] } {
  const made: string[] = [];
  const closed: string[] = [];
  const factory: TransportFactory = (options) => {
    made.push(options.target);
    const transport: UpstreamTransport = {
      unary: () => Promise.reject(new Error('not called in these tests')),
      serverStream: () => {
        throw new Error('not called in these tests');
      },
      close: async () => {
        closed.push(options.target);
      },
    };
    return transport;
  };
  return { factory, made, closed };
}

describe('UpstreamRegistry', () => {
  it('resolves exact entries first, then *, else undefined', () => {
    const { factory } = recordingFactory();
    const registry = new UpstreamRegistry(
      [
        { service: 'a.A', target: 'h1:1' },
        { service: '*', target: 'h2:2' },
      ],
      {},
      factory,
    );
    const a = registry.transportFor('a.A');
    const fallback = registry.transportFor('b.B');
    assert.ok(a !== undefined && fallback !== undefined);
    assert.notEqual(a, fallback);
    assert.equal(registry.transportFor('c.C'), fallback);
    const noFallback = new UpstreamRegistry([{ service: 'a.A', target: 'h1:1' }], {}, factory);
    assert.equal(noFallback.transportFor('b.B'), undefined);
  });

  it('makes one transport per distinct target, passing the pool options', () => {
    const seen: unknown[] = [];
    const { factory, made } = recordingFactory();
    const registry = new UpstreamRegistry(
      [
        { service: 'a.A', target: 'h1:1' },
        { service: 'b.B', target: 'h1:1' },
        { service: 'c.C', target: 'h2:2' },
      ],
      { size: 4, maxReceiveMessageBytes: 1024 },
      (options) => {
        seen.push(options);
        return factory(options);
      },
    );
    assert.deepEqual(made, ['h1:1', 'h2:2']);
    assert.deepEqual(seen[0], { size: 4, maxReceiveMessageBytes: 1024, target: 'h1:1' });
    assert.equal(registry.transportFor('a.A'), registry.transportFor('b.B'));
    assert.deepEqual(registry.states(), [
      { target: 'h1:1', state: 'idle' },
      { target: 'h2:2', state: 'idle' },
    ]);
  });

  it('rejects a service listed twice', () => {
    const { factory } = recordingFactory();
    assert.throws(
      () =>
        new UpstreamRegistry(
          [
            { service: 'a.A', target: 'h1:1' },
            { service: 'a.A', target: 'h2:2' },
          ],
          {},
          factory,
        ),
      /"a\.A" is configured twice/,
    );
  });

  it('closes every transport once', async () => {
    const { factory, closed } = recordingFactory();
    const registry = new UpstreamRegistry(
      [
        { service: 'a.A', target: 'h1:1' },
        { service: 'b.B', target: 'h1:1' },
        { service: '*', target: 'h2:2' },
      ],
      {},
      factory,
    );
    await registry.close();
    assert.deepEqual(closed.sort(), ['h1:1', 'h2:2']);
  });
});

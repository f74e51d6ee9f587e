// UpstreamRegistry with address sets (no sockets): which entries get a balancer, one transport per
// address, names used in logs and metrics, and TLS settings kept apart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelPoolOptions } from '../../../src/upstream/channel-pool.js';
import { UpstreamRegistry, upstreamName, type TransportFactory } from '../../../src/upstream/upstream-registry.js';

function recordingFactory(): { factory: TransportFactory; made: ChannelPoolOptions[] } {
  const made: ChannelPoolOptions[] = [];
  const factory: TransportFactory = (options) => {
    made.push(options);
    return {
      // transports never reject; the health checks of the balancer call this
      unary: async () => ({ ok: false, code: 12, message: 'fake', statusDetails: undefined, headers: [], trailers: [] }),
      serverStream: () => {
        throw new Error('not called');
      },
      close: async () => {},
      state: () => 'ready',
    };
  };
  return { factory, made };
}

const HEALTH = { intervalMs: 60_000, timeoutMs: 1000, unhealthyThreshold: 2, healthyThreshold: 2, service: '' };

describe('UpstreamRegistry with address sets', () => {
  it('names upstreams by their addresses', () => {
    assert.equal(upstreamName({ service: 'a.A', target: 'h:1' }), 'h:1');
    assert.equal(upstreamName({ service: 'a.A', addresses: ['h:1', 'h:2'] }), 'h:1,h:2');
    assert.equal(upstreamName({ service: 'a.A', dns: 'backend:443' }), 'dns:backend:443');
  });

  it('makes one transport per address behind one balancer, shared by the services naming the same set', async () => {
    const { factory, made } = recordingFactory();
    const registry = new UpstreamRegistry(
      [
        { service: 'a.A', addresses: ['h:1', 'h:2'] },
        { service: 'b.B', addresses: ['h:1', 'h:2'] },
        { service: 'c.C', addresses: ['h:3'] },
      ],
      { size: 2 },
      factory,
    );
    assert.deepEqual(
      made.map((o) => [o.target, o.size]),
      [
        ['h:1', 2],
        ['h:2', 2],
        ['h:3', 2],
      ],
    );
    assert.equal(registry.transportFor('a.A'), registry.transportFor('b.B'));
    assert.deepEqual(registry.states(), [
      { target: 'h:1,h:2', state: 'ready' },
      { target: 'h:3', state: 'ready' },
    ]);
    assert.deepEqual(
      registry.addresses().map((a) => [a.target, a.address, a.healthy]),
      [
        ['h:1,h:2', 'h:1', true],
        ['h:1,h:2', 'h:2', true],
        ['h:3', 'h:3', true],
      ],
    );
    await registry.close();
  });

  it('a single address gets its transport directly, unless health checks need a balancer', async () => {
    const { factory } = recordingFactory();
    const plain = new UpstreamRegistry([{ service: '*', target: 'h:1' }], {}, factory);
    const checked = new UpstreamRegistry([{ service: '*', target: 'h:1' }], {}, factory, undefined, { healthCheck: HEALTH });
    assert.equal(plain.transportFor('x.X')!.constructor.name, 'Object', 'the factory’s transport itself');
    assert.equal(checked.transportFor('x.X')!.constructor.name, 'BalancedTransport');
    await Promise.all([plain.close(), checked.close()]);
  });

  it('passes TLS to every address, and keeps the same addresses with other TLS settings apart', async () => {
    const { factory, made } = recordingFactory();
    const tls = { serverName: 'backend' };
    const registry = new UpstreamRegistry(
      [
        { service: 'a.A', target: 'h:1', tls },
        { service: 'b.B', target: 'h:1', tls },
        { service: 'c.C', target: 'h:1' },
      ],
      {},
      factory,
    );
    assert.deepEqual(
      made.map((o) => [o.target, o.tls]),
      [
        ['h:1', tls],
        ['h:1', undefined],
      ],
    );
    assert.equal(registry.transportFor('a.A'), registry.transportFor('b.B'));
    assert.notEqual(registry.transportFor('a.A'), registry.transportFor('c.C'));
    await registry.close();
  });
});

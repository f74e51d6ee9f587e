// The balancer (src/upstream/balancer.ts) over fake per-address transports: policies, passive
// outlier ejection and its limits, retries sent elsewhere, active health checks, address changes.
import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Code } from '../../../src/errors/codes.js';
import { BalancedTransport, type AddressChange, type BalancerOptions } from '../../../src/upstream/balancer.js';
import {
  decodeServingStatus,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  HEALTH_CHECK_PATH,
  ServingStatus,
} from '../../../src/upstream/health-check.js';
import type { ServerStreamCall, UnaryRequest, UnaryResult } from '../../../src/upstream/transport.js';
import { localFailure } from '../../../src/upstream/unary-call.js';

const OK = { ok: true, message: Buffer.from('ok'), headers: [], trailers: [] } as const satisfies UnaryResult;
const request = (path = '/p.S/M'): UnaryRequest => ({ path, message: Buffer.alloc(0), metadata: [], deadline: Date.now() + 1000 });

/** A fake address: answers with `answer(request)`, or holds calls while `hold` is set; counts calls per path. */
class FakeAddress {
  calls = 0;
  streams = 0;
  health = ServingStatus.SERVING as number;
  hold: Array<() => void> | undefined;
  closed = false;
  answer: (request: UnaryRequest) => UnaryResult = () => OK;
  constructor(readonly address: string) {}
  transport() {
    return {
      unary: (req: UnaryRequest): Promise<UnaryResult> => {
        if (req.path === HEALTH_CHECK_PATH) return Promise.resolve({ ...OK, message: encodeHealthCheckResponse(this.health) });
        this.calls++;
        const result = this.answer(req);
        if (this.hold === undefined) return Promise.resolve(result);
        return new Promise((resolve) => this.hold!.push(() => resolve(result)));
      },
      serverStream: (): ServerStreamCall => {
        this.streams++;
        return { read: async () => undefined, headers: () => [], status: () => ({ ok: true, headers: [], trailers: [] }), cancel() {} };
      },
      close: async () => {
        this.closed = true;
      },
      state: () => 'ready' as const,
    };
  }
}

const unavailable = () => localFailure(Code.UNAVAILABLE, 'Upstream unavailable', 'connection refused');

function balancer(addresses: string[], options: Partial<BalancerOptions> = {}) {
  const fakes = new Map(addresses.map((a) => [a, new FakeAddress(a)]));
  const events = new EventEmitter();
  const changes: Array<[string, AddressChange]> = [];
  const transport = new BalancedTransport({
    name: 'svc',
    policy: 'round-robin',
    createTransport: (address) => {
      let fake = fakes.get(address);
      if (fake === undefined) fakes.set(address, (fake = new FakeAddress(address)));
      return fake.transport();
    },
    onAddressChange: (_upstream, address, change) => {
      changes.push([address, change]);
      events.emit(change, address);
    },
    ...options,
  });
  transport.setAddresses(addresses);
  return { transport, fakes, changes, events, fake: (a: string) => fakes.get(a)! };
}

const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 60_000, maxEjectionMs: 300_000, maxEjectedPercent: 50 };

describe('balancer', () => {
  // the balancer's timers (ejection, health checks) are unref'd, as a gateway's should be: keep the test alive
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => {}, 1000);
  });
  after(() => clearInterval(keepAlive));

  it('round-robin spreads calls evenly', async () => {
    const { transport, fake } = balancer(['a:1', 'b:1', 'c:1']);
    for (let i = 0; i < 30; i++) assert.equal((await transport.unary(request())).ok, true);
    assert.deepEqual(['a:1', 'b:1', 'c:1'].map((a) => fake(a).calls), [10, 10, 10]);
    await transport.close();
  });

  it('least-outstanding sends new calls to the address with fewer calls in flight', async () => {
    const { transport, fake } = balancer(['a:1', 'b:1'], { policy: 'least-outstanding' });
    fake('a:1').hold = [];
    // a holds its calls; b answers at once, so between calls b has 0 in flight and a at least 1
    const pending = [];
    for (let i = 0; i < 20; i++) {
      pending.push(transport.unary(request()));
      await new Promise(setImmediate);
    }
    assert.ok(fake('a:1').calls <= 1, `a got ${fake('a:1').calls} calls while busy`);
    assert.ok(fake('b:1').calls >= 19);
    for (const release of fake('a:1').hold!) release();
    await Promise.all(pending);
    await transport.close();
  });

  it('ejects an address after consecutive UNAVAILABLE results, and brings it back after the ejection time', async () => {
    const { transport, fake, events, changes } = balancer(['a:1', 'b:1'], { outlier: { ...OUTLIER, baseEjectionMs: 100 } });
    fake('a:1').answer = unavailable;
    for (let i = 0; i < 6; i++) await transport.unary(request());
    assert.equal(fake('a:1').calls, 3, 'three failures in a row, then out of rotation');
    assert.deepEqual(changes, [['a:1', 'added'], ['b:1', 'added'], ['a:1', 'ejected']]);
    assert.deepEqual(
      transport.addresses().map((a) => [a.address, a.healthy, a.ejected]),
      [['a:1', false, true], ['b:1', true, false]],
    );
    for (let i = 0; i < 10; i++) assert.equal((await transport.unary(request())).ok, true);
    assert.equal(fake('a:1').calls, 3);
    fake('a:1').answer = () => OK;
    await once(events, 'returned');
    for (let i = 0; i < 4; i++) await transport.unary(request());
    assert.equal(fake('a:1').calls, 5, 'back in rotation');
    await transport.close();
  });

  it('business errors and cancellations do not count towards ejection', async () => {
    const { transport, fake } = balancer(['a:1', 'b:1'], { outlier: OUTLIER });
    let n = 0;
    fake('a:1').answer = () => (++n % 3 === 0 ? localFailure(Code.NOT_FOUND, 'no', 'no') : n % 3 === 1 ? unavailable() : localFailure(Code.CANCELLED, 'c', 'c'));
    for (let i = 0; i < 40; i++) await transport.unary(request());
    assert.equal(transport.addresses()[0]!.ejected, false);
    await transport.close();
  });

  it('never ejects more than maxEjectedPercent, and never the last address in rotation', async () => {
    const { transport, fake } = balancer(['a:1', 'b:1', 'c:1', 'd:1'], { outlier: { ...OUTLIER, maxEjectedPercent: 50 } });
    for (const a of ['a:1', 'b:1', 'c:1', 'd:1']) fake(a).answer = unavailable;
    for (let i = 0; i < 60; i++) await transport.unary(request());
    assert.equal(transport.addresses().filter((a) => a.ejected).length, 2, '50 % of 4');
    const two = balancer(['a:1', 'b:1'], { outlier: { ...OUTLIER, maxEjectedPercent: 100 } });
    two.fake('a:1').answer = unavailable;
    two.fake('b:1').answer = unavailable;
    for (let i = 0; i < 30; i++) await two.transport.unary(request());
    assert.equal(two.transport.addresses().filter((a) => a.ejected).length, 1, 'one survivor serves');
    const result = await two.transport.unary(request());
    assert.equal(result.ok, false);
    assert.notEqual((result as { message: string }).message, 'No healthy upstream address');
    await Promise.all([transport.close(), two.transport.close()]);
  });

  it('a retry goes to another address than the one that failed', async () => {
    const tagged = balancer(['x:1', 'y:1', 'z:1']);
    const seen: string[] = [];
    for (const a of ['x:1', 'y:1', 'z:1']) {
      tagged.fake(a).answer = () => {
        seen.push(a);
        return unavailable();
      };
    }
    for (let i = 0; i < 12; i++) {
      seen.length = 0;
      const first = await tagged.transport.unary(request());
      await tagged.transport.unaryRetry(request(), first);
      assert.notEqual(seen[1], seen[0], `retry went to ${seen[1]} after failing on ${seen[0]}`);
    }
    await tagged.transport.close();
  });

  it('active health checks take an address out after unhealthyThreshold failures and back after healthyThreshold passes', async () => {
    const health = { intervalMs: 20, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 3, service: '' };
    const { transport, fake, events } = balancer(['a:1', 'b:1'], { healthCheck: health });
    fake('a:1').health = ServingStatus.NOT_SERVING;
    await once(events, 'unhealthy');
    for (let i = 0; i < 10; i++) await transport.unary(request());
    assert.equal(fake('a:1').calls, 0);
    assert.deepEqual(transport.addresses().map((a) => a.passingHealthChecks), [false, true]);
    fake('b:1').health = ServingStatus.SERVICE_UNKNOWN;
    await once(events, 'unhealthy');
    const none = await transport.unary(request());
    assert.equal(none.ok, false);
    assert.equal((none as { code: number }).code, Code.UNAVAILABLE);
    assert.equal((none as { message: string }).message, 'No healthy upstream address');
    assert.equal(transport.state(), 'transient-failure');
    fake('a:1').health = ServingStatus.SERVING;
    await once(events, 'healthy');
    assert.equal((await transport.unary(request())).ok, true);
    await transport.close();
  });

  it('setAddresses keeps the transports of addresses that stay and closes the others', async () => {
    const { transport, fakes, changes } = balancer(['a:1', 'b:1']);
    transport.setAddresses(['b:1', 'c:1']);
    assert.deepEqual(transport.addresses().map((a) => a.address), ['b:1', 'c:1']);
    assert.equal(fakes.get('a:1')!.closed, true);
    assert.equal(fakes.get('b:1')!.closed, false);
    assert.deepEqual(changes.slice(2), [['c:1', 'added'], ['a:1', 'removed']]);
    for (let i = 0; i < 4; i++) await transport.unary(request());
    assert.equal(fakes.get('a:1')!.calls, 0);
    await transport.close();
  });

  it('sends streams to addresses in rotation too, and ends them at once with UNAVAILABLE when none is', async () => {
    const health = { intervalMs: 20, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1, service: '' };
    const { transport, fake, events } = balancer(['a:1', 'b:1'], { healthCheck: health });
    for (let i = 0; i < 4; i++) transport.serverStream(request());
    assert.deepEqual([fake('a:1').streams, fake('b:1').streams], [2, 2]);
    fake('a:1').health = ServingStatus.NOT_SERVING;
    fake('b:1').health = ServingStatus.NOT_SERVING;
    await once(events, 'unhealthy');
    if (transport.addresses().some((a) => a.healthy)) await once(events, 'unhealthy');
    const stream = transport.serverStream(request());
    assert.equal(await stream.read(), undefined);
    const status = stream.status();
    assert.equal(status.ok, false);
    assert.equal(!status.ok && status.code, Code.UNAVAILABLE);
    assert.deepEqual([fake('a:1').streams, fake('b:1').streams], [2, 2]);
    await transport.close();
  });

  it('answers UNAVAILABLE at once before any address is known', async () => {
    const transport = new BalancedTransport({ name: 'dns:x:1', policy: 'round-robin', createTransport: () => new FakeAddress('?').transport() });
    const result = await transport.unary(request('/p.S/M'));
    assert.equal(result.ok, false);
    assert.match((result as { cause: string }).cause, /no address resolved yet/);
    assert.equal(transport.state(), 'connecting');
  });
});

describe('health check messages', () => {
  it('encodes requests and decodes responses by hand', () => {
    assert.equal(encodeHealthCheckRequest('').length, 0);
    assert.deepEqual([...encodeHealthCheckRequest('a.B')], [0x0a, 3, 0x61, 0x2e, 0x42]);
    for (const status of [0, 1, 2, 3]) assert.equal(decodeServingStatus(encodeHealthCheckResponse(status)), status);
    assert.equal(decodeServingStatus(Buffer.from([0x12, 1, 0x41, 0x08, 1])), 1, 'unknown fields are skipped');
    assert.equal(decodeServingStatus(Buffer.from([0x08])), undefined, 'truncated');
  });
});

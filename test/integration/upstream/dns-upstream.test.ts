// A `dns: NAME:PORT` upstream against real grpc-js backends on two loopback addresses
// (127.0.0.1 and 127.0.0.2, same port): the name's answer is swapped between lookups (an injected
// resolver stands in for the DNS server), and calls follow it without a restart; a failed lookup
// keeps the last addresses. The system resolver is checked once with "localhost".
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { resolveWithSystem } from '../../../src/upstream/dns-addresses.js';
import { createHttp2Transport } from '../../../src/upstream/http2-transport.js';
import { UpstreamRegistry } from '../../../src/upstream/upstream-registry.js';

const identity = (bytes: Buffer): Buffer => bytes;

/** A backend on `host:port` whose /test.Echo/Echo answers its own host. */
async function startEchoHost(host: string, port: number): Promise<{ port: number; close(): void }> {
  const server = new grpc.Server();
  server.addService(
    { Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { Echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(host)) },
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return { port: bound, close: () => server.forceShutdown() };
}

describe('dns upstream', () => {
  let first: { port: number; close(): void };
  let second: { port: number; close(): void };
  let answer: string[] | Error = ['127.0.0.1'];
  let lookups = 0;
  let registry: UpstreamRegistry;
  const dnsErrors: string[] = [];

  before(async () => {
    first = await startEchoHost('127.0.0.1', 0);
    second = await startEchoHost('127.0.0.2', first.port);
    registry = new UpstreamRegistry([{ service: '*', dns: `backend.test:${first.port}`, dnsRefreshMs: 50 }], {}, createHttp2Transport, undefined, {
      resolveHost: async (host) => {
        assert.equal(host, 'backend.test');
        lookups++;
        if (answer instanceof Error) throw answer;
        return answer;
      },
      onDnsError: (_upstream, message) => dnsErrors.push(message),
    });
    await registry.resolved();
  });
  after(async () => {
    await registry.close();
    first.close();
    second.close();
  });

  const hosts = async (n: number): Promise<string[]> => {
    const transport = registry.transportFor('any.Service')!;
    const seen: string[] = [];
    for (let i = 0; i < n; i++) {
      const result = await transport.unary({ path: '/test.Echo/Echo', message: Buffer.alloc(0), metadata: [], deadline: Date.now() + 2000 });
      assert.ok(result.ok, JSON.stringify(result));
      seen.push(result.message.toString());
    }
    return seen;
  };
  const lookupsAfter = async (count: number) => {
    const target = lookups + count;
    while (lookups < target) await sleep(10);
  };

  it('follows the name as its answer changes, without a restart', async () => {
    assert.deepEqual([...new Set(await hosts(4))], ['127.0.0.1']);
    assert.equal(registry.targetFor('x.Y'), `dns:backend.test:${first.port}`);

    answer = ['127.0.0.2', '127.0.0.1'];
    await lookupsAfter(2);
    assert.deepEqual([...new Set(await hosts(6))].sort(), ['127.0.0.1', '127.0.0.2'], 'both, round-robin');
    assert.deepEqual(registry.addresses().map((a) => a.address), [`127.0.0.1:${first.port}`, `127.0.0.2:${first.port}`]);

    answer = ['127.0.0.2'];
    await lookupsAfter(2);
    assert.deepEqual([...new Set(await hosts(4))], ['127.0.0.2'], 'the address that left gets no calls');
  });

  it('keeps the last addresses when a lookup fails or comes back empty', async () => {
    answer = Object.assign(new Error('queryA ESERVFAIL backend.test'), { code: 'ESERVFAIL' });
    await lookupsAfter(2);
    answer = [];
    await lookupsAfter(2);
    assert.deepEqual([...new Set(await hosts(3))], ['127.0.0.2']);
    assert.ok(dnsErrors.some((e) => /ESERVFAIL; keeping the last addresses/.test(e)), dnsErrors.join('\n'));
    assert.ok(dnsErrors.some((e) => /no addresses; keeping the last ones/.test(e)), dnsErrors.join('\n'));
  });

  it('a name that never resolved makes its upstream failing (not ready) and its calls fail fast', async () => {
    const unresolved = new UpstreamRegistry([{ service: '*', dns: 'nowhere.test:1' }], {}, createHttp2Transport, undefined, {
      resolveHost: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
      },
    });
    await unresolved.resolved();
    assert.deepEqual(unresolved.states(), [{ target: 'dns:nowhere.test:1', state: 'transient-failure' }]);
    const result = await unresolved.transportFor('a.B')!.unary({ path: '/test.Echo/Echo', message: Buffer.alloc(0), metadata: [], deadline: Date.now() + 1000 });
    assert.equal(!result.ok && result.message, 'No healthy upstream address');
    await unresolved.close();
  });

  it('the system resolver finds localhost', async () => {
    const addresses = await resolveWithSystem('localhost');
    assert.ok(addresses.some((a) => a === '127.0.0.1' || a === '::1'), addresses.join(', '));
  });
});

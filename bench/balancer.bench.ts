// Client CPU µs per unary call through an upstream's wrappers, against a grpc-js echo server in a
// child process, closed loop with 32 calls in flight: the node:http2 transport behind the breaker
// and retries as a single address has it, the same behind a balancer of one address, and
// balancers of two addresses (round-robin, least-outstanding; the two addresses are two
// connections to the same server). Rounds alternate; the median of 5 is printed.
// Run: node --import tsx bench/balancer.bench.ts [calls]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { BalancedTransport, type BalancePolicy } from '../src/upstream/balancer.js';
import { createHttp2Transport } from '../src/upstream/http2-transport.js';
import { createResilientTransport, type ResilienceOptions } from '../src/upstream/resilient-transport.js';
import type { UnaryRequest, UpstreamTransport } from '../src/upstream/transport.js';
import { startTestServer } from '../test/integration/upstream/grpc-test-server.js';

if (process.argv[2] === 'serve') {
  const server = await startTestServer({ Echo: (call, callback) => callback(null, call.request) });
  process.send?.(server.port);
} else {
  const calls = Number(process.argv[2] ?? 20_000);
  const inFlight = 32;
  const child = fork(fileURLToPath(import.meta.url), ['serve'], { execArgv: ['--import', 'tsx'] });
  const [port] = (await once(child, 'message')) as [number];
  const message = Buffer.alloc(149, 1);
  const request = (): UnaryRequest => ({ path: '/test.Echo/Echo', message, metadata: [['x-request-id', 'r1']], deadline: Date.now() + 15_000, idempotent: true });
  // the defaults of config key resilience
  const resilience: ResilienceOptions = {
    breaker: { failureThreshold: 5, cooldownMs: 5000 },
    retry: { maxRetries: 2, onDeadlineExceeded: false, baseDelayMs: 25, maxDelayMs: 250, budgetRatio: 0.2, budgetMinPerSecond: 3 },
  };
  const outlier = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectedPercent: 50 };
  const balanced = (policy: BalancePolicy, addresses: string[]): UpstreamTransport => {
    const balancer = new BalancedTransport({ name: 'bench', policy, outlier, createTransport: (target) => createHttp2Transport({ target }) });
    balancer.setAddresses(addresses);
    return createResilientTransport('bench', balancer, resilience);
  };
  const one = `127.0.0.1:${port}`;
  const two = [one, `localhost:${port}`];
  const contenders: ReadonlyArray<readonly [string, UpstreamTransport]> = [
    ['single address (no balancer)', createResilientTransport('bench', createHttp2Transport({ target: one }), resilience)],
    ['balancer, 1 address', balanced('round-robin', [one])],
    ['balancer, 2 addresses, round-robin', balanced('round-robin', two)],
    ['balancer, 2 addresses, least-outstanding', balanced('least-outstanding', two)],
  ];
  const run = async (transport: UpstreamTransport): Promise<void> => {
    let left = calls;
    const worker = async (): Promise<void> => {
      while (left-- > 0) await transport.unary(request());
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  };
  const samples = new Map<string, number[]>();
  for (let round = 0; round < 5; round++) {
    for (const [name, transport] of contenders) {
      const cpu = process.cpuUsage();
      await run(transport);
      const used = process.cpuUsage(cpu);
      samples.set(name, [...(samples.get(name) ?? []), (used.user + used.system) / calls]);
    }
  }
  for (const [name, values] of samples) {
    values.sort((a, b) => a - b);
    console.log(`${name.padEnd(42)} ${values[2]!.toFixed(1)} µs CPU per call (median of 5 rounds of ${calls})`);
  }
  await Promise.all(contenders.map(([, transport]) => transport.close()));
  child.kill();
}

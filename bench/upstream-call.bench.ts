// Client CPU µs per unary call of each upstream transport — grpc-js (createGrpcJsTransport),
// node:http2 (createHttp2Transport), wire (createWireTransport) — and of bare grpc-js
// makeUnaryRequest, side by side in one process against a grpc-js echo server in a child process,
// closed loop at a fixed number of calls in flight. Rounds alternate between contenders so none
// pays for JIT or GC another caused; the median of 5 rounds is reported. Pin the client and keep
// the server off its core:
//   BENCH_SERVER_CPU=1 taskset -c 0 node --import tsx bench/upstream-call.bench.ts [calls] [inFlight] [poolSize]
import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { createGrpcJsTransport } from '../src/upstream/channel-pool.js';
import { createWireTransport } from '../src/upstream/h2-wire/wire-transport.js';
import { createHttp2Transport } from '../src/upstream/http2-transport.js';
import { startTestServer } from '../test/integration/upstream/grpc-test-server.js';

if (process.argv[2] === 'serve') {
  const server = await startTestServer({ Echo: (call, callback) => callback(null, call.request) });
  process.send?.(server.port);
} else {
  const calls = Number(process.argv[2] ?? 20_000);
  const inFlight = Number(process.argv[3] ?? 32);
  const poolSize = Number(process.argv[4] ?? 1);
  const child = fork(fileURLToPath(import.meta.url), ['serve'], { execArgv: ['--import', 'tsx'] });
  const [port] = (await once(child, 'message')) as [number];
  // Keep the server off the client's core when the client runs under `taskset -c 0`.
  if (process.env['BENCH_SERVER_CPU'] !== undefined) execFileSync('taskset', ['-pc', process.env['BENCH_SERVER_CPU'], String(child.pid)]);
  const target = `127.0.0.1:${port}`;
  const message = Buffer.alloc(149, 1); // the size of the demo Item in notes/grpc-client-cost.md

  const run = async (n: number, call: () => Promise<unknown>): Promise<void> => {
    let left = n;
    const worker = async (): Promise<void> => {
      while (left-- > 0) await call();
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  };
  const measure = async (call: () => Promise<unknown>): Promise<number> => {
    const cpu = process.cpuUsage();
    await run(calls, call);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / calls;
  };

  const pool = createGrpcJsTransport({ target, size: poolSize });
  const lean = createHttp2Transport({ target, size: poolSize });
  const wire = createWireTransport({ target, size: poolSize });
  const client = new Client(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const identity = (bytes: Buffer): Buffer => bytes;
  const contenders: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
    [
      'createGrpcJsTransport().unary',
      () => pool.unary({ path: '/test.Echo/Echo', message, metadata: [['x-request-id', 'r1']], deadline: Date.now() + 15_000 }),
    ],
    [
      'createHttp2Transport().unary',
      () => lean.unary({ path: '/test.Echo/Echo', message, metadata: [['x-request-id', 'r1']], deadline: Date.now() + 15_000 }),
    ],
    [
      'createWireTransport().unary',
      () => wire.unary({ path: '/test.Echo/Echo', message, metadata: [['x-request-id', 'r1']], deadline: Date.now() + 15_000 }),
    ],
    [
      'bare grpc-js makeUnaryRequest (1 channel)',
      () =>
        new Promise<void>((resolve) => {
          const metadata = new Metadata();
          metadata.add('x-request-id', 'r1');
          client.makeUnaryRequest('/test.Echo/Echo', identity, identity, message, metadata, { deadline: Date.now() + 15_000 }, () => resolve());
        }),
    ],
  ];
  // Warm all up, then alternate rounds so none pays for JIT or GC the other caused.
  for (const [, call] of contenders) await run(5000, call);
  const samples = contenders.map((): number[] => []);
  for (let round = 0; round < 5; round++) {
    for (const [i, [, call]] of contenders.entries()) samples[i]?.push(await measure(call));
  }
  process.stdout.write(`${calls} calls × 5 rounds, ${inFlight} in flight, pool of ${poolSize}, with deadline and one metadata entry\n`);
  for (const [i, [name]] of contenders.entries()) {
    const sorted = [...(samples[i] ?? [])].sort((a, b) => a - b);
    const median = sorted[2] ?? Number.NaN;
    process.stdout.write(`${name.padEnd(44)} median ${median.toFixed(1)} µs CPU/call (min ${sorted[0]?.toFixed(1)}, max ${sorted[4]?.toFixed(1)})\n`);
  }
  client.close();
  await pool.close();
  await lean.close();
  await wire.close();
  child.kill();
}

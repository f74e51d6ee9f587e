// Issue 7: "with all cores (--workers) the throughput scales with cores; report it". Throughput of
// `protogate serve --workers 1` against `--workers 2` (or WORKERS), GET /v1/items/{id}, measured
// with wrk on loopback against a fast backend: the side-by-side benchmark's Go backend when it
// has been built (../bench-peers-run/build/bin/backend, see bench/peers.sh), else a grpc-js one
// in this process answering the same item. Worker counts alternate over the rounds so neither
// gets the quieter minutes; each round starts a fresh gateway, warms it up, then measures.
// On a machine with few cores wrk and the backend share them with the workers, so the scaling
// printed is a lower bound on what the gateway alone would do: the output says so with numbers.
// Run: npm run build && node --import tsx bench/workers.bench.ts
//   WORKERS (1,2), WORKERS_ROUNDS (2), DURATION (10 s), WARMUP (5 s), CONNS (64), THREADS (2),
//   BENCH_PEERS_DIR (../bench-peers-run)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildModel } from '../codegen/build-model.js';
import { packageRoot } from '../src/package-paths.js';
import { serveCli } from '../test/helpers/cli.js';
import { startRawGrpcServer } from '../test/helpers/grpc-server.js';
import { childPids, cores, cpuMicros, machineBusyPercent, machineTicks } from './proc-stats.js';

const workerCounts = (process.env['WORKERS'] ?? '1,2').split(',').map(Number);
const rounds = Number(process.env['WORKERS_ROUNDS'] ?? 2);
const durationSeconds = Number(process.env['DURATION'] ?? 10);
// Each worker warms its own JIT while sharing the cores with wrk: measured on the 2-core machine,
// two workers need ~3 s of load before their throughput settles, so 5 s (bench-peers' WARMUP).
const warmupSeconds = Number(process.env['WARMUP'] ?? 5);
const connections = Number(process.env['CONNS'] ?? 64);
const threads = Number(process.env['THREADS'] ?? 2);
const peersDir = process.env['BENCH_PEERS_DIR'] ?? path.join(packageRoot, '..', 'bench-peers-run');
const goBackendBin = path.join(peersDir, 'build', 'bin', 'backend');

const dir = mkdtempSync(path.join(tmpdir(), 'protogate-workers-'));
// wrk prints its summary to stdout through this script, as one JSON line we can parse.
const reportScript = path.join(dir, 'report.lua');
writeFileSync(
  reportScript,
  `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
`,
);

/** The backend under the gateway: its gRPC address, the proto it serves, and how to read its CPU. */
interface Backend {
  readonly name: string;
  readonly target: string;
  readonly protoPath: string;
  readonly protoFile: string;
  readonly service: string;
  cpuMicros(): number;
  close(): Promise<void>;
}

/** A port that was free a moment ago (the Go backend takes an address, not port 0). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on `port`. */
async function waitForListener(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function startGoBackend(): Promise<Backend> {
  const port = await freePort();
  const child: ChildProcess = spawn(goBackendBin, ['-addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  await waitForListener(port);
  return {
    name: `Go backend (${goBackendBin})`,
    target: `127.0.0.1:${port}`,
    protoPath: path.join(peersDir, 'proto'),
    protoFile: 'bench.proto',
    service: 'bench.v1.ItemService',
    cpuMicros: () => cpuMicros(child.pid!),
    close: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** The fallback: grpc-js in this process, answering GetItem with a fully populated item. */
async function startGrpcJsBackend(): Promise<Backend> {
  const protoPath = path.join(packageRoot, 'bench', 'proto');
  const { root } = buildModel({ protoPaths: [protoPath], protoFiles: ['item.proto'] }).protos;
  const Item = root.lookupType('benchitem.v1.Item');
  const GetItemRequest = root.lookupType('benchitem.v1.GetItemRequest');
  const item = (id: string) =>
    Buffer.from(Item.encode(Item.fromObject({
      id, display_name: 'Benchmark widget', quantity: 7, size_bytes: '9007199254740993', unit_price: 5.25, in_stock: true,
      status: 1, tags: ['x', 'y'], dimensions: { width: 1, height: 2, depth: 3, unit: 'mm' },
      created_at: { seconds: 1700000000, nanos: 123000000 }, labels: { source: 'bench', kind: 'widget' },
    })).finish());
  const server = await startRawGrpcServer({
    '/benchitem.v1.ItemService/GetItem': (request) => item((GetItemRequest.decode(request) as unknown as { id: string }).id),
  });
  return {
    name: 'grpc-js backend in the bench process (the Go backend is not built: bash bench/peers.sh builds it)',
    target: server.target,
    protoPath,
    protoFile: 'item.proto',
    service: 'benchitem.v1.ItemService',
    cpuMicros: () => {
      const usage = process.cpuUsage();
      return usage.user + usage.system;
    },
    close: () => server.close(),
  };
}

interface WrkResult {
  readonly requests: number;
  readonly duration_us: number;
  readonly non2xx: number;
  readonly socket_errors: number;
  readonly p50_us: number;
  readonly p99_us: number;
}

function runWrk(url: string, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const wrk = spawn('wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '-s', reportScript, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    wrk.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    wrk.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    wrk.on('error', reject);
    wrk.on('exit', () => {
      const line = /WRK_JSON (\{.*\})/.exec(output);
      if (line === null) reject(new Error(`wrk printed no result:\n${output}`));
      else resolve(JSON.parse(line[1]!) as WrkResult);
    });
  });
}

interface Round {
  readonly workers: number;
  readonly wrk: WrkResult;
  /** CPU µs of the primary and every worker together, and of each worker alone. */
  readonly gatewayCpu: number;
  readonly perWorkerCpu: number[];
  readonly backendCpu: number;
  readonly machineBusy: number;
}

/** The gateway's processes: the primary and its workers (none with --workers 1). */
function gatewayCpu(primary: number): { total: number; workers: number[] } {
  const workers = childPids(primary).map(cpuMicros);
  return { total: cpuMicros(primary) + workers.reduce((sum, value) => sum + value, 0), workers };
}

/**
 * Resolves once every worker is up and has finished starting (loading protos, connecting): the
 * "serving" line comes with the first worker, and a later one still compiling during the
 * measurement would be charged to it. Idle means the whole tree used under 10 % of a core for
 * two readings in a row.
 */
async function waitForIdleWorkers(primary: number, workers: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let previous = gatewayCpu(primary).total;
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error(`the ${workers} workers were not up and idle within ${timeoutMs} ms`);
    await sleep(250);
    const now = gatewayCpu(primary).total;
    const live = workers === 1 ? 1 : childPids(primary).length;
    quiet = live === workers && now - previous < 25_000 ? quiet + 1 : 0;
    previous = now;
  }
}

async function measureRound(backend: Backend, workers: number): Promise<Round> {
  const gateway = await serveCli([
    '--config', path.join(packageRoot, 'bench', 'bench-config.yaml'), '--proto-path', backend.protoPath, '--proto', backend.protoFile,
    '--upstream', `${backend.service}=${backend.target}`, '--port', '0', '--host', '127.0.0.1', '--workers', String(workers),
  ]);
  try {
    const primary = gateway.child.pid!;
    const url = `${gateway.base}/v1/items/abc`;
    await waitForIdleWorkers(primary, workers);
    const check = await fetch(url);
    if (check.status !== 200) throw new Error(`GET ${url}: HTTP ${check.status} ${await check.text()}`);
    await runWrk(url, warmupSeconds);
    const gatewayBefore = gatewayCpu(primary);
    const backendBefore = backend.cpuMicros();
    const machineBefore = machineTicks();
    const wrk = await runWrk(url, durationSeconds);
    const machineBusy = machineBusyPercent(machineBefore, machineTicks());
    const gatewayAfter = gatewayCpu(primary);
    return {
      workers,
      wrk,
      gatewayCpu: gatewayAfter.total - gatewayBefore.total,
      perWorkerCpu: gatewayAfter.workers.map((value, i) => value - (gatewayBefore.workers[i] ?? 0)),
      backendCpu: backend.cpuMicros() - backendBefore,
      machineBusy,
    };
  } finally {
    await gateway.stop();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const backend = existsSync(goBackendBin) ? await startGoBackend() : await startGrpcJsBackend();
const results: Round[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    for (const workers of workerCounts) {
      const result = await measureRound(backend, workers);
      results.push(result);
      const rps = result.wrk.requests / (result.wrk.duration_us / 1e6);
      process.stderr.write(`round ${round + 1}, ${workers} worker(s): ${rps.toFixed(0)} req/s, machine ${result.machineBusy.toFixed(0)} % busy\n`);
    }
  }
} finally {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nprotogate serve --workers N, GET /v1/items/{id}: wrk -t${threads} -c${connections} -d${durationSeconds}s, ${rounds} round(s) each, medians; ${cores} cores; ${backend.name} (${new Date().toISOString()})\n`);
console.log('| workers | req/s | × 1 worker | req/s per round | p50 ms | p99 ms | gateway CPU µs/req | gateway cores busy | busiest worker share | backend µs/req | machine busy % | non-2xx / sock err |');
console.log('|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|');
const summaries = workerCounts.map((workers) => {
  const mine = results.filter((result) => result.workers === workers);
  const rps = mine.map((result) => result.wrk.requests / (result.wrk.duration_us / 1e6));
  return { workers, mine, rps, rpsMedian: median(rps) };
});
const oneWorker = summaries.find((summary) => summary.workers === 1)?.rpsMedian;
for (const { workers, mine, rps, rpsMedian } of summaries) {
  const perRequest = (pick: (result: Round) => number) => median(mine.map((result) => pick(result) / result.wrk.requests));
  const coresBusy = median(mine.map((result) => result.gatewayCpu / (result.wrk.duration_us)));
  // With one worker there is no cluster; with more, the share of the busiest worker in all workers' CPU (1/N = even).
  const busiest = workers === 1 ? '–' : `${(100 * median(mine.map((result) => Math.max(...result.perWorkerCpu) / result.perWorkerCpu.reduce((s, v) => s + v, 0)))).toFixed(0)} %`;
  console.log(
    `| ${workers} | ${rpsMedian.toFixed(0)} | ${oneWorker === undefined ? '–' : (rpsMedian / oneWorker).toFixed(2)} | ${rps.map((value) => value.toFixed(0)).join(', ')} | ` +
      `${(median(mine.map((result) => result.wrk.p50_us)) / 1000).toFixed(2)} | ${(median(mine.map((result) => result.wrk.p99_us)) / 1000).toFixed(2)} | ` +
      `${perRequest((result) => result.gatewayCpu).toFixed(1)} | ${coresBusy.toFixed(2)} | ${busiest} | ${perRequest((result) => result.backendCpu).toFixed(1)} | ` +
      `${median(mine.map((result) => result.machineBusy)).toFixed(0)} | ${mine.reduce((s, r) => s + r.wrk.non2xx, 0)} / ${mine.reduce((s, r) => s + r.wrk.socket_errors, 0)} |`,
  );
}
const most = summaries.reduce((a, b) => (b.workers > a.workers ? b : a));
console.log(
  `\nOn this ${cores}-core machine wrk (${threads} threads), the backend and the gateway's workers share the cores: ` +
    `"machine busy %" near 100 means the machine, not the gateway, was the limit, so the ratio to 1 worker is a lower bound ` +
    `on the gateway's own scaling (with --workers ${most.workers} the gateway used ${median(most.mine.map((r) => r.gatewayCpu / r.wrk.duration_us)).toFixed(2)} cores, ` +
    `the rest went to wrk and the backend). gateway CPU µs/req is the primary plus all workers (utime+stime from /proc); ` +
    `it rising with workers means the cores were contended, not that a request costs more.`,
);

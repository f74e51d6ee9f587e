// Soak: bounded load for N minutes against the real CLI (`protogate serve`, from dist/) in front of
// a grpc-js echo backend, with the gateway's RSS sampled every few seconds and printed as a table,
// so a leak shows as a curve that keeps climbing after warm-up. The load mixes what a gateway
// sees all day: successes (GET with query, POST with a body), client errors (bad JSON, unknown
// fields, 404s), upstream errors and deadline hits, and clients that disconnect mid-call.
// Run: npm run build && node --import tsx bench/soak.ts [--minutes 3] [--rate 200] [--concurrency 64] [--sample-seconds 5]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serveCli } from '../test/helpers/cli.js';
import { testProtosDir } from '../test/helpers/gateway.js';
import { startRawGrpcServer } from '../test/helpers/grpc-server.js';
import { echoTypes } from '../test/helpers/recording-backend.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '64' },
    'sample-seconds': { type: 'string', default: '5' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const concurrency = Number(values.concurrency);
const sampleMs = Number(values['sample-seconds']) * 1000;

const { EchoMessage } = echoTypes();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const backend = await startRawGrpcServer({
  '/echo.v1.EchoService/Echo': async (request) => {
    const { id } = EchoMessage.decode(request) as unknown as { id: string };
    if (id.startsWith('slow')) await sleep(50);
    return request;
  },
  '/echo.v1.EchoService/Fail': (request) => {
    const { code } = EchoMessage.decode(request) as unknown as { code: number };
    throw Object.assign(new Error('failed on purpose'), { code, details: 'failed on purpose' });
  },
  '/echo.v1.EchoService/Hang': () => new Promise<Buffer>(() => {}),
});
const dir = mkdtempSync(path.join(tmpdir(), 'protogate-soak-'));
const configFile = path.join(dir, 'soak.yaml');
// The breaker stays off: the mix fails on purpose, and an open breaker would answer from its fast
// path instead of exercising the pipeline.
writeFileSync(configFile, JSON.stringify({ log: { level: 'warn', access: false }, timeouts: { default: '1s' }, resilience: { breaker: { enabled: false } } }));
const cli = await serveCli([
  '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto', '--upstream', `*=${backend.target}`,
  '--port', '0', '--host', '127.0.0.1', '--config', configFile,
]);
const pid = cli.child.pid!;

/** The gateway's resident set size in MiB, from /proc (Linux). */
function rssMiB(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

// One request of the mix, by number: ~70% successes, the rest errors of every kind.
function requestFor(n: number): { url: string; init: RequestInit; abortAfterMs?: number } {
  const base = cli.base;
  const json = { 'content-type': 'application/json' };
  switch (n % 20) {
    case 0: return { url: `${base}/v1/echo`, init: { method: 'POST', headers: json, body: '{"id":' } }; // bad JSON → 400
    case 1: return { url: `${base}/v1/echo`, init: { method: 'POST', headers: json, body: '{"nope":1}' } }; // unknown field → 400
    case 2: return { url: `${base}/v1/nothing/${n}`, init: {} }; // 404
    case 3: return { url: `${base}/v1/fail/${[3, 5, 13, 14][n % 4]}`, init: { method: 'POST', headers: json, body: '{}' } }; // upstream errors
    case 4: return { url: `${base}/v1/hang/${n}`, init: {} }; // 504 at the 1 s deadline
    case 5: return { url: `${base}/v1/echo/slow-${n}`, init: {}, abortAfterMs: 10 }; // client gone mid-call
    case 6: case 7: case 8:
      return { url: `${base}/v1/echo`, init: { method: 'POST', headers: json, body: JSON.stringify({ id: `p${n}`, words: ['a', 'b', String(n)], totals: { a: String(n) }, extra: { k: [1, 'x', null] }, when: '2024-01-02T03:04:05Z' }) } };
    default:
      return { url: `${base}/v1/echo/g${n}?count=${n % 1000}&words=x&words=y&nested.name=n${n % 7}`, init: {} };
  }
}

interface Interval { latencies: number[]; ok: number; clientErrors: number; serverErrors: number; aborted: number; failed: number }
const fresh = (): Interval => ({ latencies: [], ok: 0, clientErrors: 0, serverErrors: 0, aborted: 0, failed: 0 });
let current = fresh();
let sent = 0;
const endAt = Date.now() + minutes * 60_000;
// Pacing: a shared schedule, so the load stays at `rate` requests/s whatever the latency.
const started = Date.now();
async function worker(): Promise<void> {
  while (Date.now() < endAt) {
    const n = sent++;
    const due = started + (n * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const { url, init, abortAfterMs } = requestFor(n);
    const controller = new AbortController();
    const timer = abortAfterMs === undefined ? undefined : setTimeout(() => controller.abort(), abortAfterMs);
    const t0 = performance.now();
    try {
      const res = await fetch(url, { ...init, signal: controller.signal });
      await res.arrayBuffer();
      const bucket = current;
      bucket.latencies.push(performance.now() - t0);
      if (res.status < 400) bucket.ok++;
      else if (res.status < 500) bucket.clientErrors++;
      else bucket.serverErrors++;
    } catch (error) {
      if ((error as Error).name === 'AbortError') current.aborted++;
      else current.failed++;
    } finally {
      clearTimeout(timer);
    }
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);
const rows: Array<{ t: number; rss: number }> = [];
console.log(`soak: ${minutes} min at ${rate} req/s, ${concurrency} clients, gateway pid ${pid}, RSS every ${sampleMs / 1000} s`);
console.log('   t (s) | RSS (MiB) |  req/s | p50 (ms) | p99 (ms) |   2xx |   4xx |   5xx | aborted | failed');
const startRss = rssMiB();
rows.push({ t: 0, rss: startRss });
console.log(`${'0'.padStart(8)} | ${startRss.toFixed(1).padStart(9)} |`);
const sampler = setInterval(() => {
  const interval = current;
  current = fresh();
  const sorted = interval.latencies.sort((a, b) => a - b);
  const t = (Date.now() - started) / 1000;
  const rss = rssMiB();
  rows.push({ t, rss });
  const done = interval.ok + interval.clientErrors + interval.serverErrors + interval.aborted + interval.failed;
  console.log(
    `${t.toFixed(0).padStart(8)} | ${rss.toFixed(1).padStart(9)} | ${(done / (sampleMs / 1000)).toFixed(0).padStart(6)} | ${percentile(sorted, 0.5).toFixed(1).padStart(8)} | ${percentile(sorted, 0.99).toFixed(1).padStart(8)} | ${String(interval.ok).padStart(5)} | ${String(interval.clientErrors).padStart(5)} | ${String(interval.serverErrors).padStart(5)} | ${String(interval.aborted).padStart(7)} | ${String(interval.failed).padStart(6)}`,
  );
}, sampleMs);

await Promise.all(Array.from({ length: concurrency }, worker));
clearInterval(sampler);
await sleep(1000);
const endRss = rssMiB();
// Leak check: the slope of RSS over the second half of the run (after warm-up), by least squares.
const tail = rows.filter((row) => row.t >= (minutes * 60) / 2);
const meanT = tail.reduce((s, r) => s + r.t, 0) / tail.length;
const meanR = tail.reduce((s, r) => s + r.rss, 0) / tail.length;
const slope = tail.reduce((s, r) => s + (r.t - meanT) * (r.rss - meanR), 0) / Math.max(1e-9, tail.reduce((s, r) => s + (r.t - meanT) ** 2, 0));
console.log(`requests: ${sent}; RSS start ${startRss.toFixed(1)} MiB, max ${Math.max(...rows.map((r) => r.rss)).toFixed(1)} MiB, end ${endRss.toFixed(1)} MiB; second-half slope ${(slope * 60).toFixed(2)} MiB/min`);
await cli.stop();
await backend.close();
rmSync(dir, { recursive: true, force: true });

// Soak: bounded load for N minutes against the real CLI (`protogate serve`, from dist/) in front of
// a grpc-js echo backend, with the gateway's RSS sampled every few seconds and printed as a table,
// so a leak shows as a curve that keeps climbing after warm-up. The load mixes what a gateway
// sees all day: successes (GET with query, POST with a body), client errors (bad JSON, unknown
// fields, 404s), upstream errors and deadline hits, and clients that disconnect mid-call.
// `--streams N` adds N clients that hold server streams (stream/v1/ticker.proto) beside that
// load, one after another: finite NDJSON streams read to the end, endless SSE streams left after
// a few seconds (client disconnect → cancellation), and slow NDJSON readers on a flood (flow
// control); the table then also shows the streams' traffic and the calls the backend still has
// open, which must follow the clients' streams and not pile up.
// Run: npm run build && node --import tsx bench/soak.ts [--minutes 3] [--rate 200] [--concurrency 64] [--sample-seconds 5] [--streams 0]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serveCli } from '../test/helpers/cli.js';
import { testProtosDir } from '../test/helpers/gateway.js';
import { startStreamingGrpcServer, writeWithBackpressure } from '../test/helpers/grpc-stream-server.js';
import { loadTestRoot } from '../test/helpers/proto-root.js';
import { echoTypes } from '../test/helpers/recording-backend.js';
import { TICKER_PROTO } from '../test/helpers/ticker-backend.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '64' },
    'sample-seconds': { type: 'string', default: '5' },
    streams: { type: 'string', default: '0' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const concurrency = Number(values.concurrency);
const sampleMs = Number(values['sample-seconds']) * 1000;
const streamClients = Number(values.streams);

const { EchoMessage } = echoTypes();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const tickerRoot = loadTestRoot([TICKER_PROTO], {});
const TickRequest = tickerRoot.lookupType('stream.v1.TickRequest');
const Tick = tickerRoot.lookupType('stream.v1.Tick');
/** Server-streaming calls the backend has open now. */
let openCalls = 0;

const backend = await startStreamingGrpcServer({
  // `count` ticks `intervalMs` apart (count 0: until cancelled), written with backpressure
  '/stream.v1.TickerService/Tick': async (bytes, call) => {
    const request = TickRequest.toObject(TickRequest.decode(bytes), { defaults: true }) as { name: string; count: number; intervalMs: number; paddingBytes: number };
    const padding = Buffer.alloc(request.paddingBytes, 7);
    openCalls++;
    try {
      for (let seq = 0; request.count === 0 || seq < request.count; seq++) {
        if (seq > 0 && request.intervalMs > 0) await sleep(request.intervalMs);
        if (!(await writeWithBackpressure(call, Buffer.from(Tick.encode({ name: request.name, seq, padding }).finish())))) return;
      }
      call.end();
    } finally {
      openCalls--;
    }
  },
}, {
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
  '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto', ...(streamClients > 0 ? ['--proto', TICKER_PROTO] : []), '--upstream', `*=${backend.target}`,
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

interface StreamInterval { opened: number; completed: number; left: number; failed: number; bytes: number }
const freshStreams = (): StreamInterval => ({ opened: 0, completed: 0, left: 0, failed: 0, bytes: 0 });
let currentStreams = freshStreams();
let streamsOpened = 0;
/** Streams the clients hold open now. */
let streamsOpen = 0;

// One stream of the mix, by number: how to ask for it, how long to hold it (undefined: to its
// end), and how long to wait between reads (a slow reader).
function streamFor(n: number): { url: string; headers: Record<string, string>; holdMs?: number; readGapMs: number } {
  const tick = `${cli.base}/v1/ticks/s${n}`;
  const holdMs = 2000 + ((n * 7919) % 4000); // 2–6 s, spread so the streams do not end in step
  switch (n % 3) {
    case 0: return { url: `${tick}?count=100&intervalMs=20`, headers: {}, readGapMs: 0 }; // ~2 s, read to the end
    case 1: return { url: `${tick}?intervalMs=50`, headers: { accept: 'text/event-stream' }, holdMs, readGapMs: 0 }; // endless SSE, left
    default: return { url: `${tick}?paddingBytes=4096`, headers: {}, holdMs, readGapMs: 50 }; // a flood read slowly, left
  }
}

async function streamClient(): Promise<void> {
  while (Date.now() < endAt) {
    const { url, headers, holdMs, readGapMs } = streamFor(streamsOpened++);
    const controller = new AbortController();
    const timer = holdMs === undefined ? undefined : setTimeout(() => controller.abort(), holdMs);
    currentStreams.opened++;
    streamsOpen++;
    try {
      const res = await fetch(url, { headers, signal: controller.signal });
      const reader = res.body!.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        currentStreams.bytes += chunk.value.length;
        if (readGapMs > 0) await sleep(readGapMs);
      }
      if (res.status === 200) currentStreams.completed++;
      else currentStreams.failed++;
    } catch (error) {
      if ((error as Error).name === 'AbortError') currentStreams.left++;
      else currentStreams.failed++;
    } finally {
      clearTimeout(timer);
      streamsOpen--;
    }
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);
const rows: Array<{ t: number; rss: number }> = [];
const streaming = streamClients > 0 ? `, ${streamClients} stream clients` : '';
console.log(`soak: ${minutes} min at ${rate} req/s, ${concurrency} clients${streaming}, gateway pid ${pid}, RSS every ${sampleMs / 1000} s`);
const streamHeader = streamClients > 0 ? ' | streams open | opened | done | left | failed | stream KiB/s | backend calls' : '';
console.log(`   t (s) | RSS (MiB) |  req/s | p50 (ms) | p99 (ms) |   2xx |   4xx |   5xx | aborted | failed${streamHeader}`);
const startRss = rssMiB();
rows.push({ t: 0, rss: startRss });
console.log(`${'0'.padStart(8)} | ${startRss.toFixed(1).padStart(9)} |`);
const sampler = setInterval(() => {
  const interval = current;
  current = fresh();
  const streams = currentStreams;
  currentStreams = freshStreams();
  const sorted = interval.latencies.sort((a, b) => a - b);
  const t = (Date.now() - started) / 1000;
  const rss = rssMiB();
  rows.push({ t, rss });
  const done = interval.ok + interval.clientErrors + interval.serverErrors + interval.aborted + interval.failed;
  console.log(
    `${t.toFixed(0).padStart(8)} | ${rss.toFixed(1).padStart(9)} | ${(done / (sampleMs / 1000)).toFixed(0).padStart(6)} | ${percentile(sorted, 0.5).toFixed(1).padStart(8)} | ${percentile(sorted, 0.99).toFixed(1).padStart(8)} | ${String(interval.ok).padStart(5)} | ${String(interval.clientErrors).padStart(5)} | ${String(interval.serverErrors).padStart(5)} | ${String(interval.aborted).padStart(7)} | ${String(interval.failed).padStart(6)}${streamClients > 0 ? streamColumns(streams) : ''}`,
  );
}, sampleMs);

/** The stream columns of a sample row: client-side counts, and the calls the backend has open. */
function streamColumns(streams: StreamInterval): string {
  const kib = streams.bytes / 1024 / (sampleMs / 1000);
  return ` | ${String(streamsOpen).padStart(12)} | ${String(streams.opened).padStart(6)} | ${String(streams.completed).padStart(4)} | ${String(streams.left).padStart(4)} | ${String(streams.failed).padStart(6)} | ${kib.toFixed(0).padStart(12)} | ${String(openCalls).padStart(13)}`;
}

await Promise.all([...Array.from({ length: concurrency }, worker), ...Array.from({ length: streamClients }, streamClient)]);
clearInterval(sampler);
await sleep(1000);
const endRss = rssMiB();
// Leak check: the slope of RSS over the second half of the run (after warm-up), by least squares.
const tail = rows.filter((row) => row.t >= (minutes * 60) / 2);
const meanT = tail.reduce((s, r) => s + r.t, 0) / tail.length;
const meanR = tail.reduce((s, r) => s + r.rss, 0) / tail.length;
const slope = tail.reduce((s, r) => s + (r.t - meanT) * (r.rss - meanR), 0) / Math.max(1e-9, tail.reduce((s, r) => s + (r.t - meanT) ** 2, 0));
if (streamClients > 0) console.log(`streams: ${streamsOpened} opened; backend calls still open 1 s after the end: ${openCalls}`);
console.log(`requests: ${sent}; RSS start ${startRss.toFixed(1)} MiB, max ${Math.max(...rows.map((r) => r.rss)).toFixed(1)} MiB, end ${endRss.toFixed(1)} MiB; second-half slope ${(slope * 60).toFixed(2)} MiB/min`);
await cli.stop();
await backend.close();
rmSync(dir, { recursive: true, force: true });

// Issue 7: "memory per idle connection and RSS under load reported". The real CLI (`protogate
// serve`, from dist/, in its own process) in front of a grpc-js echo backend on loopback:
//  1. RSS after a short warm-up;
//  2. after one unreported round that lets the heap grow to its working size, N keep-alive
//     HTTP/1.1 connections that each send one request, read the answer and stay open
//     (idle), then a pause, then RSS again: (RSS after − RSS before) / N is the memory one idle
//     connection holds (sockets, parser, Fastify/Node per-connection state, and whatever garbage
//     the N requests left that no GC has reclaimed yet — so an upper bound);
//  3. RSS sampled every 500 ms under a bounded closed-loop load (64 clients), min/median/max.
// Node's HTTP server closes a keep-alive connection idle for 5 s (server.keepAliveTimeout; the
// gateway has no setting for it), so the connections are opened quickly and RSS is read up to
// 1.5 s after the last one (less when opening took long, so the first is still inside the 5 s);
// the table says how many were still open at that moment (the gateway's open descriptors are
// counted too, so a closed connection cannot pass for an idle one).
// Run: npm run build && node --import tsx bench/idle-connections.bench.ts
//   IDLE_CONNECTIONS (1000,2000), IDLE_PAUSE_MS (1500), LOAD_SECONDS (10), LOAD_CONCURRENCY (64)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveCli } from '../test/helpers/cli.js';
import { testProtosDir } from '../test/helpers/gateway.js';
import { startRawGrpcServer } from '../test/helpers/grpc-server.js';
import { startLoad } from '../test/helpers/load-loop.js';
import { fdSoftLimit, openFds, quantile, statusKiB } from './proc-stats.js';

const requestedCounts = (process.env['IDLE_CONNECTIONS'] ?? '1000,2000').split(',').map(Number);
const pauseMs = Number(process.env['IDLE_PAUSE_MS'] ?? 1500);
const loadSeconds = Number(process.env['LOAD_SECONDS'] ?? 10);
const loadConcurrency = Number(process.env['LOAD_CONCURRENCY'] ?? 64);
/** Connections being opened at once: fast enough to open 2,000 well inside the 5 s keep-alive window. */
const OPENING_AT_ONCE = 100;
/** Node's default server.keepAliveTimeout, less a margin for the RSS readings. */
const IDLE_WINDOW_MS = 5000 - 700;
/** Descriptors this process needs besides the idle sockets (stdio, the backend, the gateway's pipes). */
const FD_HEADROOM = 200;

// Each process holds one end of every idle connection, both under the same soft limit.
const fdLimit = fdSoftLimit();
const counts = requestedCounts.map((n) => Math.min(n, fdLimit - FD_HEADROOM));
if (counts.some((n, i) => n !== requestedCounts[i])) {
  console.log(`note: ulimit -n is ${fdLimit}; connections capped at ${fdLimit - FD_HEADROOM} (raise it with \`ulimit -n 10000\` before running)`);
}

const backend = await startRawGrpcServer({ '/echo.v1.EchoService/Echo': (request) => request });
const dir = mkdtempSync(path.join(tmpdir(), 'protogate-idle-'));
const configFile = path.join(dir, 'idle.yaml');
writeFileSync(configFile, JSON.stringify({ log: { level: 'warn', access: false } }));
const gateway = await serveCli([
  '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto', '--upstream', `*=${backend.target}`,
  '--port', '0', '--host', '127.0.0.1', '--config', configFile,
]);
const pid = gateway.child.pid!;
const { hostname, port } = new URL(gateway.base);

/** An open connection whose one request has been answered, and whether the server closed it since. */
interface IdleConnection {
  readonly socket: net.Socket;
  closed: boolean;
}

/**
 * Opens a connection, sends one GET and resolves once the whole answer is in (the head's
 * Content-Length says when); the connection then stays open, idle.
 */
function openIdle(n: number): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const connection: IdleConnection = { socket, closed: false };
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.subarray(0, headEnd).toString('latin1');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (length === null || received.length < headEnd + 4 + Number(length[1])) return;
      if (!head.startsWith('HTTP/1.1 200')) return reject(new Error(`connection ${n}: ${head.split('\r\n', 1)[0]}`));
      socket.off('data', onData);
      resolve(connection);
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => (connection.closed = true));
    socket.write(`GET /v1/echo/idle-${n} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  });
}

async function openMany(count: number): Promise<IdleConnection[]> {
  const connections: IdleConnection[] = [];
  let next = 0;
  const opener = async () => {
    while (next < count) connections.push(await openIdle(next++));
  };
  await Promise.all(Array.from({ length: Math.min(OPENING_AT_ONCE, count) }, opener));
  return connections;
}

/** RSS in KiB, the median of a few readings a moment apart (a single one can catch a GC in the middle). */
async function settledRssKiB(): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(statusKiB(pid, 'VmRSS'));
    await sleep(50);
  }
  return quantile(readings.sort((a, b) => a - b), 0.5);
}

interface IdleRow {
  readonly requested: number;
  readonly stillOpen: number;
  readonly openMs: number;
  readonly pausedMs: number;
  readonly rssBeforeKiB: number;
  readonly rssAfterKiB: number;
  readonly fdDelta: number;
}

async function measureIdle(count: number): Promise<IdleRow> {
  const fdsBefore = openFds(pid);
  const rssBeforeKiB = await settledRssKiB();
  const t0 = performance.now();
  const connections = await openMany(count);
  const openMs = performance.now() - t0;
  const pausedMs = Math.max(0, Math.min(pauseMs, IDLE_WINDOW_MS - openMs));
  await sleep(pausedMs);
  const rssAfterKiB = await settledRssKiB();
  const fdDelta = openFds(pid) - fdsBefore;
  const stillOpen = connections.filter((connection) => !connection.closed).length;
  for (const { socket } of connections) socket.destroy();
  // let the gateway see the closes before the next count starts from its own baseline
  await sleep(1500);
  return { requested: count, stillOpen, openMs, pausedMs, rssBeforeKiB, rssAfterKiB, fdDelta };
}

/** RSS every 500 ms while a bounded keep-alive GET load runs; returns the samples and the load's outcome. */
async function measureUnderLoad(): Promise<{ samplesKiB: number[]; requests: number; failed: number; latenciesMs: number[] }> {
  const samplesKiB: number[] = [];
  const sampler = setInterval(() => samplesKiB.push(statusKiB(pid, 'VmRSS')), 500);
  const load = startLoad(gateway.base, {
    concurrency: loadConcurrency,
    path: (n) => `/v1/echo/load-${n}?count=${n % 1000}&words=a&words=b`,
    maxDurationMs: loadSeconds * 1000,
    maxRequests: Number.MAX_SAFE_INTEGER,
  });
  const records = await load.done;
  clearInterval(sampler);
  const latenciesMs = records.map((record) => record.endedAt - record.startedAt).sort((a, b) => a - b);
  return { samplesKiB, requests: records.length, failed: records.filter((record) => record.status !== 200).length, latenciesMs };
}

const idleRows: IdleRow[] = [];
let warmRssKiB: number;
let underLoad: Awaited<ReturnType<typeof measureUnderLoad>>;
let peakKiB: number;
try {
  // warm-up: the routes, codecs and upstream connection are exercised before the baseline
  await startLoad(gateway.base, { concurrency: 8, path: (n) => `/v1/echo/warm-${n}`, maxDurationMs: 2000, maxRequests: 20_000 }).done;
  await sleep(1000);
  warmRssKiB = await settledRssKiB();
  // One unreported round of the largest count first: the heap grows once to its working size
  // (young generation, code), which would otherwise be charged to the first count's connections.
  await measureIdle(Math.max(...counts));
  for (const count of counts) idleRows.push(await measureIdle(count));
  underLoad = await measureUnderLoad();
  peakKiB = statusKiB(pid, 'VmHWM');
} finally {
  await gateway.stop();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}

const mib = (kib: number) => (kib / 1024).toFixed(1);
console.log(`\nprotogate memory (${new Date().toISOString()}): RSS after warm-up ${mib(warmRssKiB)} MiB\n`);
console.log('| idle connections | still open at reading | gateway fds added | opened in ms | pause ms | RSS before MiB | RSS after MiB | KiB per idle connection |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of idleRows) {
  const perConnection = (row.rssAfterKiB - row.rssBeforeKiB) / row.stillOpen;
  console.log(`| ${row.requested} | ${row.stillOpen} | ${row.fdDelta} | ${row.openMs.toFixed(0)} | ${row.pausedMs.toFixed(0)} | ${mib(row.rssBeforeKiB)} | ${mib(row.rssAfterKiB)} | ${perConnection.toFixed(1)} |`);
}
const sorted = [...underLoad.samplesKiB].sort((a, b) => a - b);
console.log(`\nUnder load: ${loadConcurrency} keep-alive clients, GET /v1/echo/{id} with a query, ${loadSeconds} s, RSS every 500 ms (${sorted.length} samples)\n`);
console.log('| requests | req/s | non-200 | p50 ms | p99 ms | RSS min MiB | RSS median MiB | RSS max MiB | peak RSS (VmHWM) MiB |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
console.log(
  `| ${underLoad.requests} | ${(underLoad.requests / loadSeconds).toFixed(0)} | ${underLoad.failed} | ${quantile(underLoad.latenciesMs, 0.5).toFixed(2)} | ${quantile(underLoad.latenciesMs, 0.99).toFixed(2)} | ${mib(sorted[0] ?? Number.NaN)} | ${mib(quantile(sorted, 0.5))} | ${mib(sorted[sorted.length - 1] ?? Number.NaN)} | ${mib(peakKiB)} |`,
);
console.log(
  '\nThe load client runs in this process on the same machine as the gateway, so req/s is bounded by it too; ' +
    'the RSS figures are the point. KiB per idle connection includes garbage of the N requests not yet collected (an upper bound).',
);

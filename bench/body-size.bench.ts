// Issue 7: "a 1 MB request body and a 1 MB response stay linear". The real CLI (`protogate serve`,
// from dist/, in its own process) in front of a grpc-js backend on loopback; one client sends
// requests one after another over a keep-alive connection with a JSON body of 1 KiB … 1 MiB (the
// answer small), then asks for answers of those sizes (the request small). Per size: latency, the
// gateway process's CPU per request (utime+stime from /proc, so the client and the backend, which
// run in this process, are not counted), and that CPU per KiB of the large side. Linear means
// µs/KiB roughly constant from 100 KiB to 1 MiB; the "marginal" column is the extra CPU per extra
// KiB from the size before, which takes the fixed per-request cost out.
// Two payload shapes: `words`, a repeated string of 64-character items (per-element JSON work),
// and `blob`, one bytes field (base64 in JSON, one large scalar).
// Run: npm run build && node --import tsx bench/body-size.bench.ts
//   BODY_ROW_SECONDS (2.5) bounds each row; BODY_SIZES_KIB (1,10,100,1024); BODY_SHAPES (words,blob).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serveCli } from '../test/helpers/cli.js';
import { testProtosDir } from '../test/helpers/gateway.js';
import { startRawGrpcServer } from '../test/helpers/grpc-server.js';
import { echoTypes } from '../test/helpers/recording-backend.js';
import { cpuMicros, quantile } from './proc-stats.js';

const rowSeconds = Number(process.env['BODY_ROW_SECONDS'] ?? 2.5);
const sizesKiB = (process.env['BODY_SIZES_KIB'] ?? '1,10,100,1024').split(',').map(Number);
const shapes = (process.env['BODY_SHAPES'] ?? 'words,blob').split(',') as Shape[];
/** Every row gets at least this many requests, however slow they are. */
const MIN_REQUESTS = 20;
const WORD = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_'; // 64 characters

type Shape = 'words' | 'blob';
type Direction = 'request' | 'response';

const { EchoMessage } = echoTypes();

/** An echo.v1.EchoMessage payload whose JSON form is about `bytes` long. */
function payload(shape: Shape, bytes: number): Record<string, unknown> {
  if (shape === 'words') return { words: Array.from({ length: Math.max(1, Math.round(bytes / (WORD.length + 3))) }, () => WORD) };
  // base64 turns 3 bytes into 4 characters
  return { blob: Buffer.alloc(Math.max(1, Math.round((bytes * 3) / 4)), 7) };
}

// The backend answers a POST (count 0) with a small acknowledgement carrying the size of the
// protobuf request it got, and a GET …?count=N with a canned message of about N bytes of JSON.
const cannedAnswers = new Map<string, Buffer>();
const backend = await startRawGrpcServer({
  '/echo.v1.EchoService/Echo': (request) => {
    const { id, count } = EchoMessage.decode(request) as unknown as { id: string; count: number };
    if (count === 0) return Buffer.from(EchoMessage.encode(EchoMessage.fromObject({ id: 'ack', count: request.length })).finish());
    const key = `${id}:${count}`;
    let answer = cannedAnswers.get(key);
    if (answer === undefined) {
      answer = Buffer.from(EchoMessage.encode(EchoMessage.fromObject({ id, count, ...payload(id as Shape, count) })).finish());
      cannedAnswers.set(key, answer);
    }
    return answer;
  },
});

const dir = mkdtempSync(path.join(tmpdir(), 'protogate-bodies-'));
const configFile = path.join(dir, 'bodies.yaml');
// The largest body is a little over 1 MiB of JSON, the default limit exactly 1 MiB.
writeFileSync(configFile, JSON.stringify({ log: { level: 'warn', access: false }, limits: { maxBodyBytes: 8 * 1024 * 1024 } }));
const gateway = await serveCli([
  '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto', '--upstream', `*=${backend.target}`,
  '--port', '0', '--host', '127.0.0.1', '--config', configFile,
]);
const gatewayPid = gateway.child.pid!;
const { hostname, port } = new URL(gateway.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Exchange {
  readonly status: number;
  readonly body: Buffer;
}

/** One request on the keep-alive connection; resolves with the whole answer. */
function exchange(method: string, requestPath: string, body: Buffer | undefined): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': body.length };
    const request = http.request({ host: hostname, port, method, path: requestPath, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** The request of one row: a large POST body, or a small GET for a large answer. */
function requestFor(direction: Direction, shape: Shape, bytes: number): { method: string; path: string; body: Buffer | undefined } {
  if (direction === 'request') return { method: 'POST', path: '/v1/echo', body: Buffer.from(JSON.stringify({ id: 'up', ...jsonPayload(shape, bytes) })) };
  return { method: 'GET', path: `/v1/echo/${shape}?count=${bytes}`, body: undefined };
}

/** The payload as the proto3 JSON mapping writes it (bytes as base64). */
function jsonPayload(shape: Shape, bytes: number): Record<string, unknown> {
  const value = payload(shape, bytes);
  return shape === 'blob' ? { blob: (value['blob'] as Buffer).toString('base64') } : value;
}

/** Fails the run when the gateway did not carry the payload: a wrong status or a short answer. */
function check(direction: Direction, reply: Exchange, bytes: number): void {
  if (reply.status !== 200) throw new Error(`${direction} ${bytes} B: HTTP ${reply.status} ${reply.body.toString().slice(0, 300)}`);
  if (direction === 'response' && reply.body.length < bytes * 0.9) throw new Error(`answer of ${reply.body.length} B for ${bytes} B asked`);
  if (direction === 'request') {
    const received = (JSON.parse(reply.body.toString()) as { count: number }).count;
    if (received < bytes * 0.5) throw new Error(`the backend got ${received} B of protobuf for a ${bytes} B JSON body`);
  }
}

interface Row {
  readonly direction: Direction;
  readonly shape: Shape;
  readonly kib: number;
  readonly largeBytes: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly cpuPerRequest: number;
}

async function measureRow(direction: Direction, shape: Shape, kib: number): Promise<Row> {
  const { method, path: requestPath, body } = requestFor(direction, shape, kib * 1024);
  const first = await exchange(method, requestPath, body);
  check(direction, first, kib * 1024);
  const largeBytes = direction === 'request' ? body!.length : first.body.length;
  // warm-up: a quarter of the row's time, so the JIT has seen this size
  const warmUntil = performance.now() + (rowSeconds * 1000) / 4;
  while (performance.now() < warmUntil) await exchange(method, requestPath, body);
  const latencies: number[] = [];
  const cpuBefore = cpuMicros(gatewayPid);
  const endAt = performance.now() + rowSeconds * 1000;
  while (performance.now() < endAt || latencies.length < MIN_REQUESTS) {
    const t0 = performance.now();
    const reply = await exchange(method, requestPath, body);
    latencies.push(performance.now() - t0);
    if (reply.status !== 200) check(direction, reply, kib * 1024);
  }
  const cpu = cpuMicros(gatewayPid) - cpuBefore;
  latencies.sort((a, b) => a - b);
  return { direction, shape, kib, largeBytes, requests: latencies.length, p50Ms: quantile(latencies, 0.5), p90Ms: quantile(latencies, 0.9), cpuPerRequest: cpu / latencies.length };
}

const rows: Row[] = [];
try {
  for (const direction of ['request', 'response'] as const) {
    for (const shape of shapes) {
      for (const kib of sizesKiB) rows.push(await measureRow(direction, shape, kib));
    }
  }
} finally {
  agent.destroy();
  await gateway.stop();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
console.log(`\nprotogate body sizes: one client, sequential, keep-alive; ${rowSeconds} s per row; gateway CPU from /proc (${new Date().toISOString()})\n`);
console.log('| large side | shape | size | JSON bytes | requests | p50 ms | p90 ms | gateway CPU µs/req | CPU µs/KiB | marginal µs/KiB |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
rows.forEach((row, index) => {
  const previous = rows[index - 1];
  const sameSeries = previous !== undefined && previous.direction === row.direction && previous.shape === row.shape;
  const marginal = sameSeries ? (row.cpuPerRequest - previous.cpuPerRequest) / ((row.largeBytes - previous.largeBytes) / 1024) : Number.NaN;
  const size = row.kib >= 1024 ? `${row.kib / 1024} MiB` : `${row.kib} KiB`;
  console.log(
    `| ${row.direction} | ${row.shape} | ${size} | ${row.largeBytes} | ${row.requests} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p90Ms, 2)} | ${fixed(row.cpuPerRequest, 0)} | ${fixed(row.cpuPerRequest / (row.largeBytes / 1024), 2)} | ${fixed(marginal, 2)} |`,
  );
});
console.log(
  '\nlarge side: request = POST /v1/echo with the body (answer ~30 B); response = GET /v1/echo/{shape}?count=N ' +
    '(answer N bytes of JSON; includes the default weak ETag, a SHA-256 of the answer). words = repeated string of 64-character items, ' +
    'blob = one bytes field (base64). Latency includes the client and the grpc-js backend, which share this process; ' +
    'CPU is the gateway process alone (clock-tick resolution, so short rows of large sizes are coarse).',
);

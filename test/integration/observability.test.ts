// Observability through a real gateway and the demo grpc-js backend: Prometheus metrics on the
// admin port (scraped and parsed), the access log (parsed, checked for fields and for secrets),
// and readiness following the upstream's connectivity.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { LIBRARY_PROTO, LIBRARY_SERVICE, startLibraryBackend } from '../../src/demo/library-backend.js';
import { prettyStream } from '../../src/observability/logger.js';
import { bundledProtosDir } from '../../src/package-paths.js';
import { fetchJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (enough of it for prom-client's output). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, v]) => sample.labels[key] === v))?.value;
}

async function scrape(gateway: TestGateway): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  return parseMetrics(await response.text());
}

let backend: Awaited<ReturnType<typeof startLibraryBackend>>;
let gateway: TestGateway;
const logLines: Array<Record<string, unknown>> = [];
const rawLog: string[] = [];
const SECRET = 'Bearer s3cr3t-token-value';

before(async () => {
  backend = await startLibraryBackend({ port: 0 });
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        rawLog.push(line);
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  gateway = await startTestGateway(
    {
      server: { adminPort: 0 },
      log: { level: 'info', access: true },
      protos: { paths: [bundledProtosDir], files: [LIBRARY_PROTO] },
      upstreams: [{ service: LIBRARY_SERVICE, target: `127.0.0.1:${backend.port}` }],
    },
    logger,
  );
  const ok = await fetchJson(`${gateway.base}/v1/shelves/classics`, { headers: { authorization: SECRET, 'x-request-id': 'req-ok-1' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await fetchJson(`${gateway.base}/v1/shelves/classics`)).status, 200);
  assert.equal((await fetchJson(`${gateway.base}/no/such/route`, { headers: { authorization: SECRET } })).status, 404);
  assert.equal((await fetchJson(`${gateway.base}/v1/shelves/classics/books?pageSize=abc`)).status, 400);
  const missing = await fetchJson(`${gateway.base}/v1/shelves/nope`, { headers: { authorization: SECRET } });
  assert.equal(missing.status, 404, missing.text);
});

after(async () => {
  await gateway?.close();
  await backend?.close();
});

describe('metrics on the admin port', () => {
  it('counts requests by route template, method and status (unmatched → "(none)")', async () => {
    const samples = await scrape(gateway);
    const name = 'protogate_http_requests_total';
    assert.equal(value(samples, name, { route: '/v1/{name=shelves/*}', method: 'GET', status: '200' }), 2);
    assert.equal(value(samples, name, { route: '/v1/{name=shelves/*}', method: 'GET', status: '404' }), 1);
    assert.equal(value(samples, name, { route: '(none)', method: 'GET', status: '404' }), 1);
    assert.equal(value(samples, name, { route: '/v1/{parent=shelves/*}/books', method: 'GET', status: '400' }), 1);
    assert.ok(!samples.some((sample) => sample.labels['route']?.includes('nope') || sample.labels['route']?.includes('no/such')), 'raw paths never become labels');
  });

  it('has per-route latency histograms with +Inf buckets equal to the counts', async () => {
    const samples = await scrape(gateway);
    const labels = { route: '/v1/{name=shelves/*}', method: 'GET' };
    assert.equal(value(samples, 'protogate_http_request_duration_seconds_count', labels), 3);
    assert.equal(value(samples, 'protogate_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), 3);
    assert.ok(value(samples, 'protogate_http_request_duration_seconds_sum', labels)! > 0);
    const buckets = samples.filter((s) => s.name === 'protogate_http_request_duration_seconds_bucket' && s.labels['route'] === labels.route);
    assert.ok(buckets.length > 10, 'enough buckets to read P50/P95/P99');
  });

  it('counts and times upstream calls by service, method and code', async () => {
    const samples = await scrape(gateway);
    const rpc = { service: LIBRARY_SERVICE, method: 'GetShelf' };
    assert.equal(value(samples, 'protogate_upstream_calls_total', { ...rpc, code: 'OK' }), 2);
    assert.equal(value(samples, 'protogate_upstream_calls_total', { ...rpc, code: 'NOT_FOUND' }), 1);
    assert.equal(value(samples, 'protogate_upstream_call_duration_seconds_count', rpc), 3);
    // the 400 never reached the upstream
    assert.equal(value(samples, 'protogate_upstream_calls_total', { service: LIBRARY_SERVICE, method: 'ListBooks' }), undefined);
  });

  it('reports in-flight requests, event-loop lag, process metrics and upstream connectivity', async () => {
    const samples = await scrape(gateway);
    assert.equal(value(samples, 'protogate_http_requests_in_flight', {}), 0);
    assert.notEqual(value(samples, 'nodejs_eventloop_lag_seconds', {}), undefined);
    assert.notEqual(value(samples, 'process_cpu_seconds_total', {}), undefined);
    assert.equal(value(samples, 'protogate_upstream_connectivity', { target: `127.0.0.1:${backend.port}`, state: 'ready' }), 1);
  });
});

describe('access log', () => {
  it('writes one line per request with the route template, codes, timing, upstream and bytes', () => {
    const requests = logLines.filter((line) => line['msg'] === 'request');
    assert.equal(requests.length, 5);
    const ok = requests.find((line) => line['requestId'] === 'req-ok-1')!;
    assert.equal(ok['method'], 'GET');
    assert.equal(ok['route'], '/v1/{name=shelves/*}');
    assert.equal(ok['rpc'], `/${LIBRARY_SERVICE}/GetShelf`);
    assert.equal(ok['status'], 200);
    assert.equal(ok['grpcCode'], 0);
    assert.equal(ok['upstream'], `127.0.0.1:${backend.port}`);
    assert.equal(typeof ok['durationMs'], 'number');
    assert.ok((ok['bytes'] as number) > 0);
    const unmatched = requests.find((line) => line['status'] === 404 && line['route'] === '(none)')!;
    assert.equal(unmatched['reason'], 'PG_ROUTE_NOT_FOUND');
    assert.equal(unmatched['grpcCode'], 5);
    const upstream = requests.find((line) => line['status'] === 404 && line['route'] === '/v1/{name=shelves/*}')!;
    assert.equal(upstream['grpcCode'], 5);
    assert.ok(requests.every((line) => typeof line['requestId'] === 'string' && line['requestId'] !== ''));
  });

  it('never logs the Authorization value or the raw path', () => {
    const all = rawLog.join('');
    assert.ok(!all.includes('s3cr3t'), 'token leaked into the log');
    assert.ok(!/authorization/i.test(all));
    assert.ok(!all.includes('/v1/shelves/nope'));
  });

  it('formats lines for a terminal', () => {
    let out = '';
    prettyStream({ write: (text: string) => (out += text) }, false).write(
      JSON.stringify({ level: 30, time: 0, msg: 'request', route: '/v1/{name=shelves/*}', status: 200 }) + '\n',
    );
    assert.equal(out, '00:00:00.000 INFO  request route=/v1/{name=shelves/*} status=200\n');
  });
});

describe('readiness', () => {
  it('is live and ready while the upstream is reachable, and lists upstream states', async () => {
    const health = await fetchJson(`http://127.0.0.1:${gateway.adminPort}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetchJson(`http://127.0.0.1:${gateway.adminPort}/readyz`);
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(ready.json.upstreams, [{ target: `127.0.0.1:${backend.port}`, state: 'ready' }]);
  });

  it('turns 503 when every address of the only upstream fails, while /healthz stays 200', async () => {
    const down = await startTestGateway({
      server: { adminPort: 0 },
      protos: { paths: [bundledProtosDir], files: [LIBRARY_PROTO] },
      upstreams: [{ service: LIBRARY_SERVICE, target: '127.0.0.1:1' }],
    });
    try {
      const admin = `http://127.0.0.1:${down.adminPort}`;
      assert.equal((await fetchJson(`${admin}/readyz`)).status, 200, 'idle before any call');
      const failed = await fetchJson(`${down.base}/v1/shelves/classics`);
      assert.equal(failed.status, 503, failed.text);
      const ready = await fetchJson(`${admin}/readyz`);
      assert.equal(ready.status, 503, ready.text);
      assert.equal(ready.json.status, 'not ready');
      assert.deepEqual(ready.json.upstreams, [{ target: '127.0.0.1:1', state: 'transient-failure' }]);
      assert.equal((await fetchJson(`${admin}/healthz`)).status, 200);
      const samples = await scrape(down);
      assert.equal(value(samples, 'protogate_upstream_calls_total', { service: LIBRARY_SERVICE, method: 'GetShelf', code: 'UNAVAILABLE' }), 1);
    } finally {
      await down.close();
    }
  });

  it('serves no /metrics without an admin port, and collects nothing', async () => {
    const plain = await startTestGateway({
      protos: { paths: [bundledProtosDir], files: [LIBRARY_PROTO] },
      upstreams: [{ service: LIBRARY_SERVICE, target: `127.0.0.1:${backend.port}` }],
    });
    try {
      assert.equal(plain.adminPort, undefined);
      assert.equal((await fetchJson(`${plain.base}/metrics`)).status, 404);
    } finally {
      await plain.close();
    }
  });
});

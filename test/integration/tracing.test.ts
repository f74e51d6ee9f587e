// Tracing (config `tracing`): a real OTLP/HTTP receiver on loopback collects what the gateway's
// exporter sends (JSON), a real grpc-js backend records the `traceparent` it was sent. With
// tracing on, the gateway's SERVER span continues the client's trace, its CLIENT span is the
// server span's child and the backend's parent; with it off, trace headers pass unchanged.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino, { type Logger } from 'pino';
import { configSchema, type GatewayConfigInput } from '../../src/config/config-schema.js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRecordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { startTickerBackend, TICKER_PROTO } from '../helpers/ticker-backend.js';

/** One exported span, flattened from OTLP JSON. */
interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, string | number | boolean>;
  readonly status: { code?: number };
  readonly service: string;
  readonly startMs: number;
  readonly endMs: number;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

interface OtlpReceiver {
  readonly url: string;
  readonly spans: ExportedSpan[];
  readonly contentTypes: string[];
  close(): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpAttribute = { key: string; value: OtlpValue };

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ?? value.doubleValue ?? '';
  }
  return out;
}

const nanosToMs = (nanos: string | number): number => Number(BigInt(nanos) / 1000n) / 1000;

/** An OTLP/HTTP traces endpoint that keeps every span it is sent. */
async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ExportedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      contentTypes.push(req.headers['content-type'] ?? '');
      if (req.url !== '/v1/traces' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ resource: { attributes: OtlpAttribute[] }; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
      };
      for (const resourceSpans of body.resourceSpans) {
        const service = String(attributesOf(resourceSpans.resource.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans) {
          for (const span of scope.spans) {
            spans.push({
              traceId: String(span['traceId']),
              spanId: String(span['spanId']),
              parentSpanId: String(span['parentSpanId'] ?? ''),
              name: String(span['name']),
              kind: Number(span['kind']),
              attributes: attributesOf(span['attributes'] as OtlpAttribute[]),
              status: (span['status'] ?? {}) as { code?: number },
              service,
              startMs: nanosToMs(span['startTimeUnixNano'] as string),
              endMs: nanosToMs(span['endTimeUnixNano'] as string),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN_ID = 'b7ad6b7169203331';
const sampled = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let backend: RecordingBackend;
let receiver: OtlpReceiver;

before(async () => {
  backend = await startRecordingBackend();
  receiver = await startOtlpReceiver();
});
after(async () => {
  await backend?.server.close();
  await receiver?.close();
});

function gatewayWith(tracing: GatewayConfigInput['tracing'], logger?: Logger): Promise<TestGateway> {
  return startTestGateway(
    {
      protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
      upstreams: [{ service: '*', target: backend.server.target }],
      tracing,
    },
    logger,
  );
}

/** The metadata a backend call carried, found by the request id the gateway forwards. */
function arrivalOf(requestId: string): Record<string, string[]> {
  const arrival = backend.arrivals.find((a) => a.metadata['x-request-id']?.[0] === requestId);
  assert.ok(arrival, `the backend saw request ${requestId}`);
  return arrival.metadata;
}

const spansOf = (requestId: string): ExportedSpan[] => {
  const server = receiver.spans.find((span) => span.attributes['protogate.request_id'] === requestId);
  if (server === undefined) return [];
  return [server, ...receiver.spans.filter((span) => span.parentSpanId === server.spanId)];
};

describe('tracing enabled (sampleRatio 1)', () => {
  before(async () => {
    const gateway = await gatewayWith({ enabled: true, otlpEndpoint: receiver.url, serviceName: 'edge-test' });
    const continued = await fetchJson(`${gateway.base}/v1/echo/t1`, {
      headers: { 'x-request-id': 'trace-continued', traceparent: sampled(TRACE_ID, CLIENT_SPAN_ID), tracestate: 'vendor=abc' },
    });
    assert.equal(continued.status, 200);
    assert.equal((await fetchJson(`${gateway.base}/v1/echo/t2`, { headers: { 'x-request-id': 'trace-new' } })).status, 200);
    const failed = await fetchJson(`${gateway.base}/v1/fail/5`, { method: 'POST', json: {}, headers: { 'x-request-id': 'trace-failed' } });
    assert.equal(failed.status, 404);
    const unmatched = await fetchJson(`${gateway.base}/v1/nothing-here`, { headers: { 'x-request-id': 'trace-unmatched', traceparent: sampled(TRACE_ID, CLIENT_SPAN_ID) } });
    assert.equal(unmatched.status, 404);
    // The batch processor waits 5 s before sending: the spans arrive because close flushes them.
    await gateway.close();
  });

  it('exports OTLP JSON with the configured service name', () => {
    assert.ok(receiver.contentTypes.length > 0, 'the exporter sent something');
    for (const type of receiver.contentTypes) assert.match(type, /^application\/json/);
    assert.ok(receiver.spans.every((span) => span.service === 'edge-test'));
  });

  it("continues the client's trace: the SERVER span is the client span's child, with the route's attributes", () => {
    const [server, ...children] = spansOf('trace-continued');
    assert.ok(server, 'a SERVER span was exported');
    assert.equal(server.kind, SPAN_KIND_SERVER);
    assert.equal(server.traceId, TRACE_ID);
    assert.equal(server.parentSpanId, CLIENT_SPAN_ID);
    assert.equal(server.name, 'GET /v1/echo/{id}');
    assert.deepEqual(server.attributes, {
      'http.request.method': 'GET',
      'http.route': '/v1/echo/{id}',
      'http.response.status_code': 200,
      'rpc.system': 'grpc',
      'rpc.service': 'echo.v1.EchoService',
      'rpc.method': 'Echo',
      'rpc.grpc.status_code': 0,
      'protogate.request_id': 'trace-continued',
    });
    assert.notEqual(server.status.code, 2, 'a 200 is not an error');
    assert.equal(children.length, 1, 'one CLIENT span under the SERVER span');
  });

  it('the CLIENT span is the server span\'s child, and the backend got its context', () => {
    const [server, client] = spansOf('trace-continued');
    assert.ok(server && client);
    assert.equal(client.kind, SPAN_KIND_CLIENT);
    assert.equal(client.traceId, TRACE_ID);
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(client.name, 'echo.v1.EchoService/Echo');
    assert.deepEqual(client.attributes, { 'rpc.system': 'grpc', 'rpc.service': 'echo.v1.EchoService', 'rpc.method': 'Echo', 'rpc.grpc.status_code': 0 });
    // the call lies within the request
    assert.ok(client.startMs >= server.startMs && client.endMs <= server.endMs, `client ${client.startMs}..${client.endMs} within server ${server.startMs}..${server.endMs}`);
    const metadata = arrivalOf('trace-continued');
    assert.deepEqual(metadata['traceparent'], [sampled(TRACE_ID, client.spanId)]);
    assert.deepEqual(metadata['tracestate'], ['vendor=abc'], 'tracestate passes unchanged');
  });

  it('a request without traceparent starts a new trace, and the backend joins it', () => {
    const [server, client] = spansOf('trace-new');
    assert.ok(server && client);
    assert.match(server.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(server.traceId, TRACE_ID);
    assert.equal(server.parentSpanId, '', 'a root span');
    assert.equal(client.traceId, server.traceId);
    assert.deepEqual(arrivalOf('trace-new')['traceparent'], [sampled(server.traceId, client.spanId)]);
  });

  it("an upstream error: the CLIENT span carries the call's gRPC code, the SERVER span the HTTP status", () => {
    const [server, client] = spansOf('trace-failed');
    assert.ok(server && client);
    assert.equal(server.name, 'POST /v1/fail/{code}');
    assert.equal(server.attributes['http.response.status_code'], 404);
    assert.equal(server.attributes['rpc.grpc.status_code'], 5);
    assert.notEqual(server.status.code, 2, 'a 4xx is the client\'s error, not the server span\'s');
    assert.equal(client.attributes['rpc.grpc.status_code'], 5);
    assert.equal(client.status.code, 2, 'the CLIENT span is an error');
  });

  it('a request no route matched gets a SERVER span alone, named by its method', () => {
    const spans = spansOf('trace-unmatched');
    assert.equal(spans.length, 1);
    const [server] = spans;
    assert.equal(server!.name, 'GET');
    assert.equal(server!.traceId, TRACE_ID);
    assert.equal(server!.attributes['http.response.status_code'], 404);
    assert.equal(server!.attributes['http.route'], undefined);
  });
});

describe('tracing a server stream', () => {
  it('the CLIENT span lasts the stream (no upstream-call event) and the backend got its context', async () => {
    const ticker = await startTickerBackend();
    try {
      const gateway = await startTestGateway({
        protos: { paths: [testProtosDir], files: [TICKER_PROTO] },
        upstreams: [{ service: '*', target: ticker.target }],
        tracing: { enabled: true, otlpEndpoint: receiver.url },
      });
      const res = await fetchJson(`${gateway.base}/v1/ticks/t?count=3&intervalMs=20`, { headers: { 'x-request-id': 'trace-stream', traceparent: sampled(TRACE_ID, CLIENT_SPAN_ID) } });
      assert.equal(res.status, 200);
      assert.equal(res.text.trim().split('\n').length, 3, 'three NDJSON ticks');
      await gateway.close();
      const [server, client] = spansOf('trace-stream');
      assert.ok(server && client);
      assert.equal(server.name, 'GET /v1/ticks/{name}');
      assert.equal(server.traceId, TRACE_ID);
      assert.equal(client.name, 'stream.v1.TickerService/Tick');
      assert.equal(client.parentSpanId, server.spanId);
      assert.equal(client.attributes['rpc.grpc.status_code'], 0);
      assert.ok(client.endMs - client.startMs >= 30, `the CLIENT span covers the ticks (${client.endMs - client.startMs} ms)`);
      assert.deepEqual(ticker.seenMetadata.at(-1)?.get('traceparent'), [sampled(TRACE_ID, client.spanId)]);
    } finally {
      await ticker.close();
    }
  });
});

describe('tracing enabled, sampleRatio 0 (parent-based)', () => {
  const UNSAMPLED = `00-${TRACE_ID.replace('0a', '1b')}-${CLIENT_SPAN_ID}-00`;
  const SAMPLED_PARENT = sampled(TRACE_ID.replace('0a', '2c'), CLIENT_SPAN_ID);
  before(async () => {
    const gateway = await gatewayWith({ enabled: true, otlpEndpoint: receiver.url, sampleRatio: 0 });
    for (const [id, traceparent] of [['ratio0-unsampled', UNSAMPLED], ['ratio0-none', undefined], ['ratio0-sampled', SAMPLED_PARENT]] as const) {
      const headers: Record<string, string> = { 'x-request-id': id, ...(traceparent === undefined ? {} : { traceparent }) };
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/${id}`, { headers })).status, 200);
    }
    await gateway.close();
  });

  it('records no span for a new or unsampled trace, and forwards the traceparent as it came', () => {
    assert.deepEqual(spansOf('ratio0-unsampled'), []);
    assert.deepEqual(spansOf('ratio0-none'), []);
    assert.deepEqual(arrivalOf('ratio0-unsampled')['traceparent'], [UNSAMPLED]);
    assert.equal(arrivalOf('ratio0-none')['traceparent'], undefined);
  });

  it('records a trace whose parent was sampled, whatever the ratio', () => {
    const [server, client] = spansOf('ratio0-sampled');
    assert.ok(server && client);
    assert.equal(server.traceId, SAMPLED_PARENT.split('-')[1]);
    const sent = arrivalOf('ratio0-sampled')['traceparent']?.[0] ?? '';
    assert.match(sent, TRACEPARENT);
    assert.equal(sent, sampled(server.traceId, client.spanId));
  });
});

describe('tracing off (the default)', () => {
  it('forwards traceparent and tracestate to the backend unchanged, and exports nothing', async () => {
    const before = receiver.spans.length;
    const gateway = await gatewayWith(undefined);
    try {
      const traceparent = sampled(TRACE_ID, CLIENT_SPAN_ID);
      const res = await fetchJson(`${gateway.base}/v1/echo/off`, { headers: { 'x-request-id': 'tracing-off', traceparent, tracestate: 'vendor=xyz,other=1' } });
      assert.equal(res.status, 200);
      const metadata = arrivalOf('tracing-off');
      assert.deepEqual(metadata['traceparent'], [traceparent]);
      assert.deepEqual(metadata['tracestate'], ['vendor=xyz,other=1']);
    } finally {
      await gateway.close();
    }
    assert.equal(receiver.spans.length, before);
  });
});

describe('tracing with the collector down', () => {
  it('serves requests, close ends within the export timeout (5 s), and the lost spans are logged', async () => {
    const down = await startOtlpReceiver();
    await down.close();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const gateway = await gatewayWith({ enabled: true, otlpEndpoint: down.url }, logger);
    const res = await fetchJson(`${gateway.base}/v1/echo/down`, { headers: { 'x-request-id': 'collector-down' } });
    assert.equal(res.status, 200);
    assert.match(arrivalOf('collector-down')['traceparent']?.[0] ?? '', TRACEPARENT);
    const started = performance.now();
    await gateway.close();
    // the exporter retries a refused connection until its timeout, never longer
    assert.ok(performance.now() - started < 8_000, `close took ${Math.round(performance.now() - started)} ms`);
    const warning = lines.find((line) => line['msg'] === 'tracing: spans could not be exported');
    assert.ok(warning, `a warning was logged: ${JSON.stringify(lines)}`);
    assert.equal(warning['endpoint'], down.url);
    assert.equal(warning['lostSpans'], 2, 'the SERVER and the CLIENT span');
  });
});

describe('tracing config', () => {
  it('refuses an endpoint that is not an http(s) URL and a ratio outside 0–1, naming the key', () => {
    const endpoint = configSchema.safeParse({ tracing: { enabled: true, otlpEndpoint: '127.0.0.1:4318' } });
    assert.equal(endpoint.success, false);
    assert.deepEqual(endpoint.error?.issues.map((issue) => [issue.path.join('.'), issue.message]), [
      ['tracing.otlpEndpoint', 'must be an http:// or https:// URL, e.g. "http://127.0.0.1:4318/v1/traces"'],
    ]);
    const ratio = configSchema.safeParse({ tracing: { sampleRatio: 1.5 } });
    assert.deepEqual(ratio.error?.issues.map((issue) => issue.path.join('.')), ['tracing.sampleRatio']);
  });

  it('is off by default, exporting to a local collector at ratio 1 when turned on', () => {
    assert.deepEqual(configSchema.parse({}).tracing, { enabled: false, serviceName: 'protogate', otlpEndpoint: 'http://127.0.0.1:4318/v1/traces', sampleRatio: 1, headers: {} });
  });
});

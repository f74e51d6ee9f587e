// Static fallbacks (config `resilience.fallbacks`) through the whole gateway, against a real
// grpc-js backend on loopback that is stopped and started again: while its breaker is open a
// configured route gets its configured answer (marked, counted, rendered like a real answer), a
// route without one gets 503, a stale-cache entry wins over the fallback, and once the backend is
// back the real answers return. Bad entries are startup errors naming their key.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { parseConfigText, ConfigError } from '../../src/config/load-config.js';
import type { GatewayConfigInput } from '../../src/config/config-schema.js';
import { startGateway } from '../../src/server/start-gateway.js';
import { fetchJson, startTestGateway, testProtosDir, type JsonResponse, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

const ECHO = { paths: [testProtosDir], files: ['echo/v1/echo.proto'] };
const HANDLERS = { '/echo.v1.EchoService/Echo': (request: Buffer) => request };
// no retries, so each request is one breaker outcome; two failures open it for 300 ms
const RESILIENCE = { retry: { maxRetries: 0 }, breaker: { failureThreshold: 2, cooldown: '300ms' } };
const FALLBACKS = {
  EchoService_Echo: { body: { id: 'fallback', count: 7, big: '9007199254740993' }, headers: { 'x-served-by': 'fallback' } },
};

function fallbackGateway(backend: RunningGrpcServer, extra: Partial<GatewayConfigInput> = {}): Promise<TestGateway> {
  return startTestGateway({ protos: ECHO, upstreams: [{ service: '*', target: backend.target }], server: { adminPort: 0 }, ...extra });
}

/** Requests until the breaker opens: the first failures are plain 503s (one refused connection is no outage). */
async function openBreaker(url: string): Promise<JsonResponse[]> {
  const answers: JsonResponse[] = [];
  for (let i = 0; i < 2; i++) answers.push(await fetchJson(url));
  return answers;
}

async function scrape(gateway: TestGateway, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('static fallbacks: the backend stops and comes back', () => {
  let backend: RunningGrpcServer;
  let gateway: TestGateway;

  before(async () => {
    backend = await startRawGrpcServer(HANDLERS);
    gateway = await fallbackGateway(backend, { resilience: { ...RESILIENCE, fallbacks: FALLBACKS } });
  });
  after(async () => {
    await gateway?.close();
    await backend?.close();
  });

  it('answers from the backend while it is up, unmarked', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/a`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, 'a');
    assert.equal(res.headers.get('x-protogate-fallback'), null);
  });

  it('serves the configured answer once the breaker is open, marked and counted; 503 before and for routes without one', async () => {
    const port = backend.port;
    await backend.close();
    const first = await openBreaker(`${gateway.base}/v1/echo/a`);
    assert.deepEqual(first.map((res) => [res.status, res.headers.get('x-protogate-fallback')]), [[503, null], [503, null]], 'a failed call is not an outage');

    const before = await scrape(gateway, 'protogate_fallback_answers_total', 'route="/v1/echo/{id}",method="GET"');
    const res = await fetchJson(`${gateway.base}/v1/echo/a`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-protogate-fallback'), 'static');
    assert.equal(res.headers.get('x-served-by'), 'fallback');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('etag'), null, 'a canned answer gets no entity tag');
    // rendered like a real answer: canonical JSON, defaults emitted, int64 as a string
    assert.equal(res.json.id, 'fallback');
    assert.equal(res.json.count, 7);
    assert.equal(res.json.big, '9007199254740993');
    assert.equal(res.json.flag, false);
    assert.equal(await scrape(gateway, 'protogate_fallback_answers_total', 'route="/v1/echo/{id}",method="GET"'), before + 1);

    // additional bindings follow their rpc; response_body selects from the fallback as from an answer
    const count = await fetchJson(`${gateway.base}/v1/echo/a/count`);
    assert.equal(count.status, 200, count.text);
    assert.equal(count.text, '7');
    const posted = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'p' } });
    assert.equal(posted.status, 200, posted.text);
    assert.equal(posted.headers.get('x-protogate-fallback'), 'static');
    // Fail has no fallback: the open breaker's 503
    const failed = await fetchJson(`${gateway.base}/v1/fail/3`, { method: 'POST', json: {} });
    assert.equal(failed.status, 503, failed.text);
    assert.equal(failed.headers.get('x-protogate-fallback'), null);

    // the backend returns on its port: after a cooldown a probe that reaches it closes the breaker
    // (a probe may still meet the channel's reconnect backoff: that 503 reopens it for a cooldown)
    backend = await startRawGrpcServer(HANDLERS, port);
    let back: JsonResponse | undefined;
    for (let i = 0; i < 200; i++) {
      back = await fetchJson(`${gateway.base}/v1/echo/b`);
      if (back.status === 200 && back.headers.get('x-protogate-fallback') === null) break;
      await sleep(50);
    }
    assert.equal(back?.status, 200, back?.text);
    assert.equal(back?.headers.get('x-protogate-fallback'), null);
    assert.equal(back?.json.id, 'b');
  });
});

describe('static fallbacks with the stale cache', () => {
  it('serves a kept answer first, the fallback for URLs the cache does not hold', async () => {
    const backend = await startRawGrpcServer(HANDLERS);
    const gateway = await fallbackGateway(backend, { resilience: { ...RESILIENCE, staleCache: { enabled: true }, fallbacks: FALLBACKS } });
    try {
      assert.equal((await fetchJson(`${gateway.base}/v1/echo/kept`)).json.id, 'kept');
      await backend.close();
      await openBreaker(`${gateway.base}/v1/echo/other`);
      const kept = await fetchJson(`${gateway.base}/v1/echo/kept`);
      assert.equal(kept.json.id, 'kept');
      assert.match(kept.headers.get('cache-status') ?? '', /stale-upstream-unavailable/);
      assert.equal(kept.headers.get('x-protogate-fallback'), null);
      const other = await fetchJson(`${gateway.base}/v1/echo/other`);
      assert.equal(other.json.id, 'fallback');
      assert.equal(other.headers.get('x-protogate-fallback'), 'static');
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});

describe('static fallbacks: config checks', () => {
  let backend: RunningGrpcServer;
  before(async () => {
    backend = await startRawGrpcServer(HANDLERS);
  });
  after(async () => {
    await backend?.close();
  });

  const startWith = (fallbacks: Record<string, unknown>) => fallbackGateway(backend, { resilience: { fallbacks } as GatewayConfigInput['resilience'] });

  it('rejects a key that names no served operationId or service', async () => {
    await assert.rejects(startWith({ EchoService_Nope: {} }), /resilience\.fallbacks\.EchoService_Nope: names no served operationId or service/);
  });

  it('rejects a body that is not the response message, naming the key and the field', async () => {
    await assert.rejects(startWith({ EchoService_Echo: { body: { count: 'many' } } }), (error: Error) => {
      assert.match(error.message, /^resilience\.fallbacks\.EchoService_Echo\.body: /);
      assert.match(error.message, /count/);
      assert.match(error.message, /echo\.v1\.EchoMessage/);
      return true;
    });
    await assert.rejects(startWith({ 'echo.v1.EchoService': { body: { colour: 'red' } } }), /resilience\.fallbacks\.echo\.v1\.EchoService\.body: .*colour/);
  });

  it('reports, from a config file, the line and column of an unknown key and of a body that does not encode', async () => {
    const startFromFile = (fallbacks: string) => {
      const text = `protos: { paths: [${JSON.stringify(ECHO.paths[0])}], files: [echo/v1/echo.proto] }
server: { host: 127.0.0.1, port: 0 }
upstreams: { "*": ${backend.target} }
resilience:
  fallbacks:
${fallbacks}`;
      return startGateway(parseConfigText(text, '/etc/protogate.yaml'), pino({ level: 'silent' }));
    };
    await assert.rejects(startFromFile('    EchoService_Echo: {}\n    EchoService_Nope: {}\n'), /^StartupError: \/etc\/protogate\.yaml:7:5: resilience\.fallbacks\.EchoService_Nope: names no served/);
    await assert.rejects(
      startFromFile('    EchoService_Echo:\n      status: 200\n      body: { id: x, count: many }\n'),
      /^StartupError: \/etc\/protogate\.yaml:8:7: resilience\.fallbacks\.EchoService_Echo\.body: .*count/,
    );
  });

  it('accepts a service key and an empty body', async () => {
    const gateway = await startWith({ 'echo.v1.EchoService': {} });
    await gateway.close();
  });

  it('rejects, with file:line:col, a status without a body and headers the gateway sets', () => {
    const text = `resilience:
  fallbacks:
    EchoService_Echo:
      status: 204
      headers: { content-type: text/plain }
`;
    assert.throws(
      () => parseConfigText(text, 'protogate.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(error.problems.some((p) => p.startsWith('protogate.yaml:4:') && p.includes('resilience.fallbacks.EchoService_Echo.status')), error.message);
        assert.ok(error.problems.some((p) => p.startsWith('protogate.yaml:5:') && p.includes('is set by the gateway itself')), error.message);
        return true;
      },
    );
  });
});

// CORS over real HTTP against the demo backend: preflights answered by the gateway (allowed,
// denied by origin, method or header, 404 without a route) never reach the backend; actual
// responses to an allowed origin carry the CORS headers on 200s and on JSON errors; without the
// `cors` key no CORS header is written at all.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { startLibraryBackend, type LibraryBackend } from '../../src/demo/library-backend.js';
import { bundledProtosDir } from '../../src/package-paths.js';
import type { GatewayConfigInput } from '../../src/config/config-schema.js';
import type { UpstreamCallEvent } from '../../src/observability/request-events.js';
import { fetchJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.com';
let backend: LibraryBackend;
let withCors: TestGateway;
let withoutCors: TestGateway;
let upstreamCalls = 0;
const countCalls = (message: unknown) => {
  if ((message as UpstreamCallEvent).source === withCors.pipeline) upstreamCalls++;
};

async function gateway(input: GatewayConfigInput): Promise<TestGateway> {
  return startTestGateway({
    protos: { paths: [bundledProtosDir], files: ['library/v1/library.proto'] },
    upstreams: [{ service: 'library.v1.LibraryService', target: `127.0.0.1:${backend.port}` }],
    ...input,
  });
}

before(async () => {
  backend = await startLibraryBackend({ port: 0 });
  withCors = await gateway({ cors: { allowOrigins: [APP], allowCredentials: true } });
  withoutCors = await gateway({});
  subscribe('protogate:upstream-call', countCalls);
});

after(async () => {
  unsubscribe('protogate:upstream-call', countCalls);
  await withCors?.close();
  await withoutCors?.close();
  await backend?.close();
});

function preflight(base: string, path: string, origin: string, method: string, headers?: string) {
  return fetchJson(`${base}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      ...(headers === undefined ? {} : { 'access-control-request-headers': headers }),
    },
  });
}

describe('CORS preflight', () => {
  it('allowed origin, route and headers → 204 with the CORS answer, no backend call', async () => {
    const before = upstreamCalls;
    const res = await preflight(withCors.base, '/v1/shelves', APP, 'POST', 'content-type,x-request-id');
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('access-control-allow-origin'), APP);
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type, authorization, x-request-id, grpc-timeout, traceparent');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(res.headers.get('access-control-max-age'), '600');
    assert.equal(res.headers.get('content-length'), null, 'RFC 9110: no Content-Length on a 204');
    assert.ok(res.headers.get('x-request-id'));
    assert.equal(upstreamCalls, before);
  });

  it('templated paths: the methods of the matching routes', async () => {
    const res = await preflight(withCors.base, '/v1/shelves/1/books/2', APP, 'PATCH');
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-methods'), 'DELETE, GET, PATCH');
  });

  it('a disallowed origin → 403 PERMISSION_DENIED, no CORS headers, no backend call', async () => {
    const before = upstreamCalls;
    const res = await preflight(withCors.base, '/v1/shelves', EVIL, 'POST', 'content-type');
    assert.equal(res.status, 403);
    assert.equal(res.json.code, 7);
    assert.equal(res.json.status, 'PERMISSION_DENIED');
    assert.match(res.json.message, /"https:\/\/evil\.example\.com" is not allowed by cors\.allowOrigins/);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.equal(upstreamCalls, before);
  });

  it('a request header not allowed → 403 naming it', async () => {
    const res = await preflight(withCors.base, '/v1/shelves', APP, 'POST', 'content-type, x-api-secret');
    assert.equal(res.status, 403);
    assert.equal(res.json.code, 7);
    assert.match(res.json.message, /"x-api-secret"/);
  });

  it('a method the path does not answer → 403 naming the allowed methods', async () => {
    const res = await preflight(withCors.base, '/v1/shelves', APP, 'DELETE');
    assert.equal(res.status, 403);
    assert.match(res.json.message, /DELETE is not allowed on \/v1\/shelves; allowed: GET, POST/);
  });

  it('a path without a route → the usual 404 JSON', async () => {
    const res = await preflight(withCors.base, '/v1/nowhere', APP, 'GET');
    assert.equal(res.status, 404);
    assert.equal(res.json.code, 5);
    assert.equal(res.json.status, 'NOT_FOUND');
  });
});

describe('CORS on actual responses', () => {
  const expectCors = (headers: Headers) => {
    assert.equal(headers.get('access-control-allow-origin'), APP);
    assert.equal(headers.get('vary'), 'Origin');
    assert.equal(headers.get('access-control-expose-headers'), 'x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, ratelimit-policy, retry-after');
    assert.equal(headers.get('access-control-allow-credentials'), 'true');
  };

  it('200 from an allowed origin', async () => {
    const res = await fetchJson(`${withCors.base}/v1/shelves`, { method: 'POST', headers: { origin: APP }, json: { shelf: { theme: 'CORS' } } });
    assert.equal(res.status, 200);
    assert.equal(res.json.theme, 'CORS');
    expectCors(res.headers);
  });

  it('404 and 400 JSON errors too, so the page can read them', async () => {
    const notFound = await fetchJson(`${withCors.base}/v1/shelves/no-such-shelf`, { headers: { origin: APP } });
    assert.equal(notFound.status, 404);
    assert.equal(notFound.json.status, 'NOT_FOUND');
    expectCors(notFound.headers);
    const bad = await fetchJson(`${withCors.base}/v1/shelves?nope=1`, { headers: { origin: APP } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 3);
    expectCors(bad.headers);
  });

  it('errors answered outside the pipeline (414) too', async () => {
    const res = await fetchJson(`${withCors.base}/v1/shelves?${'a'.repeat(9000)}`, { headers: { origin: APP } });
    assert.equal(res.status, 414);
    expectCors(res.headers);
  });

  it('a disallowed origin is served, without CORS headers (the browser withholds the answer)', async () => {
    const res = await fetchJson(`${withCors.base}/v1/shelves`, { headers: { origin: EVIL } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('vary'), 'Origin');
  });

  it('without the cors key: no CORS header on preflights or actual responses', async () => {
    const pre = await preflight(withoutCors.base, '/v1/shelves', APP, 'POST', 'content-type');
    assert.equal(pre.status, 405, 'OPTIONS is an ordinary method without CORS');
    const res = await fetchJson(`${withoutCors.base}/v1/shelves`, { headers: { origin: APP } });
    assert.equal(res.status, 200);
    for (const response of [pre, res]) {
      for (const name of response.headers.keys()) assert.ok(!name.startsWith('access-control-'), name);
      assert.equal(response.headers.get('vary'), null);
    }
  });
});

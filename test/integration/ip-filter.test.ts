// The IP filter and trusted proxies over real sockets, with a real grpc-js backend that counts
// the calls it receives: refused clients get 403 code 7 PG_IP_DENIED (with CORS headers) and
// never reach it; X-Forwarded-For is read only from trusted proxies, from the right; a
// dual-stack listener's IPv4-mapped peers match IPv4 ranges.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

const ORIGIN = 'https://app.example.com';
let backend: RunningGrpcServer;
let backendCalls = 0;
const gateways: TestGateway[] = [];

before(async () => {
  backend = await startRawGrpcServer({
    '/echo.v1.EchoService/Echo': (request) => {
      backendCalls++;
      return request;
    },
  });
});
after(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  await backend?.close();
});

async function gatewayWith(extra: Record<string, unknown>): Promise<TestGateway> {
  const gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
    upstreams: [{ service: '*', target: backend.target }],
    cors: { allowOrigins: [ORIGIN] },
    ...extra,
  });
  gateways.push(gateway);
  return gateway;
}

/** GET through node:http from a chosen local address family. */
function get(port: number, host: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ipFilter', () => {
  it('refuses a denied address with 403 code 7 before routing, with CORS headers, never calling the backend', async () => {
    const gateway = await gatewayWith({ ipFilter: { deny: ['127.0.0.0/8'] } });
    const calls = backendCalls;
    const res = await get(gateway.port, '127.0.0.1', '/v1/echo/a', { origin: ORIGIN });
    assert.equal(res.status, 403);
    assert.equal(res.json.code, 7);
    assert.equal(res.json.status, 'PERMISSION_DENIED');
    assert.equal(res.json.details[0].reason, 'PG_IP_DENIED');
    assert.match(res.json.message, /"127\.0\.0\.1" is in ipFilter\.deny/);
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    // before routing: a path without a route is refused the same way, not answered 404
    assert.equal((await get(gateway.port, '127.0.0.1', '/no/such/route')).status, 403);
    assert.equal(backendCalls, calls);
  });

  it('serves only the allow list, and deny wins over allow', async () => {
    const allowed = await gatewayWith({ ipFilter: { allow: ['127.0.0.0/8'] } });
    assert.equal((await get(allowed.port, '127.0.0.1', '/v1/echo/a')).status, 200);
    const notListed = await gatewayWith({ ipFilter: { allow: ['10.0.0.0/8', '2001:db8::/32'] } });
    const refused = await get(notListed.port, '127.0.0.1', '/v1/echo/a');
    assert.equal(refused.status, 403);
    assert.match(refused.json.message, /is not in ipFilter\.allow/);
    const both = await gatewayWith({ ipFilter: { allow: ['127.0.0.0/8'], deny: ['127.0.0.1'] } });
    assert.equal((await get(both.port, '127.0.0.1', '/v1/echo/a')).status, 403);
  });

  it('matches IPv4-mapped peers of a dual-stack listener against IPv4 ranges, and IPv6 peers against IPv6 ranges', async () => {
    const gateway = await gatewayWith({ server: { host: '::' }, ipFilter: { deny: ['127.0.0.0/8'] } });
    // the socket reports ::ffff:127.0.0.1 for this one
    const v4 = await get(gateway.port, '127.0.0.1', '/v1/echo/a');
    assert.equal(v4.status, 403);
    assert.match(v4.json.message, /::ffff:127\.0\.0\.1/);
    assert.equal((await get(gateway.port, '::1', '/v1/echo/a')).status, 200);
    const v6deny = await gatewayWith({ server: { host: '::' }, ipFilter: { deny: ['::1'] } });
    assert.equal((await get(v6deny.port, '::1', '/v1/echo/a')).status, 403);
    assert.equal((await get(v6deny.port, '127.0.0.1', '/v1/echo/a')).status, 200);
  });
});

describe('trusted proxies', () => {
  it('takes the client from X-Forwarded-For only when the peer is trusted, rightmost untrusted first', async () => {
    // the loopback peer plays the trusted proxy; 10.0.0.0/8 is the only allowed client range
    const gateway = await gatewayWith({ server: { trustedProxies: ['127.0.0.1', '192.168.0.0/16'] }, ipFilter: { allow: ['10.0.0.0/8'] } });
    const cases: Array<[xff: string | undefined, status: number]> = [
      [undefined, 403], // no header: the proxy itself is the client
      ['10.1.2.3', 200],
      ['10.1.2.3, 192.168.7.7', 200], // a second trusted hop is skipped
      ['203.0.113.9, 10.1.2.3', 200], // a forged entry left of the real client changes nothing
      ['10.1.2.3, 203.0.113.9', 403], // a client cannot prepend an allowed address
      ['10.1.2.3, not-an-ip', 403], // malformed: the walk stops at the trusted peer
      ['::ffff:10.9.9.9', 200],
    ];
    for (const [xff, status] of cases) {
      const headers: Record<string, string> = xff === undefined ? {} : { 'x-forwarded-for': xff };
      const res = await get(gateway.port, '127.0.0.1', '/v1/echo/a', headers);
      assert.equal(res.status, status, `X-Forwarded-For: ${xff}`);
    }
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const gateway = await gatewayWith({ server: { trustedProxies: ['192.168.0.0/16'] }, ipFilter: { allow: ['10.0.0.0/8'] } });
    const res = await get(gateway.port, '127.0.0.1', '/v1/echo/a', { 'x-forwarded-for': '10.1.2.3' });
    assert.equal(res.status, 403);
    assert.match(res.json.message, /"127\.0\.0\.1"/);
  });
});

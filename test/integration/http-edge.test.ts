// Requests Node's HTTP parser or the server layer refuses before any route runs still get the
// JSON google.rpc.Status body (DESIGN §4): oversized headers (431), long URLs (414), malformed
// requests (400).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, it } from 'node:test';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';

let gateway: TestGateway;

before(async () => {
  gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
    upstreams: [{ service: '*', target: '127.0.0.1:1' }],
    limits: { maxHeaderBytes: 2048, maxUrlBytes: 256 },
    server: { adminPort: 0 },
  });
});
after(async () => {
  await gateway?.close();
});

/** Sends raw bytes and returns the whole answer once the server closes or answers. */
function rawRequest(text: string): Promise<{ status: number; body: string; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gateway.port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(data)?.[1];
      if (end >= 0 && length !== undefined && data.length >= end + 4 + Number(length)) socket.destroy();
    });
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4), raw: data });
    });
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
  });
}

function assertStatusBody(body: string, code: number): void {
  const json = JSON.parse(body) as { code: number; status: string; message: string };
  assert.equal(json.code, code);
  assert.equal(typeof json.status, 'string');
  assert.equal(typeof json.message, 'string');
}

it('answers oversized headers with 431 and a JSON Status', async () => {
  const res = await rawRequest(`GET /v1/echo/a HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`);
  assert.equal(res.status, 431, res.raw.slice(0, 200));
  assertStatusBody(res.body, 3);
});

it('answers a malformed request with 400 and a JSON Status', async () => {
  const res = await rawRequest('GET /v1/echo/a HTTP/1.1\r\nHost: x\r\nBad Header Name: y\r\n\r\n');
  assert.equal(res.status, 400, res.raw.slice(0, 200));
  assertStatusBody(res.body, 3);
});

it('answers a request smuggling shape (Content-Length with Transfer-Encoding) with 400 JSON', async () => {
  const res = await rawRequest('POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.equal(res.status, 400, res.raw.slice(0, 200));
  assertStatusBody(res.body, 3);
});

it('answers a URL over the limit with 414 and a JSON Status', async () => {
  const res = await fetchJson(`${gateway.base}/v1/echo/${'a'.repeat(400)}`);
  assert.equal(res.status, 414);
  assert.equal(res.json.code, 3);
});

it('answers malformed percent-encoding in the path with 400 JSON', async () => {
  const res = await fetchJson(`${gateway.base}/v1/echo/%zz`);
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.status, 'INVALID_ARGUMENT');
});

it('serves /healthz and /readyz on the admin port', async () => {
  const admin = `http://127.0.0.1:${gateway.adminPort}`;
  assert.equal((await fetchJson(`${admin}/healthz`)).status, 200);
  const ready = await fetchJson(`${admin}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(ready.json.status, 'ready');
});

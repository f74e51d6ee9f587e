// Traffic hygiene over real sockets, with a real grpc-js backend that echoes the assembled
// request: response compression (Accept-Encoding), compressed request bodies (gzip bombs
// included), the JSON field-count and query-parameter limits, 413 without reading the body,
// and refusals before routing being counted in the metrics and carrying CORS headers.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

const ORIGIN = 'https://app.example.com';
const MAX_BODY = 64 * 1024;
let backend: RunningGrpcServer;
let gateway: TestGateway;
let backendCalls = 0;

before(async () => {
  backend = await startRawGrpcServer({
    '/echo.v1.EchoService/Echo': (request) => {
      backendCalls++;
      return request;
    },
  });
  gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
    upstreams: [{ service: '*', target: backend.target }],
    limits: { maxBodyBytes: MAX_BODY, maxHeaderBytes: 64 * 1024, maxUrlBytes: 60 * 1024, maxQueryParams: 3000 },
    json: { maxFields: 1000 },
    cors: { allowOrigins: [ORIGIN] },
    server: { adminPort: 0 },
  });
});
after(async () => {
  await gateway?.close();
  await backend?.close();
});

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** node:http, so the body arrives as sent (fetch would decompress it). */
function request(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: gateway.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function json(response: RawResponse): any {
  return JSON.parse(response.body.toString('utf8'));
}

/** A body whose echoed reply is about `approxBytes` long, in few JSON fields (json.maxFields is 1000 here). */
function wordsBody(approxBytes: number): string {
  const words = Array.from({ length: Math.ceil(approxBytes / 12) }, (_, i) => `word-${(i * 7919) % 997}`);
  return JSON.stringify({ id: 'x', words: Array.from({ length: 10 }, (_, i) => words.slice((i * words.length) / 10, ((i + 1) * words.length) / 10).join(' ')) });
}

describe('response compression', () => {
  it('compresses a large reply with br when the client prefers it, with Vary and the compressed Content-Length', async () => {
    const body = wordsBody(4000);
    const res = await request('POST', '/v1/echo', { 'content-type': 'application/json', 'accept-encoding': 'gzip, deflate, br' }, body);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.match(String(res.headers.vary), /Accept-Encoding/);
    assert.equal(Number(res.headers['content-length']), res.body.length);
    const plain = zlib.brotliDecompressSync(res.body).toString('utf8');
    assert.ok(res.body.length < plain.length / 3, `${res.body.length} of ${plain.length}`);
    assert.deepEqual(JSON.parse(plain).words, JSON.parse(body).words);
  });

  it('honours q-values: br refused with q=0 → gzip; a body over the async threshold too', async () => {
    const body = wordsBody(40_000);
    const res = await request('POST', '/v1/echo', { 'content-type': 'application/json', 'accept-encoding': 'br;q=0, gzip;q=0.5' }, body);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(Number(res.headers['content-length']), res.body.length);
    assert.deepEqual(JSON.parse(zlib.gunzipSync(res.body).toString('utf8')).words.length, JSON.parse(body).words.length);
  });

  it('sends identity without Accept-Encoding, for identity only, and for codings it does not offer — with Vary', async () => {
    const body = wordsBody(4000);
    for (const accept of [undefined, 'identity', 'deflate', '*;q=0']) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (accept !== undefined) headers['accept-encoding'] = accept;
      const res = await request('POST', '/v1/echo', headers, body);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], undefined, String(accept));
      assert.match(String(res.headers.vary), /Accept-Encoding/);
      assert.equal(Number(res.headers['content-length']), res.body.length);
      assert.equal(json(res).id, 'x');
    }
  });

  it('leaves small replies alone (no encoding, no Vary)', async () => {
    const res = await request('GET', '/v1/echo/small', { 'accept-encoding': 'br, gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.doesNotMatch(String(res.headers.vary), /Accept-Encoding/);
    assert.equal(json(res).id, 'small');
  });

  it('keeps CORS Vary: Origin beside Accept-Encoding, and fetch reads the compressed reply', async () => {
    const body = wordsBody(4000);
    const res = await fetch(`${gateway.base}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN, 'accept-encoding': 'gzip' },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    assert.deepEqual(res.headers.get('vary')?.split(/,\s*/).sort(), ['Accept-Encoding', 'Origin']);
    assert.equal(((await res.json()) as { id: string }).id, 'x');
  });

  it('never compresses a 204 preflight answer', async () => {
    const res = await request('OPTIONS', '/v1/echo', { origin: ORIGIN, 'access-control-request-method': 'POST', 'accept-encoding': 'gzip' });
    assert.equal(res.status, 204);
    assert.equal(res.headers['content-encoding'], undefined);
  });
});

describe('compressed request bodies', () => {
  const text = JSON.stringify({ id: 'zipped', words: ['a', 'b'] });
  const codings: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', (b) => zlib.gzipSync(b)],
    ['deflate', (b) => zlib.deflateSync(b)],
    ['br', (b) => zlib.brotliCompressSync(b)],
    ['gzip, br', (b) => zlib.brotliCompressSync(zlib.gzipSync(b))], // applied left to right
  ];
  for (const [coding, encode] of codings) {
    it(`decodes Content-Encoding: ${coding}`, async () => {
      const res = await request('POST', '/v1/echo', { 'content-type': 'application/json', 'content-encoding': coding }, encode(Buffer.from(text)));
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(json(res), { ...json(res), id: 'zipped', words: ['a', 'b'] });
    });
  }

  it('stops a gzip bomb (10 MB of zeros in ~10 KB) at limits.maxBodyBytes with 413, never reaching the backend', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024), { level: 9 });
    assert.ok(bomb.length < 16 * 1024, `bomb is ${bomb.length} bytes`);
    const calls = backendCalls;
    const res = await request('POST', '/v1/echo', { 'content-type': 'application/json', 'content-encoding': 'gzip', origin: ORIGIN }, bomb);
    assert.equal(res.status, 413);
    const status = json(res);
    assert.equal(status.code, 3);
    assert.equal(status.details[0].reason, 'PG_BODY_TOO_LARGE');
    assert.match(status.message, new RegExp(`decompressed request body is larger than ${MAX_BODY} bytes`));
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(backendCalls, calls);
  });

  it('answers an unknown coding with 415, Accept-Encoding and a message naming it', async () => {
    const res = await request('POST', '/v1/echo', { 'content-type': 'application/json', 'content-encoding': 'zstd', origin: ORIGIN }, 'xxxx');
    assert.equal(res.status, 415);
    assert.equal(res.headers['accept-encoding'], 'gzip, deflate, br');
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    const status = json(res);
    assert.equal(status.details[0].reason, 'PG_UNSUPPORTED_CONTENT_ENCODING');
    assert.match(status.message, /"zstd" is not supported/);
  });

  it('undoes at most two codings (a body nested many times would cost a decompression each)', async () => {
    let nested = Buffer.from(text);
    for (let i = 0; i < 3; i++) nested = zlib.gzipSync(nested);
    const res = await request('POST', '/v1/echo', { 'content-type': 'application/json', 'content-encoding': 'gzip, gzip, gzip' }, nested);
    assert.equal(res.status, 415);
    assert.match(json(res).message, /lists 3 codings; at most 2 are undone/);
  });

  it('answers corrupt or truncated data with 400', async () => {
    const truncated = zlib.gzipSync(Buffer.from(text)).subarray(0, 12);
    for (const [coding, bytes] of [['gzip', Buffer.from('not gzip at all')], ['gzip', truncated], ['br', Buffer.from([0xff, 0xff, 0xff])]] as const) {
      const res = await request('POST', '/v1/echo', { 'content-type': 'application/json', 'content-encoding': coding }, bytes);
      assert.equal(res.status, 400, coding);
      assert.equal(json(res).details[0].reason, 'PG_BAD_CONTENT_ENCODING');
    }
  });
});

describe('JSON and query limits', () => {
  it('answers a body over json.maxFields with 400 naming the limit; at the limit it is served', async () => {
    // {"id": …, "words": [...]}: 2 members + the elements
    const at = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'a', words: Array.from({ length: 998 }, () => 'w') } });
    assert.equal(at.status, 200, at.text);
    const over = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'a', words: Array.from({ length: 999 }, () => 'w') } });
    assert.equal(over.status, 400);
    assert.equal(over.json.details[0].fieldViolations[0].description, 'the JSON body has more than 1000 object members and array elements (limit json.maxFields)');
    const nested = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'a', extra: { list: Array.from({ length: 600 }, () => ({ k: 1 })) } } });
    assert.equal(nested.status, 400, 'members of nested objects count too');
  });

  it('serves thousands of query parameters, and answers more than limits.maxQueryParams with 400', async () => {
    const words = Array.from({ length: 2999 }, (_, i) => `words=w${i}`).join('&');
    const ok = await fetchJson(`${gateway.base}/v1/echo/q?${words}`);
    assert.equal(ok.status, 200, ok.text.slice(0, 200));
    assert.equal(ok.json.words.length, 2999);
    const over = await fetchJson(`${gateway.base}/v1/echo/q?${words}&words=a&words=b`);
    assert.equal(over.status, 400, over.text.slice(0, 300));
    assert.equal(over.json.details[0].reason, 'PG_TOO_MANY_QUERY_PARAMS');
    assert.match(over.json.message, /3001 parameters; at most 3000/);
  });
});

/** Writes `head` (and optionally more) on a raw socket; resolves with everything read until the server closes. */
function rawExchange(head: string, feed?: (socket: net.Socket) => void): Promise<{ status: number; raw: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gateway.port, '127.0.0.1', () => {
      socket.write(head);
      feed?.(socket);
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // the server may reset a socket we are still writing to; what it answered still counts
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), raw: data, closed: true }));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer and no close within 10 s')));
  });
}

describe('413 without reading the whole body', () => {
  it('answers a Content-Length over the limit at once, before any body byte is sent, and closes', async () => {
    const res = await rawExchange(
      `POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: big-1\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    assert.equal(res.status, 413, res.raw.slice(0, 200));
    assert.match(res.raw, /connection: close/i);
    assert.match(res.raw, /x-request-id: big-1/i);
    const body = JSON.parse(res.raw.slice(res.raw.indexOf('\r\n\r\n') + 4));
    assert.equal(body.details[0].reason, 'PG_BODY_TOO_LARGE');
  });

  it('stops a chunked body once it passes the limit, while the client is still sending', async () => {
    const chunk = 'a'.repeat(16 * 1024);
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    const res = await rawExchange('POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', (socket) => {
      // an endless body, one chunk every few ms; only the server's answer and close end it
      timer = setInterval(() => {
        if (socket.writable) {
          socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
          sent += chunk.length;
        }
      }, 2);
    });
    clearInterval(timer);
    assert.equal(res.status, 413, res.raw.slice(0, 200));
    assert.ok(sent > MAX_BODY, `answered after ${sent} bytes`);
  });
});

describe('refusals before routing in the metrics', () => {
  it('counts 413 and 431 answers in protogate_http_requests_total', async () => {
    const before = await metrics();
    await request('POST', '/v1/echo', { 'content-type': 'application/json', 'content-length': String(MAX_BODY + 1) }, Buffer.alloc(MAX_BODY + 1)).catch(() => undefined);
    await rawExchange(`GET /v1/echo/a HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`);
    const afterText = await metrics();
    assert.equal(counter(afterText, 'route="(none)",method="POST",status="413"') - counter(before, 'route="(none)",method="POST",status="413"'), 1);
    assert.equal(counter(afterText, 'method="(unparsed)",status="431"') - counter(before, 'method="(unparsed)",status="431"'), 1);
    assert.match(afterText, /^protogate_http_requests_in_flight 0$/m);
  });
});

describe('URLs the router refuses', () => {
  it('answer 400 JSON with x-request-id and CORS headers, counted in the metrics', async () => {
    const before = await metrics();
    const res = await request('GET', '/v1/echo/%zz', { origin: ORIGIN, 'x-request-id': 'bad-url-1' });
    assert.equal(res.status, 400);
    assert.equal(json(res).details[0].reason, 'PG_BAD_PATH');
    assert.equal(res.headers['x-request-id'], 'bad-url-1');
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    const labels = 'route="(none)",method="GET",status="400"';
    assert.equal(counter(await metrics(), labels) - counter(before, labels), 1);
  });
});

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
}

function counter(text: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith('protogate_http_requests_total{') && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

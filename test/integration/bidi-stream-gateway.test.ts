// Bidirectional streams end to end over one HTTP/1.1 request: an NDJSON body in, NDJSON (or SSE)
// out, through the real gateway to a real grpc-js echo backend (stream/v1/relay.proto `Chat`).
// The client reads the answer to line 1 before it writes line 2 (full duplex); errors before the
// first answer are HTTP errors, later ones in-band records; a client that goes away cancels the
// call at the backend.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { RELAY_PROTO, startRelayBackend, type RelayBackend } from '../helpers/relay-backend.js';
import { startStreamingRequest } from '../helpers/streaming-request.js';

const NDJSON = { 'content-type': 'application/x-ndjson' };

let backend: RelayBackend;

before(async () => {
  backend = await startRelayBackend();
});

after(async () => {
  await backend.close();
});

for (const transport of ['wire', 'http2', 'grpc-js'] as const) {
  describe(`bidirectional streams through the gateway (${transport} transport)`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway({
        protos: { paths: [testProtosDir], files: [RELAY_PROTO] },
        upstreams: [{ service: '*', target: backend.target }],
        upstream: { transport },
      });
    });
    after(async () => {
      await gateway.close();
    });
    const chat = (headers: Record<string, string> = {}) => startStreamingRequest(`${gateway.base}/v1/channels/room:chat`, { ...NDJSON, ...headers });

    it('full duplex: the answer to line 1 arrives before line 2 is written; the end of the body ends the stream', async () => {
      const exchange = chat();
      await exchange.write('{"text":"one"}\n');
      const response = await exchange.response;
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'application/x-ndjson');
      assert.deepEqual(JSON.parse((await exchange.nextLine())!), { channel: 'room', text: 'echo:one' });
      // line 2 is written only now, while the response is open
      await exchange.write('{"text":"two"}\n');
      assert.deepEqual(JSON.parse((await exchange.nextLine())!), { channel: 'room', text: 'echo:two' });
      exchange.request.end();
      assert.equal(await exchange.nextLine(), undefined);
    });

    it('the service may end first ("bye"): the response ends while the body is still open', async () => {
      const exchange = chat();
      await exchange.write('{"text":"bye"}\n');
      assert.deepEqual(JSON.parse((await exchange.nextLine())!), { channel: 'room', text: 'echo:bye' });
      assert.equal(await exchange.nextLine(), undefined);
      // the unread rest of the body must not be parsed as a next request
      assert.equal((await exchange.response).headers.connection, 'close');
      exchange.request.destroy();
    });

    it('a client that goes away cancels the call at the backend', async () => {
      const cancelled = backend.cancelled();
      const exchange = chat();
      await exchange.write('{"text":"hello"}\n');
      assert.deepEqual(JSON.parse((await exchange.nextLine())!), { channel: 'room', text: 'echo:hello' });
      exchange.request.destroy();
      await cancelled;
    });

    it('an upstream error after the first answer is the last record, in-band', async () => {
      const exchange = chat();
      await exchange.write('{"text":"hi"}\n');
      assert.deepEqual(JSON.parse((await exchange.nextLine())!), { channel: 'room', text: 'echo:hi' });
      await exchange.write('{"text":"fail"}\n');
      const last = JSON.parse((await exchange.nextLine())!);
      assert.deepEqual([last.error.code, last.error.status, last.error.message], [10, 'ABORTED', 'chat failed at "fail"']);
      assert.equal(await exchange.nextLine(), undefined);
      exchange.request.destroy();
    });

    it('a bad line after the first answer: an in-band INVALID_ARGUMENT naming the line, and the call is cancelled', async () => {
      const cancelled = backend.cancelled();
      const exchange = chat();
      await exchange.write('{"text":"hi"}\n');
      await exchange.nextLine();
      await exchange.write('{"nope":1}\n');
      const last = JSON.parse((await exchange.nextLine())!);
      assert.equal(last.error.status, 'INVALID_ARGUMENT');
      assert.match(last.error.message, /^line 2: /);
      await cancelled;
      exchange.request.destroy();
    });

    it('errors before the first answer are ordinary HTTP errors: a bad line 1 (400), an upstream failure (409)', async () => {
      const bad = chat();
      await bad.write('{"nope":1}\n');
      const refused = await bad.answer();
      assert.equal(refused.status, 400);
      assert.match(refused.json.message, /^line 1: /);
      bad.request.destroy();

      const failing = chat();
      await failing.write('{"text":"fail"}\n');
      const failed = await failing.answer();
      assert.equal(failed.status, 409);
      assert.deepEqual([failed.json.status, failed.json.message], ['ABORTED', 'chat failed at "fail"']);
      failing.request.destroy();
    });

    it('Accept: text/event-stream answers as Server-Sent Events', async () => {
      const exchange = chat({ accept: 'text/event-stream' });
      await exchange.write('{"text":"sse"}\n');
      assert.equal((await exchange.response).headers['content-type'], 'text/event-stream');
      assert.equal(await exchange.nextLine(), 'data: {"channel":"room","text":"echo:sse"}');
      exchange.request.end();
      const rest: string[] = [];
      for (let line = await exchange.nextLine(); line !== undefined; line = await exchange.nextLine()) rest.push(line);
      assert.ok(rest.includes('event: end'), rest.join('|'));
    });
  });
}

describe('bidirectional and client streams through a balanced upstream, and from fetch', () => {
  let second: RelayBackend;
  let gateway: TestGateway;
  before(async () => {
    second = await startRelayBackend();
    gateway = await startTestGateway({
      protos: { paths: [testProtosDir], files: [RELAY_PROTO] },
      // two addresses: the balancer (and the breaker around it) carry the streams
      upstreams: [{ service: '*', addresses: [backend.target, second.target] }],
    });
  });
  after(async () => {
    await gateway.close();
    await second.close();
  });

  it('each call goes to one address and works as with one', async () => {
    for (let i = 0; i < 2; i++) {
      const exchange = startStreamingRequest(`${gateway.base}/v1/channels/lb:chat`, NDJSON);
      await exchange.write(`{"text":"n${i}"}\n`);
      assert.deepEqual(JSON.parse((await exchange.nextLine())!), { channel: 'lb', text: `echo:n${i}` });
      exchange.request.end();
      assert.equal(await exchange.nextLine(), undefined);
      const gathered = await fetch(`${gateway.base}/v1/channels/lb:gather`, { method: 'POST', headers: NDJSON, body: '{"text":"x"}\n{"text":"y"}\n' });
      assert.deepEqual(await gathered.json(), { count: 2, texts: 'x+y', bytes: '14' });
    }
  });

  it("Node's fetch with a streamed body (duplex: 'half') reads the answer to line 1 before it sends line 2", async () => {
    let firstAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (firstAnswered = resolve));
    const lines = ['{"text":"f1"}\n', '{"text":"f2"}\n'];
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(Buffer.from(lines[0]!));
        // no timer: the second line waits for the first answer, so a half-duplex client would hang here
        await answered;
        controller.enqueue(Buffer.from(lines[1]!));
        controller.close();
      },
    });
    const response = await fetch(`${gateway.base}/v1/channels/f:chat`, { method: 'POST', headers: NDJSON, body, duplex: 'half' } as RequestInit);
    assert.equal(response.status, 200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('echo:f1')) text += (await reader.read()).value ?? '';
    firstAnswered();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    assert.deepEqual(text.trim().split('\n').map((line) => JSON.parse(line).text), ['echo:f1', 'echo:f2']);
  });
});

describe('a bidirectional stream past server.requestTimeout', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({
      protos: { paths: [testProtosDir], files: [RELAY_PROTO] },
      upstreams: [{ service: '*', target: backend.target }],
      server: { requestTimeout: '1s', headersTimeout: '1s' },
    });
  });
  after(async () => {
    await gateway.close();
  });

  it('is cut off (the connection closes), with no error response written into the started answer', async () => {
    const socket = net.connect(gateway.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => (received += text));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const line = '{"text":"one"}\n';
    socket.write(`POST /v1/channels/room:chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n${line.length.toString(16)}\r\n${line}\r\n`);
    // the body stays open: Node's request timer (checked every second) ends the request
    await closed;
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.match(received, /echo:one/);
    assert.equal(received.match(/HTTP\/1\.1 /g)?.length, 1, `one status line only:\n${received}`);
  });
});

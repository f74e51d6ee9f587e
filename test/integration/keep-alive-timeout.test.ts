// `server.keepAliveTimeout` reaches the listening server: an idle keep-alive connection is closed
// by the gateway once it has passed (Node adds about a second), and is still open before. The
// gateway builds its own http.Server, so without this Node's 5 s would apply whatever the config said.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';

const ECHO = { paths: [testProtosDir], files: ['echo/v1/echo.proto'] };

/** A raw keep-alive connection that has had one answer, and a promise of when the server closes it. */
async function idleConnection(port: number): Promise<{ socket: net.Socket; answeredAt: number; closedAt: Promise<number> }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const closedAt = once(socket, 'close').then(() => performance.now());
  socket.write('GET /no/such/route HTTP/1.1\r\nHost: gateway\r\n\r\n');
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  assert.match(chunk.toString(), /^HTTP\/1\.1 404 /);
  assert.match(chunk.toString(), /\r\nconnection: keep-alive\r\n/i);
  return { socket, answeredAt: performance.now(), closedAt };
}

describe('server.keepAliveTimeout', () => {
  let short: TestGateway;
  let long: TestGateway;
  before(async () => {
    // no request reaches an upstream: the one configured listens nowhere
    const upstreams = [{ service: '*', target: '127.0.0.1:1' }];
    short = await startTestGateway({ protos: ECHO, upstreams, server: { keepAliveTimeout: '300ms' } });
    long = await startTestGateway({ protos: ECHO, upstreams, server: { keepAliveTimeout: '2s' } });
  });
  after(async () => {
    await short?.close();
    await long?.close();
  });

  it('300ms: the server closes the idle connection soon after, not before', async () => {
    const { socket, answeredAt, closedAt } = await idleConnection(short.port);
    const timeout = sleep(3000, 'still open');
    const outcome = await Promise.race([closedAt, timeout]);
    socket.destroy();
    assert.notEqual(outcome, 'still open', 'the idle connection was still open 3 s after the answer');
    const idleMs = (outcome as number) - answeredAt;
    assert.ok(idleMs >= 200, `closed after ${Math.round(idleMs)} ms of idleness, before the configured 300 ms`);
  });

  it('2s: the idle connection is still open after 1 s and serves a second request', async () => {
    const { socket } = await idleConnection(long.port);
    await sleep(1000);
    assert.equal(socket.destroyed || socket.readableEnded, false, 'closed within 1 s of a 2 s keep-alive timeout');
    socket.write('GET /no/such/route HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    assert.match(chunk.toString(), /^HTTP\/1\.1 404 /);
    socket.destroy();
  });
});

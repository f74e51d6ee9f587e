// The drain mechanics on a bare node:http server (request-dispatcher.ts + shutdown.ts): a request
// a keep-alive client sends on an idle connection just as the drain starts is still answered
// (with Connection: close), responses already being worked on close their connections, idle
// connections are closed after the grace, and the timeout cuts what is left.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createRequestDispatcher } from '../../src/server/request-dispatcher.js';
import { drainServer } from '../../src/server/shutdown.js';

/** A server whose handler answers after `delayMs` (from the `delay` query parameter). */
async function startServer() {
  const handler = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const delayMs = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => response.end('ok'), delayMs);
  };
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dispatcher = createRequestDispatcher(server, handler);
  return { server, dispatcher, port: (server.address() as AddressInfo).port };
}

function get(port: number, path: string, agent: http.Agent): Promise<{ status: number; connection: string | undefined } | { error: string }> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection }));
      })
      .on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

describe('drainServer', () => {
  it('answers requests in flight and those arriving on open keep-alive connections, each with Connection: close, then refuses new connections', async () => {
    const { server, dispatcher, port } = await startServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    // Two keep-alive connections: one idle, one busy when the drain starts.
    const warm = await Promise.all([get(port, '/warm?delay=20', agent), get(port, '/warm?delay=20', agent)]);
    assert.deepEqual(warm, [{ status: 200, connection: 'keep-alive' }, { status: 200, connection: 'keep-alive' }]);
    const busy = get(port, '/slow?delay=200', agent);
    await sleep(20);
    const drained = drainServer(server, dispatcher, { timeoutMs: 5000, idleGraceMs: 300 });
    assert.equal(server.listening, false);
    // Sent on the connection that was idle when the drain began: answered, not reset.
    assert.deepEqual(await get(port, '/late', agent), { status: 200, connection: 'close' });
    assert.deepEqual(await busy, { status: 200, connection: 'close' });
    // Every connection has closed, so a new request needs a new one, which is refused.
    assert.deepEqual(await get(port, '/after', agent), { error: 'ECONNREFUSED' });
    const result = await drained;
    assert.equal(result.cut, 0);
    agent.destroy();
  });

  it('closes a connection left idle after the grace, without waiting for the timeout', async () => {
    const { server, dispatcher, port } = await startServer();
    const agent = new http.Agent({ keepAlive: true });
    await get(port, '/warm', agent);
    const result = await drainServer(server, dispatcher, { timeoutMs: 10_000, idleGraceMs: 100 });
    assert.equal(result.cut, 0);
    assert.ok(result.durationMs < 2000, `drained in ${Math.round(result.durationMs)} ms`);
    agent.destroy();
  });

  it('cuts requests still running at the timeout and says how many', async () => {
    const { server, dispatcher, port } = await startServer();
    const agent = new http.Agent({ keepAlive: true });
    const hanging = [get(port, '/hang?delay=60000', agent), get(port, '/hang?delay=60000', agent)];
    await sleep(50);
    const result = await drainServer(server, dispatcher, { timeoutMs: 200 });
    assert.equal(result.cut, 2);
    for (const outcome of await Promise.all(hanging)) assert.deepEqual(outcome, { error: 'ECONNRESET' });
    agent.destroy();
  });
});

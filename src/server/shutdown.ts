// Graceful shutdown of the listening server (SIGTERM/SIGINT): stop accepting, let requests in
// flight finish, move keep-alive clients off, and cut whatever is left at the drain timeout.
import type { Server } from 'node:http';
import net from 'node:net';
import type { RequestDispatcher } from './request-dispatcher.js';

/** How a drain ended. */
export interface DrainResult {
  /** Requests still unanswered when the timeout cut their connections (0 for a clean drain). */
  readonly cut: number;
  readonly durationMs: number;
}

/** Drain settings. */
export interface DrainOptions {
  /** The longest the drain waits for requests in flight (`server.drainTimeout`). */
  readonly timeoutMs: number;
  /**
   * How long a connection idle at the start may stay open: a request already on its way on it
   * is then still answered (with `Connection: close`) instead of meeting a closed socket.
   */
  readonly idleGraceMs?: number;
}

/**
 * Stops `server` listening and resolves once every connection has closed: each response from
 * now on carries `Connection: close`, idle keep-alive connections are closed after a short
 * grace, and at `timeoutMs` the remaining connections are cut.
 */
export function drainServer(server: Server, dispatcher: RequestDispatcher, options: DrainOptions): Promise<DrainResult> {
  const started = performance.now();
  dispatcher.startDraining();
  return new Promise<DrainResult>((resolve) => {
    let cut = 0;
    // net.Server's close, not http.Server's: the latter also closes idle connections at once,
    // and a request a client has just sent on one would meet a reset instead of an answer.
    net.Server.prototype.close.call(server, () => {
      clearInterval(idleSweep);
      clearTimeout(deadline);
      resolve({ cut, durationMs: performance.now() - started });
    });
    // Repeated: a connection whose last response was already under way when draining began
    // (so it kept keep-alive) goes idle later.
    const idleSweep = setInterval(() => server.closeIdleConnections(), Math.min(options.idleGraceMs ?? 500, options.timeoutMs));
    const deadline = setTimeout(() => {
      cut = dispatcher.inFlight;
      server.closeAllConnections();
    }, options.timeoutMs);
  });
}

// The listening server's one request listener: hands each request to the current handler
// (a Fastify app's router), so a reload can swap handlers atomically while requests already
// running finish on the handler that took them; and, once draining, marks every response
// `Connection: close` so keep-alive clients move off the server without losing a request.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** A request listener (a Fastify instance's `routing`). */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** What the dispatcher tracks of one handler: its requests not yet answered. */
interface Slot {
  readonly handler: RequestHandler;
  inFlight: number;
  /** Resolves `idle()` once the slot is retired and its last request is answered. */
  onIdle: (() => void) | undefined;
}

/** The listening server's request listener, with swap and drain. */
export interface RequestDispatcher {
  /** Requests received and not yet answered, over every handler. */
  readonly inFlight: number;
  /** New requests go to `handler`; resolves once the previous handler's requests are answered. */
  swap(handler: RequestHandler): Promise<void>;
  /** From now on every response, including those of requests already running, closes its connection. */
  startDraining(): void;
  readonly draining: boolean;
}

/**
 * Replaces `handler` (already a 'request' listener of `server`) with a dispatcher that calls it,
 * and later whatever `swap` installs.
 */
export function createRequestDispatcher(server: Server, handler: RequestHandler): RequestDispatcher {
  if (!server.listeners('request').includes(handler)) throw new Error('the handler is not a request listener of this server');
  let current: Slot = { handler, inFlight: 0, onIdle: undefined };
  let draining = false;
  // Responses whose headers may still be written: marked `Connection: close` when draining starts.
  const open = new Set<ServerResponse>();

  const dispatch = (request: IncomingMessage, response: ServerResponse): void => {
    const slot = current;
    slot.inFlight++;
    open.add(response);
    if (draining) response.setHeader('connection', 'close');
    response.once('close', () => {
      open.delete(response);
      if (--slot.inFlight === 0 && slot.onIdle !== undefined) slot.onIdle();
    });
    slot.handler(request, response);
  };
  server.removeListener('request', handler);
  server.on('request', dispatch);

  return {
    get inFlight() {
      return open.size;
    },
    get draining() {
      return draining;
    },
    swap(next) {
      const previous = current;
      current = { handler: next, inFlight: 0, onIdle: undefined };
      if (previous.inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => (previous.onIdle = resolve));
    },
    startDraining() {
      draining = true;
      for (const response of open) {
        // A response already under way (a stream) ends when it ends; the drain timeout bounds it.
        if (!response.headersSent) response.setHeader('connection', 'close');
      }
    },
  };
}

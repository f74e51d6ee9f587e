// The listening server's one request listener: hands each request to the current handler
// (a Fastify app's router), so a reload can swap handlers atomically while requests already
// running finish on the handler that took them; and, once draining, marks every response
// `Connection: close` so keep-alive clients move off the server without losing a request.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** A request listener (a Fastify instance's `routing`). */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Where a response sits in the dispatcher's list of open responses. */
const kOpenIndex = Symbol('protogate.openIndex');
type OpenResponse = ServerResponse & { [kOpenIndex]: number };

/** Removes `response` from `open` in O(1): the last one takes its place. */
function removeOpen(open: OpenResponse[], response: OpenResponse): void {
  const index = response[kOpenIndex];
  const last = open.pop() as OpenResponse;
  if (last !== response) {
    open[index] = last;
    last[kOpenIndex] = index;
  }
}

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
  // An array with each response's index on it, not a Set: a long-lived Set churned once per
  // request leaves dead backing tables in the old generation that keep requests alive through
  // young-generation GCs (see upstream/h2-wire/stream-table.ts); a removed slot is cleared here.
  const open: OpenResponse[] = [];

  const dispatch = (request: IncomingMessage, response: ServerResponse): void => {
    const slot = current;
    slot.inFlight++;
    const tracked = response as OpenResponse;
    tracked[kOpenIndex] = open.length;
    open.push(tracked);
    if (draining) response.setHeader('connection', 'close');
    response.once('close', () => {
      removeOpen(open, tracked);
      if (--slot.inFlight === 0 && slot.onIdle !== undefined) slot.onIdle();
    });
    slot.handler(request, response);
  };
  server.removeListener('request', handler);
  server.on('request', dispatch);

  return {
    get inFlight() {
      return open.length;
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

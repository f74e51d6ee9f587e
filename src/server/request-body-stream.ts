// Client-streaming routes read their request body as it arrives, not whole: Fastify's content
// parser (http-server.ts) buffers every body before the handler runs, so these requests go to
// a second catch-all route whose parser hands the body stream over unread. Fastify's router
// picks that route through a constraint derived from the pipeline (`readsBodyAsStream`), so the
// decision is made before any byte of the body is read; with no client-streaming route the
// constraint is never registered and costs nothing.
//
// The chunks keep every guarantee of a buffered body: Content-Encoding is undone (as a stream),
// the decoded size is bounded by `limits.maxBodyBytes` (413, Fastify's own answer when the
// Content-Length already says so), and a client that goes away ends the body with an error.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { errorCodes, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Code } from '../errors/codes.js';
import { GatewayError, gatewayError } from '../errors/gateway-error.js';
import { badEncoding, decodingStream } from './request-decompression.js';

/** The gateway's handler, given the streamed body of a client-streaming route. */
export type StreamedBodyHandler = (request: FastifyRequest, reply: FastifyReply, bodyStream: AsyncIterable<Uint8Array> | undefined) => Promise<void>;

/** What the streamed-body route needs from the gateway. */
export interface StreamedBodyRoute {
  /** HTTP methods of the client-streaming routes. */
  readonly methods: readonly string[];
  readonly readsBodyAsStream: (method: string, url: string) => boolean;
  readonly maxBodyBytes: number;
  readonly handler: StreamedBodyHandler;
}

const STRATEGY = 'protogateStreamedBody';
const STREAMED = 'stream';

/** Adds the catch-all route for requests whose body is read as a stream (see the file comment). */
export function addStreamedBodyRoute(app: FastifyInstance, route: StreamedBodyRoute): void {
  const { readsBodyAsStream, maxBodyBytes, handler } = route;
  app.addConstraintStrategy({
    name: STRATEGY,
    storage() {
      const handlers = new Map<string, unknown>();
      return { get: (value: string) => (handlers.get(value) ?? null) as never, set: (value: string, stored: unknown) => void handlers.set(value, stored) };
    },
    // undefined: the request goes to the ordinary (buffering) route
    deriveConstraint: (req: IncomingMessage) => (readsBodyAsStream(req.method ?? 'GET', req.url ?? '/') ? STREAMED : (undefined as unknown as string)),
    mustMatchWhenDerived: false,
  });
  void app.register(async (scope) => {
    // a parser of this scope only: every other request keeps Fastify's buffering parser
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (request, payload, done) => {
      // the limit Fastify applies to buffered bodies, with its error (answered 413 by http-server.ts)
      if (Number(request.headers['content-length']) > maxBodyBytes) done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
      else done(null, payload);
    });
    scope.route({
      method: [...route.methods],
      url: '*',
      constraints: { [STRATEGY]: STREAMED },
      // no body at all (no Content-Length, no chunks): Fastify skips the parser and `body` is undefined
      handler: (request, reply) => handler(request, reply, request.body === undefined ? undefined : streamedBody(request.body as Readable, request.raw, reply.raw, maxBodyBytes)),
    });
  });
}

/**
 * The decoded chunks of `payload`, bounded by `maxBytes`. The response says `Connection: close`
 * until the body has been read to its end: a reply given before (a bad line, 413, an upstream
 * error) leaves unread bytes on the connection, which must not be parsed as a next request, nor
 * drained at the client's pace.
 */
function streamedBody(payload: Readable, req: IncomingMessage, res: ServerResponse, maxBytes: number): AsyncIterable<Uint8Array> {
  const closing = !res.hasHeader('connection');
  if (closing) res.setHeader('connection', 'close');
  let clientGone = false;
  req.once('aborted', () => (clientGone = true));
  req.once('error', () => (clientGone = true));
  const contentEncoding = req.headers['content-encoding'];
  const source = contentEncoding === undefined ? payload : decodingStream(payload, contentEncoding);
  return (async function* chunks() {
    if (source instanceof GatewayError) throw source;
    let bytes = 0;
    try {
      // not destroyed when the reader stops early: that would destroy the socket the reply goes to
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes) throw bodyTooLarge(maxBytes);
        yield chunk;
      }
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw clientGone || contentEncoding === undefined ? clientClosed() : badEncoding(contentEncoding);
    }
    if (closing && !res.headersSent) res.removeHeader('connection');
  })();
}

/** The answer http-server.ts gives a buffered body over the limit, for a streamed one. */
function bodyTooLarge(maxBytes: number): GatewayError {
  return gatewayError(Code.INVALID_ARGUMENT, 'PG_BODY_TOO_LARGE', `request body is larger than ${maxBytes} bytes`, { httpStatus: 413 });
}

function clientClosed(): GatewayError {
  return gatewayError(Code.CANCELLED, 'PG_CLIENT_CLOSED', 'the client closed the request before its body ended');
}

// The only Fastify code on the request path: hands each request to the pipeline and writes
// its reply; errors Fastify or Node's HTTP parser raise get the same JSON error shape.
import http from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { Code } from '../errors/codes.js';
import { renderError, type ErrorFormat } from '../errors/error-body.js';
import { gatewayError, GatewayError } from '../errors/gateway-error.js';
import { requestChannel, requestStartChannel, type RequestEvent, type RequestStartEvent } from '../observability/request-events.js';
import type { GatewayReply, Pipeline } from '../pipeline.js';
import { actualResponseHeaders, withCors, type CorsPolicy } from '../policy/cors.js';
import { ClientDisconnect } from './client-disconnect.js';
import { requestIdFor } from './request-id.js';

/** Limits and formats the HTTP layer enforces. */
export interface HttpServerOptions {
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxUrlBytes: number;
  readonly errorFormat: ErrorFormat;
  /** CORS (config key `cors`); absent: the pipeline is called directly and no CORS header is written. */
  readonly cors?: CorsPolicy | undefined;
}

const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** A Fastify instance that serves every route of the pipeline (not yet listening). */
export function createHttpServer(pipeline: Pipeline, options: HttpServerOptions, logger: Logger): FastifyInstance {
  const errorResponse = (error: GatewayError) => renderError(error, options.errorFormat);
  const cors = options.cors;
  // Policies wrap the pipeline once, here; without CORS the handler calls the pipeline itself.
  const handle = cors === undefined ? pipeline.handle : withCors(pipeline.handle, cors, pipeline, options.errorFormat);
  // Errors answered outside the pipeline (414, 413, …) are readable cross-origin too.
  const corsHeaders = (origin: string | undefined): Record<string, string> =>
    cors === undefined ? {} : { ...(actualResponseHeaders(cors, origin) ?? cors.everyResponse) };
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      const server = http.createServer({ maxHeaderSize: options.maxHeaderBytes }, handler);
      return server;
    },
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => writeClientError(error, socket, errorResponse),
    frameworkErrors: (error, _request, reply) => {
      const rendered = errorResponse(gatewayError(Code.INVALID_ARGUMENT, 'PG_BAD_PATH', `malformed request: ${error.message}`));
      void (reply as FastifyReply).code(rendered.statusCode).type('application/json').send(rendered.body);
    },
  });

  const customMethods = [...new Set(pipeline.routes.map((route) => route.spec.httpMethod))].filter(
    (method) => !STANDARD_METHODS.includes(method),
  );
  for (const method of customMethods) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  }

  // The pipeline reads bodies as bytes and checks the media type itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    let gateway: GatewayError;
    if (status === 413) {
      gateway = gatewayError(Code.INVALID_ARGUMENT, 'PG_BODY_TOO_LARGE', `request body is larger than ${options.maxBodyBytes} bytes`, { httpStatus: 413 });
    } else if (status >= 400 && status < 500) {
      gateway = gatewayError(Code.INVALID_ARGUMENT, 'PG_MALFORMED_REQUEST', 'the request could not be read', { httpStatus: status });
    } else {
      logger.error({ err: error, requestId: request.headers['x-request-id'] }, 'unexpected error in the HTTP layer');
      gateway = gatewayError(Code.INTERNAL, 'PG_INTERNAL', 'internal error');
    }
    const rendered = errorResponse(gateway);
    void reply
      .code(rendered.statusCode)
      .headers({ ...rendered.headers, ...corsHeaders(request.headers.origin) })
      .type('application/json')
      .send(rendered.body);
  });

  // One message for every start event: in-flight counting needs no per-request object.
  const startEvent: RequestStartEvent = { source: pipeline };
  app.route({
    method: [...STANDARD_METHODS, ...customMethods],
    url: '*',
    handler: async (request, reply) => {
      // Decided once per request, so every published start gets its end.
      const observed = requestChannel.hasSubscribers;
      const started = observed ? performance.now() : 0;
      if (observed) requestStartChannel.publish(startEvent);
      const raw = request.raw;
      const res = reply.raw;
      const requestId = requestIdFor(raw.headers['x-request-id']);
      const url = raw.url ?? '/';
      let result: GatewayReply;
      if (url.length > options.maxUrlBytes) {
        const rendered = errorResponse(
          gatewayError(Code.INVALID_ARGUMENT, 'PG_URI_TOO_LONG', `request URL is longer than ${options.maxUrlBytes} bytes`, { httpStatus: 414 }),
        );
        result = { statusCode: rendered.statusCode, headers: corsHeaders(raw.headers.origin), body: rendered.body };
      } else {
        const disconnect = new ClientDisconnect();
        res.once('close', () => {
          if (!res.writableFinished) disconnect.abort();
        });
        result = await handle({
          method: raw.method ?? 'GET',
          url,
          headers: raw.headers,
          body: request.body as Buffer | undefined,
          signal: disconnect,
          requestId,
          clientIp: raw.socket.remoteAddress ?? '',
        });
      }
      const bytes = Buffer.byteLength(result.body);
      if (observed) publishRequest(pipeline, requestId, raw.method ?? 'GET', result, started, bytes);
      // Written directly: the reply is already serialised, so Fastify's send path has nothing to add.
      reply.hijack();
      const headers = result.headers;
      headers['x-request-id'] = requestId;
      // RFC 9110 §8.6: no Content-Length on a 204 (a CORS preflight answer).
      if (result.statusCode !== 204) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(bytes);
      }
      res.writeHead(result.statusCode, headers);
      res.end(result.body);
    },
  });
  return app;
}

function publishRequest(source: Pipeline, requestId: string, method: string, result: GatewayReply, started: number, bytes: number): void {
  const event: RequestEvent = {
    source,
    requestId,
    method,
    route: result.route,
    status: result.statusCode,
    grpcCode: result.error?.code ?? 0,
    reason: result.error?.reason,
    durationMs: performance.now() - started,
    bytes,
  };
  requestChannel.publish(event);
}

/** Node's HTTP parser failed before any route ran: answer with the JSON error shape and close. */
function writeClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  render: (error: GatewayError) => { statusCode: number; body: string },
): void {
  if (!socket.writable || (error.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy();
    return;
  }
  let gateway: GatewayError;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    gateway = gatewayError(Code.INVALID_ARGUMENT, 'PG_HEADERS_TOO_LARGE', 'request headers are too large', { httpStatus: 431 });
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    gateway = gatewayError(Code.DEADLINE_EXCEEDED, 'PG_MALFORMED_REQUEST', 'the request was not received in time', { httpStatus: 408 });
  } else {
    gateway = gatewayError(Code.INVALID_ARGUMENT, 'PG_MALFORMED_REQUEST', 'malformed HTTP request');
  }
  const { statusCode, body } = render(gateway);
  socket.end(
    `HTTP/1.1 ${statusCode} ${http.STATUS_CODES[statusCode] ?? 'Error'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

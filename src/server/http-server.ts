// The only Fastify code on the request path: hands each request to the pipeline and writes
// its reply; errors Fastify or Node's HTTP parser raise get the same JSON error shape.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Code } from '../errors/codes.js';
import { renderError, type ErrorFormat } from '../errors/error-body.js';
import { gatewayError, GatewayError } from '../errors/gateway-error.js';
import { requestChannel, requestStartChannel, type RequestEvent, type RequestStartEvent } from '../observability/request-events.js';
import type { GatewayReply, Pipeline } from '../pipeline.js';
import { actualResponseHeaders, withCors, type CorsPolicy } from '../policy/cors.js';
import type { IpFilter } from '../policy/ip-filter.js';
import { ClientDisconnect } from './client-disconnect.js';
import type { ClientAddressResolver } from './client-address.js';
import { addStreamedBodyRoute } from './request-body-stream.js';
import { decodeRequestBody } from './request-decompression.js';
import { compressibleType, type ResponseCompressor } from './response-compression.js';
import { startOverloadGuard, type OverloadLimits } from './overload-guard.js';
import { requestIdFor } from './request-id.js';
import { ActiveStreams } from './stream-reply.js';

/** Limits and formats the HTTP layer enforces. */
export interface HttpServerOptions {
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxUrlBytes: number;
  /** Time a client has for its request head (config `server.headersTimeout`); default Node's 60 s. */
  readonly headersTimeoutMs?: number | undefined;
  /** Time a client has for its whole request (config `server.requestTimeout`); default Node's 300 s. */
  readonly requestTimeoutMs?: number | undefined;
  /** How long an idle keep-alive connection stays open (config `server.keepAliveTimeout`); default Node's 5 s. */
  readonly keepAliveTimeoutMs?: number | undefined;
  readonly errorFormat: ErrorFormat;
  /** CORS (config key `cors`); absent: the pipeline is called directly and no CORS header is written. */
  readonly cors?: CorsPolicy | undefined;
  /** Response compression (config key `compression`); absent: bodies are sent as they are. */
  readonly compression?: ResponseCompressor | undefined;
  /** IP allow/deny lists (config key `ipFilter`), checked before routing; absent: not checked. */
  readonly ipFilter?: IpFilter | undefined;
  /** `server.trustedProxies` compiled; absent: the client address is the socket peer. */
  readonly clientAddress?: ClientAddressResolver | undefined;
  /** Overload protection (config key `overload`); absent: never shed. */
  readonly overload?: OverloadLimits | undefined;
  /** TLS termination (config key `server.tls`, files already read); absent: plain HTTP. */
  readonly tls?: https.ServerOptions | undefined;
}

/** Where the handler keeps its start time, so a failure after it does not publish a second start. */
const kStarted = Symbol('protogate.started');
/** The method label of requests Node's parser refused before the method was known to us. */
const UNPARSED_METHOD = '(unparsed)';

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
  const refuse = (error: GatewayError, origin: string | undefined): GatewayReply => {
    const rendered = errorResponse(error);
    return { statusCode: rendered.statusCode, headers: { ...rendered.headers, ...corsHeaders(origin) }, body: rendered.body, error };
  };
  const { compression, ipFilter, clientAddress, tls } = options;
  // One message for every start event: in-flight counting needs no per-request object.
  const startEvent: RequestStartEvent = { source: pipeline };
  // Slow clients are cut by Node's own request timers; its sweep runs every second, not every 30 s
  // (the default), so a timeout of a few seconds holds to about a second.
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: options.maxHeaderBytes,
    // Node refuses a head timeout longer than the whole request's.
    ...(options.headersTimeoutMs === undefined ? {} : { headersTimeout: Math.min(options.headersTimeoutMs, options.requestTimeoutMs ?? Infinity) }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    // Fastify's own keepAliveTimeout does not apply to a server from serverFactory. Node's head
    // timer starts at a request's first byte, so idle time needs no headersTimeout above it.
    ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeout: options.keepAliveTimeoutMs }),
    connectionsCheckingInterval: 1000,
  };
  const activeStreams = new ActiveStreams();
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) =>
      tls === undefined
        ? http.createServer(serverOptions, handler)
        : // An https.Server is an http.Server to Fastify (same 'request'/'clientError' events); only its type differs.
          (https.createServer({ ...tls, ...serverOptions }, handler) as unknown as http.Server),
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      const answered = writeClientError(error, socket, errorResponse);
      if (answered !== undefined && requestChannel.hasSubscribers) {
        requestStartChannel.publish(startEvent);
        publishRequest(pipeline, answered.requestId, UNPARSED_METHOD, answered.reply, performance.now(), answered.reply.body.length);
      }
    },
    frameworkErrors: (error, request, reply) => {
      // Fastify's router refused the URL (bad percent-encoding) before any route ran.
      const gateway = gatewayError(Code.INVALID_ARGUMENT, 'PG_BAD_PATH', `malformed request: ${error.message}`);
      const rendered = errorResponse(gateway);
      const requestId = requestIdFor(request.headers['x-request-id']);
      if (requestChannel.hasSubscribers) {
        requestStartChannel.publish(startEvent);
        const result: GatewayReply = { statusCode: rendered.statusCode, headers: {}, body: rendered.body, error: gateway };
        publishRequest(pipeline, requestId, request.method, result, performance.now(), Buffer.byteLength(rendered.body), request.headers);
      }
      void (reply as FastifyReply)
        .code(rendered.statusCode)
        .headers({ ...corsHeaders(request.headers.origin), 'x-request-id': requestId })
        .type('application/json')
        .send(rendered.body);
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
    const requestId = requestIdFor(request.headers['x-request-id']);
    if (requestChannel.hasSubscribers) {
      // Refused while Fastify read the body (413), before the handler ran: counted here. The
      // time spent reading is not measured (that would cost every request a timestamp).
      const started = (request as { [kStarted]?: number })[kStarted];
      if (started === undefined) requestStartChannel.publish(startEvent);
      const result: GatewayReply = { statusCode: rendered.statusCode, headers: {}, body: rendered.body, error: gateway };
      publishRequest(pipeline, requestId, request.method, result, started ?? performance.now(), Buffer.byteLength(rendered.body), request.headers);
    }
    void reply
      .code(rendered.statusCode)
      .headers({ ...rendered.headers, ...corsHeaders(request.headers.origin), 'x-request-id': requestId })
      .type('application/json')
      .send(rendered.body);
  });
  if (options.overload !== undefined) {
    // Shed before the body is read: while overloaded, every request costs as little as possible.
    const overload = startOverloadGuard(options.overload);
    app.addHook('onClose', (_instance, done) => {
      overload.stop();
      done();
    });
    app.addHook('onRequest', (request, reply, done) => {
      if (!overload.overloaded) {
        done();
        return;
      }
      const rendered = errorResponse(overload.refusal);
      const requestId = requestIdFor(request.headers['x-request-id']);
      if (requestChannel.hasSubscribers) {
        requestStartChannel.publish(startEvent);
        const result: GatewayReply = { statusCode: rendered.statusCode, headers: {}, body: rendered.body, error: overload.refusal };
        publishRequest(pipeline, requestId, request.method, result, performance.now(), Buffer.byteLength(rendered.body), request.headers);
      }
      void reply
        .code(rendered.statusCode)
        .headers({ ...rendered.headers, ...corsHeaders(request.headers.origin), 'x-request-id': requestId })
        .type('application/json')
        .send(rendered.body);
    });
  }
  // Server streams would hold a graceful close for as long as they run: end them first.
  app.addHook('preClose', (done) => {
    activeStreams.stopAll();
    done();
  });
  streamsOf.set(app, activeStreams);
  // `bodyStream`: given by the streamed-body route only (client-streaming routes, request-body-stream.ts)
  const gatewayRoute = {
    method: [...STANDARD_METHODS, ...customMethods],
    url: '*',
    handler: async (request: FastifyRequest, reply: FastifyReply, bodyStream?: AsyncIterable<Uint8Array>): Promise<void> => {
      // Decided once per request, so every published start gets its end.
      const observed = requestChannel.hasSubscribers;
      const started = observed ? performance.now() : 0;
      if (observed) {
        requestStartChannel.publish(startEvent);
        (request as { [kStarted]?: number })[kStarted] = started;
      }
      const raw = request.raw;
      const res = reply.raw;
      const requestId = requestIdFor(raw.headers['x-request-id']);
      const url = raw.url ?? '/';
      const peer = raw.socket.remoteAddress ?? '';
      const clientIp = clientAddress === undefined ? peer : clientAddress(peer, raw.headers['x-forwarded-for']);
      let body = bodyStream === undefined ? (request.body as Buffer | undefined) : undefined;
      // Refusals before routing; a check whose feature is not configured costs one branch.
      let refusal: GatewayError | undefined;
      if (url.length > options.maxUrlBytes) {
        refusal = gatewayError(Code.INVALID_ARGUMENT, 'PG_URI_TOO_LONG', `request URL is longer than ${options.maxUrlBytes} bytes`, { httpStatus: 414 });
      } else if (ipFilter !== undefined) {
        refusal = ipFilter(clientIp);
      }
      const contentEncoding = raw.headers['content-encoding'];
      if (contentEncoding !== undefined && refusal === undefined && body !== undefined) {
        const decoded = await decodeRequestBody(body, contentEncoding, options.maxBodyBytes);
        if (decoded instanceof GatewayError) refusal = decoded;
        else body = decoded;
      }
      let result: GatewayReply;
      if (refusal !== undefined) {
        result = refuse(refusal, raw.headers.origin);
      } else {
        const disconnect = new ClientDisconnect();
        res.once('close', () => {
          if (!res.writableFinished) disconnect.abort();
        });
        result = await handle({
          method: raw.method ?? 'GET',
          url,
          headers: raw.headers,
          body,
          bodyStream,
          signal: disconnect,
          requestId,
          clientIp,
        });
      }
      if (result.stream !== undefined) {
        // A server stream: written as it arrives (stream-reply.ts), never compressed.
        reply.hijack();
        result.headers['x-request-id'] = requestId;
        const written = await activeStreams.write(res, result, result.stream);
        if (observed) publishRequest(pipeline, requestId, raw.method ?? 'GET', result, started, written, raw.headers);
        return;
      }
      const bytes = Buffer.byteLength(result.body);
      if (observed) publishRequest(pipeline, requestId, raw.method ?? 'GET', result, started, bytes, raw.headers);
      const headers = result.headers;
      let payload: string | Buffer = result.body;
      let length = bytes;
      if (
        compression !== undefined &&
        bytes >= compression.minBytes &&
        result.statusCode !== 204 &&
        result.statusCode !== 304 &&
        raw.method !== 'HEAD' &&
        compressibleType(headers['content-type'])
      ) {
        // The answer depends on Accept-Encoding from this size on, compressed or not (RFC 9110 §12.5.5).
        addVary(headers, 'Accept-Encoding');
        const encoding = compression.negotiate(raw.headers['accept-encoding']);
        if (encoding !== undefined) {
          const compressed = compression.compress(result.body, encoding);
          payload = compressed instanceof Promise ? await compressed : compressed;
          length = payload.length;
          headers['content-encoding'] = encoding;
        }
      } else if (compression !== undefined && result.statusCode === 304) {
        // RFC 9110 §15.4.5: a 304 carries the Vary its 200 would have; the body it stands for is
        // not at hand, so say it always (a cache then keys by Accept-Encoding: correct, if finer)
        addVary(headers, 'Accept-Encoding');
      }
      // Written directly: the reply is already serialised, so Fastify's send path has nothing to add.
      reply.hijack();
      headers['x-request-id'] = requestId;
      // RFC 9110 §8.6: no Content-Length on a 204 (a CORS preflight answer), nor on a 304 (it would
      // claim the representation is empty; §15.4.5)
      if (result.statusCode !== 204 && result.statusCode !== 304) {
        // JSON, unless the pipeline set the type of a raw google.api.HttpBody answer
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = String(length);
      }
      res.writeHead(result.statusCode, headers);
      res.end(payload);
    },
  };
  app.route(gatewayRoute);
  const readsBodyAsStream = pipeline.readsBodyAsStream;
  if (readsBodyAsStream !== undefined) {
    const methods = [...new Set(pipeline.routes.filter((route) => route.spec.clientStreaming).map((route) => route.spec.httpMethod))];
    addStreamedBodyRoute(app, { methods, readsBodyAsStream, maxBodyBytes: options.maxBodyBytes, handler: gatewayRoute.handler });
  }
  return app;
}

const streamsOf = new WeakMap<FastifyInstance, ActiveStreams>();

/**
 * Ends the server streams `app` is writing, each with a last UNAVAILABLE record: a drain calls
 * this first, since a stream may otherwise run until the drain timeout cuts it.
 */
export function stopServerStreams(app: FastifyInstance): void {
  streamsOf.get(app)?.stopAll();
}

/** Adds a field name to `Vary`, keeping what is there (CORS's `Origin`). */
function addVary(headers: Record<string, string | string[]>, name: string): void {
  const vary = headers.vary;
  headers.vary = vary === undefined ? name : `${Array.isArray(vary) ? vary.join(', ') : vary}, ${name}`;
}

function publishRequest(
  source: Pipeline,
  requestId: string,
  method: string,
  result: GatewayReply,
  started: number,
  bytes: number,
  headers?: http.IncomingHttpHeaders,
): void {
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
    cause: causeOf(result.error),
    headers,
    stale: result.stale,
    fallback: result.fallback,
  };
  requestChannel.publish(event);
}

/** The log-only detail of a failure: its cause's text, when it has one. */
function causeOf(error: GatewayError | undefined): string | undefined {
  const cause = error?.cause;
  if (cause === undefined) return undefined;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Node's HTTP parser failed before any route ran: answer with the JSON error shape and close.
 * Returns what was answered (for the request events), or `undefined` when the socket was gone.
 */
function writeClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  render: (error: GatewayError) => { statusCode: number; body: string },
): { requestId: string; reply: GatewayReply } | undefined {
  if (!socket.writable || (error.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy();
    return undefined;
  }
  const answering = (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (answering != null && answering.headersSent && !answering.writableFinished && !answering.req.complete) {
    // The request still being read is the one whose answer is under way (a client or bidi stream
    // past server.requestTimeout, a bad chunk late in its body): an error response cannot go into
    // the middle of that answer, so the connection is cut, and the client sees a truncated one.
    socket.destroy();
    return undefined;
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
  // The headers were not parsed, so a client's x-request-id is unknown: the answer gets a fresh one.
  const requestId = requestIdFor(undefined);
  const answer =
    `HTTP/1.1 ${statusCode} ${http.STATUS_CODES[statusCode] ?? 'Error'}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`;
  // A pipelined request read whole before the malformed one may still be answering: its response
  // goes first (responses keep the order of requests, RFC 9112 §9.3.2), else the client loses the
  // answer to a call the backend did run. Node keeps that response on the socket's _httpMessage;
  // when its own request is the incomplete one (a bad chunk in its body), the error is its answer.
  if (answering != null && !answering.writableFinished && answering.req.complete) {
    answering.once('close', () => {
      if (socket.writable) socket.end(answer);
    });
  } else {
    socket.end(answer);
  }
  return { requestId, reply: { statusCode, headers: {}, body, error: gateway } };
}

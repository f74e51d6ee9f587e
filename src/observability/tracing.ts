// OpenTelemetry tracing (config `tracing`): one SERVER span per HTTP request and one CLIENT span
// per upstream call, exported over OTLP/HTTP by a batch processor. The spans are built from the
// request events (request-events.ts) once a request is answered, so the request path itself
// creates no span object; it only asks `traceparentFor` which context to send upstream. That
// context must name the CLIENT span before the span exists, so its ids are chosen at that moment
// and handed to the SDK's tracer when the span is built (`presetIds`). start-gateway imports
// this file only when tracing is enabled: without it the SDK is never loaded.
import type { IncomingHttpHeaders } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  RandomIdGenerator,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type IdGenerator,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/config-schema.js';
import type { Pipeline } from '../pipeline.js';
import { loggedSpanExporter } from './logged-span-exporter.js';
import { subscribeRequests, type RequestEvent, type UpstreamCallEvent } from './request-events.js';

/** The gateway's tracer: one per gateway, observing each pipeline a reload builds. */
export interface GatewayTracing {
  /**
   * The `traceparent` to send upstream for a request (the CLIENT span's context), or
   * `undefined` when the request is not sampled: then the client's goes through unchanged.
   */
  traceparentFor(headers: IncomingHttpHeaders): string | undefined;
  /** Builds spans from `pipeline`'s request events; returns the unsubscribe function. */
  observe(pipeline: Pipeline): () => void;
  /** Exports the spans still buffered and stops the exporter. */
  close(): Promise<void>;
}

/** A sampled request's trace, from the moment its upstream context was chosen. */
interface RequestTrace {
  /** The client's span (remote parent), or the root context for a new trace. */
  readonly parent: Context;
  readonly traceId: string;
  readonly serverSpanId: string;
  readonly clientSpanId: string;
  /** performance.now() when the upstream call began. */
  readonly clientStart: number;
  clientEnd?: number;
  clientCode?: number;
}

const EXPORT_TIMEOUT_MS = 5_000;

/** Marks a request whose trace is not sampled (so a later look does not decide again). */
const NOT_SAMPLED = 'not-sampled';

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

/** Starts the exporter; spans are sent in batches to `config.otlpEndpoint`. */
export function startTracing(config: GatewayConfig['tracing'], logger: Logger): GatewayTracing {
  const random = new RandomIdGenerator();
  // The tracer takes its ids from here: set just before each (synchronous) startSpan call.
  const presetIds = { traceId: '', spanId: '' };
  const idGenerator: IdGenerator = { generateTraceId: () => presetIds.traceId, generateSpanId: () => presetIds.spanId };
  const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler,
    idGenerator,
    // Bounded so a collector that hangs cannot hold a gateway's close for the default 30 s.
    spanProcessors: [
      new BatchSpanProcessor(
        loggedSpanExporter(new OTLPTraceExporter({ url: config.otlpEndpoint, headers: { ...config.headers }, timeoutMillis: EXPORT_TIMEOUT_MS }), config.otlpEndpoint, logger),
        { exportTimeoutMillis: EXPORT_TIMEOUT_MS },
      ),
    ],
  });
  const tracer = provider.getTracer('protogate');
  const propagator = new W3CTraceContextPropagator();
  // Keyed by the request's headers object: the one thing both the pipeline and the HTTP layer's events hold.
  const traces = new WeakMap<IncomingHttpHeaders, RequestTrace | typeof NOT_SAMPLED>();

  /** Decides sampling as the tracer will (ratio on the trace id, or the parent's flag). */
  const begin = (headers: IncomingHttpHeaders, clientStart: number): RequestTrace | undefined => {
    const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const traceId = trace.getSpanContext(parent)?.traceId ?? random.generateTraceId();
    const decision = sampler.shouldSample(parent, traceId, '', SpanKind.SERVER, {}, []).decision;
    if (decision !== SamplingDecision.RECORD_AND_SAMPLED) return undefined;
    return { parent, traceId, serverSpanId: random.generateSpanId(), clientSpanId: random.generateSpanId(), clientStart };
  };

  const startSpan = (name: string, kind: SpanKind, parent: Context, ids: { traceId: string; spanId: string }, startTime: number, attributes: Attributes) => {
    presetIds.traceId = ids.traceId;
    presetIds.spanId = ids.spanId;
    return tracer.startSpan(name, { kind, startTime, attributes }, parent);
  };

  const onUpstreamCall = (event: UpstreamCallEvent): void => {
    const found = event.headers === undefined ? undefined : traces.get(event.headers);
    if (found === undefined || found === NOT_SAMPLED) return;
    found.clientEnd = performance.now();
    found.clientCode = event.code;
  };

  const onRequest = (event: RequestEvent): void => {
    const now = performance.now();
    const headers = event.headers;
    let found = headers === undefined ? undefined : traces.get(headers);
    if (headers !== undefined) traces.delete(headers);
    if (found === NOT_SAMPLED) return;
    // No upstream call (refused, not found, failed validation): a SERVER span alone.
    const upstreamCalled = found !== undefined;
    found ??= begin(headers ?? {}, now);
    if (found === undefined) return;
    const route = event.route?.spec;
    const attributes: Attributes = {
      'http.request.method': event.method,
      'http.response.status_code': event.status,
      'rpc.grpc.status_code': event.grpcCode,
      'protogate.request_id': event.requestId,
    };
    if (route !== undefined) {
      attributes['http.route'] = route.template;
      attributes['rpc.system'] = 'grpc';
      attributes['rpc.service'] = route.service;
      attributes['rpc.method'] = route.method;
    }
    const name = route === undefined ? event.method : `${event.method} ${route.template}`;
    const server = startSpan(name, SpanKind.SERVER, found.parent, { traceId: found.traceId, spanId: found.serverSpanId }, now - event.durationMs, attributes);
    // Semantic conventions: a server span is an error for 5xx only (4xx is the client's).
    if (event.status >= 500) server.setStatus({ code: SpanStatusCode.ERROR, ...(event.reason === undefined ? {} : { message: event.reason }) });
    if (upstreamCalled && route !== undefined) {
      // A stream publishes no upstream-call event: its call lasted until the request was answered.
      const code = found.clientCode ?? event.grpcCode;
      const client = startSpan(`${route.service}/${route.method}`, SpanKind.CLIENT, trace.setSpan(found.parent, server), { traceId: found.traceId, spanId: found.clientSpanId }, found.clientStart, {
        'rpc.system': 'grpc',
        'rpc.service': route.service,
        'rpc.method': route.method,
        'rpc.grpc.status_code': code,
      });
      if (code !== 0) client.setStatus({ code: SpanStatusCode.ERROR });
      client.end(found.clientEnd ?? now);
    }
    server.end(now);
  };

  return {
    traceparentFor(headers) {
      let found = traces.get(headers);
      if (found === undefined) traces.set(headers, (found = begin(headers, performance.now()) ?? NOT_SAMPLED));
      if (found === NOT_SAMPLED) return undefined;
      return `00-${found.traceId}-${found.clientSpanId}-01`;
    },
    observe: (pipeline) => subscribeRequests(pipeline, { end: onRequest, upstreamCall: onUpstreamCall }),
    // A collector that is down loses these spans; it never fails the gateway's close.
    close: () => provider.shutdown().catch(() => undefined),
  };
}

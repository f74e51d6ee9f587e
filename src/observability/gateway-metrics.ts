// Prometheus metrics for one gateway, fed by the request events (request-events.ts) and read
// on the admin port. Each gateway has its own Registry, so several can share a process.
// Label values are fixed per route when the gateway starts: a request looks up a cached series
// and increments it, with no label hashing or string building on the request path.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { codeName } from '../errors/codes.js';
import type { Pipeline } from '../pipeline.js';
import type { CompiledRoute } from '../transcode/compiled-route.js';
import type { BreakerState } from '../upstream/circuit-breaker.js';
import type { TransportState } from '../upstream/transport.js';
import { subscribeRequests, type RateLimitEvent, type RequestEvent, type UpstreamCallEvent } from './request-events.js';

/** The route label of requests no route matched. */
export const NO_ROUTE = '(none)';

/** Latency buckets in seconds: sub-millisecond gateway work up to the default 15 s deadline. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];

const TRANSPORT_STATES: readonly TransportState[] = ['idle', 'connecting', 'ready', 'transient-failure', 'shutdown'];

/** A gateway's metrics: the text exposition for /metrics, and a way to stop collecting. */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The Prometheus text exposition of every metric. */
  text(): Promise<string>;
  /** Starts counting `pipeline`'s requests too (after a reload); returns the function that stops it. */
  observe(pipeline: Pipeline): () => void;
  /** Stops listening to request events. */
  close(): void;
}

/** What the metrics read besides the events. */
export interface GatewayMetricsOptions {
  /** Connectivity per upstream target, read at scrape time. */
  readonly upstreamStates?: () => ReadonlyArray<{ target: string; state: TransportState }>;
  /** Circuit breaker state per upstream target, read at scrape time. */
  readonly breakerStates?: () => ReadonlyArray<{ target: string; state: BreakerState }>;
  /** Every upstream address and whether it is in rotation (not ejected, passing health checks), read at scrape time. */
  readonly addressStates?: () => ReadonlyArray<{ target: string; address: string; healthy: boolean; ejected: boolean }>;
}

/** The breaker gauge's values: 0 closed, 1 half-open, 2 open (higher is worse, so alerts read `> 0`). */
const BREAKER_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

type CounterSeries = Counter.Internal;
type HistogramSeries = Histogram.Internal<string>;

/** The series of one (route, method); statuses and codes are filled in on first use. */
interface RouteSeries {
  readonly route: string;
  readonly method: string;
  readonly byStatus: Map<number, CounterSeries>;
  readonly duration: HistogramSeries;
}

interface UpstreamSeries {
  readonly service: string;
  readonly method: string;
  readonly byCode: Array<CounterSeries | undefined>;
  readonly duration: HistogramSeries;
}

/** Creates the metrics of a gateway and starts counting `pipeline`'s requests (if given; see `observe`). */
export function createGatewayMetrics(pipeline: Pipeline | undefined, options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Counter({
    name: 'protogate_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'],
    registers,
  });
  const requestDuration = new Histogram({
    name: 'protogate_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to its reply being written, by route template.',
    labelNames: ['route', 'method'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const inFlight = new Gauge({
    name: 'protogate_http_requests_in_flight',
    help: 'HTTP requests received and not yet answered.',
    registers,
  });
  const upstreamCalls = new Counter({
    name: 'protogate_upstream_calls_total',
    help: 'Unary calls to upstream services, by service, method and gRPC code.',
    labelNames: ['service', 'method', 'code'],
    registers,
  });
  const upstreamDuration = new Histogram({
    name: 'protogate_upstream_call_duration_seconds',
    help: 'Duration of unary calls to upstream services, by service and method.',
    labelNames: ['service', 'method'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const rateLimitRejections = new Counter({
    name: 'protogate_rate_limit_rejections_total',
    help: 'Calls refused with 429 by a rate limit, by route template and method.',
    labelNames: ['route', 'method'],
    registers,
  });
  const staleAnswers = new Counter({
    name: 'protogate_stale_answers_total',
    help: 'GET answers served from resilience.staleCache because the upstream was unavailable, by route template and method.',
    labelNames: ['route', 'method'],
    registers,
  });
  const fallbackAnswers = new Counter({
    name: 'protogate_fallback_answers_total',
    help: 'Answers served from resilience.fallbacks because the upstream was out (breaker open, or no address in rotation), by route template and method.',
    labelNames: ['route', 'method'],
    registers,
  });
  const rateLimitStoreFailures = new Counter({
    name: 'protogate_rate_limit_store_failures_total',
    help: 'Rate-limit checks the store (Redis) failed to answer; each was let through or answered 503 per rateLimit.onStoreFailure.',
    registers,
  });
  const upstreamStates = options.upstreamStates;
  if (upstreamStates !== undefined) {
    new Gauge({
      name: 'protogate_upstream_connectivity',
      help: 'Connectivity of each upstream target: 1 for its current state, 0 for the others.',
      labelNames: ['target', 'state'],
      registers,
      collect() {
        for (const { target, state } of upstreamStates()) {
          for (const candidate of TRANSPORT_STATES) this.set({ target, state: candidate }, candidate === state ? 1 : 0);
        }
      },
    });
  }

  const breakerStates = options.breakerStates;
  if (breakerStates !== undefined) {
    new Gauge({
      name: 'protogate_upstream_breaker_state',
      help: 'Circuit breaker of each upstream target: 0 closed, 1 half-open, 2 open.',
      labelNames: ['target'],
      registers,
      collect() {
        for (const { target, state } of breakerStates()) this.set({ target }, BREAKER_VALUES[state]);
      },
    });
  }

  const addressStates = options.addressStates;
  if (addressStates !== undefined) {
    new Gauge({
      name: 'protogate_upstream_address_healthy',
      help: 'Each upstream address: 1 while it takes calls, 0 while ejected or failing health checks.',
      labelNames: ['target', 'address'],
      registers,
      collect() {
        // addresses come and go (DNS): only the current ones are reported
        this.reset();
        for (const { target, address, healthy: up } of addressStates()) this.set({ target, address }, up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'protogate_upstream_address_ejected',
      help: 'Each upstream address: 1 while passive outlier detection has ejected it.',
      labelNames: ['target', 'address'],
      registers,
      collect() {
        this.reset();
        for (const { target, address, ejected } of addressStates()) this.set({ target, address }, ejected ? 1 : 0);
      },
    });
  }

  const routeSeries = (route: string, method: string): RouteSeries => ({
    route,
    method,
    byStatus: new Map(),
    duration: requestDuration.labels(route, method),
  });
  // Per pipeline: a reload observes the new one beside the old until the old one's requests are done.
  const observe = (observed: Pipeline): (() => void) => {
    const byRoute = new Map<CompiledRoute, RouteSeries>();
    const byRpc = new Map<CompiledRoute, UpstreamSeries>();
    for (const route of observed.routes) {
      const spec = route.spec;
      byRoute.set(route, routeSeries(spec.template, spec.httpMethod));
      byRpc.set(route, { service: spec.service, method: spec.method, byCode: [], duration: upstreamDuration.labels(spec.service, spec.method) });
    }
    // Unmatched requests, by method (Node's parser admits only a fixed set of methods).
    const unmatched = new Map<string, RouteSeries>();

    const onRequest = (event: RequestEvent): void => {
      let series = event.route === undefined ? undefined : byRoute.get(event.route);
      if (series === undefined) {
        series = unmatched.get(event.method);
        if (series === undefined) unmatched.set(event.method, (series = routeSeries(NO_ROUTE, event.method)));
      }
      let counter = series.byStatus.get(event.status);
      if (counter === undefined) series.byStatus.set(event.status, (counter = requests.labels(series.route, series.method, String(event.status))));
      counter.inc();
      series.duration.observe(event.durationMs / 1000);
      if (event.stale === true) staleAnswers.labels(series.route, series.method).inc();
      if (event.fallback === true) fallbackAnswers.labels(series.route, series.method).inc();
      inFlight.dec();
    };
    const onUpstreamCall = (event: UpstreamCallEvent): void => {
      const series = byRpc.get(event.route);
      if (series === undefined) return;
      const code = event.code >= 0 && event.code <= 16 ? event.code : 2;
      let counter = series.byCode[code];
      if (counter === undefined) series.byCode[code] = counter = upstreamCalls.labels(series.service, series.method, codeName(code));
      counter.inc();
      series.duration.observe(event.durationMs / 1000);
    };
    const rejectionsByRoute = new Map<CompiledRoute, CounterSeries>();
    const onRateLimit = (event: RateLimitEvent): void => {
      if (event.outcome === 'store-failure') return rateLimitStoreFailures.inc();
      let counter = rejectionsByRoute.get(event.route);
      if (counter === undefined) rejectionsByRoute.set(event.route, (counter = rateLimitRejections.labels(event.route.spec.template, event.route.spec.httpMethod)));
      counter.inc();
    };
    return subscribeRequests(observed, { start: () => inFlight.inc(), end: onRequest, upstreamCall: onUpstreamCall, rateLimit: onRateLimit });
  };
  const subscriptions = new Set<() => void>();
  const metrics: GatewayMetrics = {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    observe(observed) {
      const unsubscribe = observe(observed);
      subscriptions.add(unsubscribe);
      return () => {
        subscriptions.delete(unsubscribe);
        unsubscribe();
      };
    },
    close() {
      for (const unsubscribe of subscriptions) unsubscribe();
      subscriptions.clear();
    },
  };
  if (pipeline !== undefined) metrics.observe(pipeline);
  return metrics;
}

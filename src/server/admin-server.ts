// The admin port: liveness, readiness and Prometheus metrics for orchestrators and scrapers.
import Fastify, { type FastifyInstance } from 'fastify';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { BreakerState } from '../upstream/circuit-breaker.js';
import type { TransportState } from '../upstream/transport.js';

/** What readiness depends on, and what the admin port serves. */
export interface AdminChecks {
  /** True once the main port is listening. */
  listening(): boolean;
  /** Connectivity per upstream target; every configured upstream is required. */
  upstreams(): ReadonlyArray<{ target: string; state: TransportState }>;
  /** Circuit breaker state per upstream target; an open breaker makes the gateway not ready. */
  breakers?(): ReadonlyArray<{ target: string; state: BreakerState }>;
  /** Every upstream address: connectivity and whether it is in rotation (shown, not judged: `upstreams` already says whether any address serves). */
  addresses?(): ReadonlyArray<{ target: string; address: string; state: TransportState; healthy: boolean; ejected: boolean }>;
  /** Served at /metrics when present (a gateway's own, or a cluster primary's sum over its workers). */
  metrics?: Pick<GatewayMetrics, 'contentType' | 'text'> | undefined;
}

/**
 * A Fastify instance with /healthz (process alive), /readyz (listening, and no required upstream
 * with every address in transient-failure or with its circuit breaker open) and, with metrics, /metrics.
 */
export function createAdminServer(checks: AdminChecks): FastifyInstance {
  const admin = Fastify({ logger: false });
  admin.get('/healthz', async () => ({ status: 'ok' }));
  admin.get('/readyz', async (_request, reply) => {
    const listening = checks.listening();
    const upstreams = checks.upstreams();
    // A transport reports transient-failure only when every one of its connections is failing; an
    // upstream of several addresses, when no address is in rotation (ejected, failing health checks
    // or unreachable), so each required upstream needs one address that serves.
    const failing = upstreams.filter((upstream) => upstream.state === 'transient-failure').map((upstream) => upstream.target);
    // Half-open stays ready: traffic must reach the gateway for the probe to close the breaker.
    const breakers = checks.breakers?.() ?? [];
    const open = breakers.filter((breaker) => breaker.state === 'open').map((breaker) => breaker.target);
    const ready = listening && failing.length === 0 && open.length === 0;
    const reasons = [
      ...(listening ? [] : ['not listening (starting, or draining for shutdown)']),
      ...failing.map((target) => `upstream ${target} is unreachable`),
      ...open.map((target) => `upstream ${target} has its circuit breaker open`),
    ];
    const addresses = checks.addresses?.() ?? [];
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', listening, upstreams, breakers, addresses, ...(ready ? {} : { reasons }) });
  });
  const metrics = checks.metrics;
  if (metrics !== undefined) {
    admin.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  }
  return admin;
}

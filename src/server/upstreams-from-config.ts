// The upstream registry a config describes: upstreams (addresses, DNS names), the transport,
// balancing, outlier ejection, health checks, breaker and retries. Every change an operator
// should see (an address ejected or failing health checks, a breaker opening, a DNS lookup
// failing) is logged here.
import type { Logger } from 'pino';
import { parseDurationMs } from '../config/duration.js';
import type { GatewayConfig } from '../config/config-schema.js';
import { createGrpcJsTransport } from '../upstream/channel-pool.js';
import { createWireTransport } from '../upstream/h2-wire/wire-transport.js';
import { createHttp2Transport } from '../upstream/http2-transport.js';
import type { ResilienceOptions } from '../upstream/resilient-transport.js';
import { UpstreamRegistry, type BalancingOptions, type TransportFactory, type UpstreamEntry } from '../upstream/upstream-registry.js';
import { readUpstreamTls, type UpstreamTls } from '../upstream/upstream-tls.js';

const ms = (text: string): number => parseDurationMs(text)!;

/** The `resilience` config as the upstream registry takes it; breaker state changes are logged. */
export function resilienceOptions(config: GatewayConfig, logger: Logger): ResilienceOptions {
  const { breaker, retry } = config.resilience;
  const ratio = breaker.failureRatio;
  return {
    breaker: breaker.enabled
      ? {
          failureThreshold: breaker.failureThreshold,
          cooldownMs: ms(breaker.cooldown),
          ...(ratio === undefined ? {} : { failureRatio: { ratio: ratio.ratio, windowMs: ms(ratio.window), minRequests: ratio.minRequests } }),
        }
      : undefined,
    retry: {
      maxRetries: retry.maxRetries,
      onDeadlineExceeded: retry.onDeadlineExceeded,
      baseDelayMs: ms(retry.baseDelay),
      maxDelayMs: ms(retry.maxDelay),
      budgetRatio: retry.budgetRatio,
      budgetMinPerSecond: retry.budgetMinPerSecond,
    },
    onBreakerStateChange: (target, state, previous) =>
      logger[state === 'open' ? 'warn' : 'info']({ target, state, previous }, `upstream circuit breaker ${state}`),
  };
}

/** `upstream.balance`, `upstream.outlierDetection` and `upstream.healthCheck`, with their log lines. */
function balancingOptions(config: GatewayConfig, logger: Logger): BalancingOptions {
  const { balance, outlierDetection: outlier, healthCheck: health } = config.upstream;
  return {
    balance,
    outlier: outlier.enabled
      ? {
          consecutiveFailures: outlier.consecutiveFailures,
          baseEjectionMs: ms(outlier.baseEjectionTime),
          maxEjectionMs: ms(outlier.maxEjectionTime),
          maxEjectedPercent: outlier.maxEjectedPercent,
        }
      : undefined,
    healthCheck: health.enabled
      ? {
          intervalMs: ms(health.interval),
          timeoutMs: ms(health.timeout),
          unhealthyThreshold: health.unhealthyThreshold,
          healthyThreshold: health.healthyThreshold,
          service: health.service,
        }
      : undefined,
    onAddressChange: (target, address, change, detail) => {
      const bad = change === 'ejected' || change === 'unhealthy';
      logger[bad ? 'warn' : 'info']({ target, address, change, detail }, `upstream address ${change}`);
    },
    onDnsError: (target, message) => logger.warn({ target, err: message }, 'upstream DNS lookup failed'),
  };
}

/** The config's upstream entries as the registry takes them, TLS files read (throws an Error naming the key of a bad file). */
export function upstreamEntries(config: GatewayConfig): UpstreamEntry[] {
  // the same tls settings read once, so upstreams that share them can share transports
  const tlsByFiles = new Map<string, UpstreamTls>();
  return config.upstreams.map((entry, i) => {
    let tls: UpstreamTls | undefined;
    if (entry.tls !== undefined) {
      const files = JSON.stringify(entry.tls);
      tls = tlsByFiles.get(files);
      if (tls === undefined) tlsByFiles.set(files, (tls = readUpstreamTls(entry.tls, `upstreams[${i}].tls`)));
    }
    return {
      service: entry.service,
      target: entry.target,
      addresses: entry.addresses,
      dns: entry.dns,
      dnsRefreshMs: entry.dnsRefresh === undefined ? undefined : ms(entry.dnsRefresh),
      tls,
    };
  });
}

/** `upstream.transport` → the client it names. */
const transportFactories: Readonly<Record<GatewayConfig['upstream']['transport'], TransportFactory>> = {
  http2: createHttp2Transport,
  wire: createWireTransport,
  'grpc-js': createGrpcJsTransport,
};

/** The registry of every configured upstream; DNS upstreams have had their first lookup when it resolves. */
export async function createUpstreams(config: GatewayConfig, logger: Logger): Promise<UpstreamRegistry> {
  const registry = new UpstreamRegistry(
    upstreamEntries(config),
    {
      size: config.upstream.channels,
      maxReceiveMessageBytes: config.upstream.maxResponseBytes,
      ...(config.upstream.keepaliveInterval === undefined ? {} : { keepaliveMs: ms(config.upstream.keepaliveInterval) }),
    },
    transportFactories[config.upstream.transport],
    resilienceOptions(config, logger),
    balancingOptions(config, logger),
  );
  await registry.resolved();
  return registry;
}

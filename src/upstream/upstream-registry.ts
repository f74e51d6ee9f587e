// Maps gRPC services to the transports that reach them (DESIGN §3: `--upstream SERVICE=HOST:PORT`,
// `*` for every service without its own entry). An upstream is one address, a list of addresses
// or a DNS name; services naming the same upstream share its transport. A single static address
// (without health checks) gets its transport directly; anything more goes through a balancer
// (balancer.ts). Either is wrapped with the upstream's circuit breaker and retries.
import { BalancedTransport, type AddressStatus, type BalancePolicy, type BalancerOptions, type OutlierOptions } from './balancer.js';
import { createGrpcJsTransport, type ChannelPoolOptions } from './channel-pool.js';
import type { BreakerState } from './circuit-breaker.js';
import { watchDns, type DnsWatch, type ResolveHost } from './dns-addresses.js';
import type { HealthCheckOptions } from './health-check.js';
import { createResilientTransport, type ResilienceOptions, type ResilientTransport } from './resilient-transport.js';
import type { TransportState, UpstreamTransport } from './transport.js';
import type { UpstreamTls } from './upstream-tls.js';

/** One service's upstream: exactly one of `target`, `addresses` or `dns`. */
export interface UpstreamEntry {
  /** fully-qualified service name ('pkg.Service') or '*' */
  readonly service: string;
  /** host:port */
  readonly target?: string | undefined;
  /** host:port each, balanced */
  readonly addresses?: readonly string[] | undefined;
  /** name:port, whose A/AAAA records are the addresses */
  readonly dns?: string | undefined;
  /** how often `dns` is looked up again (default 30 s) */
  readonly dnsRefreshMs?: number | undefined;
  /** TLS to every address (upstream-tls.ts); absent: plaintext */
  readonly tls?: UpstreamTls | undefined;
}

/** Something that makes a transport for an address; grpc-js pools unless told otherwise. */
export type TransportFactory = (options: ChannelPoolOptions) => UpstreamTransport & { state?(): TransportState };

/** How upstreams with several addresses spread calls and take bad addresses out. */
export interface BalancingOptions {
  readonly balance?: BalancePolicy | undefined;
  readonly outlier?: OutlierOptions | undefined;
  readonly healthCheck?: HealthCheckOptions | undefined;
  readonly onAddressChange?: BalancerOptions['onAddressChange'];
  readonly onDnsError?: ((upstream: string, message: string) => void) | undefined;
  /** Tests only: a resolver instead of the system's. */
  readonly resolveHost?: ResolveHost | undefined;
}

/** One upstream's address, as metrics and /readyz show it. */
export interface UpstreamAddressStatus extends AddressStatus {
  /** the upstream's name */
  readonly target: string;
}

const ANY_SERVICE = '*';
const DEFAULT_DNS_REFRESH_MS = 30_000;

type Transport = UpstreamTransport & { state?(): TransportState };

interface Upstream {
  /** the target label of logs and metrics: 'host:port', 'h1:p1,h2:p2' or 'dns:name:port' */
  readonly name: string;
  /** what services get: the resilient wrapper, else the balancer or the single transport */
  readonly transport: Transport;
  readonly resilient: ResilientTransport | undefined;
  readonly balancer: BalancedTransport | undefined;
  readonly dns: DnsWatch | undefined;
}

/** The name an upstream is known by in logs, metrics and /readyz (never shown to clients). */
export function upstreamName(entry: UpstreamEntry): string {
  if (entry.target !== undefined) return entry.target;
  if (entry.addresses !== undefined) return entry.addresses.join(',');
  if (entry.dns !== undefined) return `dns:${entry.dns}`;
  throw new Error(`upstream for service "${entry.service}" has no target, addresses or dns`);
}

/**
 * service name ('pkg.Service' or '*') → upstream; resolves a service to its transport (exact
 * entry, else '*', else undefined); one transport per distinct upstream, shared.
 */
export class UpstreamRegistry {
  readonly #byService = new Map<string, Upstream>();
  /** by name and TLS settings: the same addresses with and without TLS are two upstreams */
  readonly #byKey = new Map<string, Upstream>();
  readonly #tlsIds = new Map<UpstreamTls, number>();

  /**
   * With `resilience`, each upstream's transport is wrapped with its circuit breaker and retries
   * (resilient-transport.ts). Throws on a service listed twice: the config layer reports that as a startup error. */
  constructor(
    entries: readonly UpstreamEntry[],
    options: Omit<ChannelPoolOptions, 'target'> = {},
    createTransport: TransportFactory = createGrpcJsTransport,
    resilience?: ResilienceOptions,
    balancing: BalancingOptions = {},
  ) {
    for (const entry of entries) {
      if (this.#byService.has(entry.service)) throw new Error(`upstream for service "${entry.service}" is configured twice`);
      const name = upstreamName(entry);
      const key = `${name} ${this.#tlsId(entry.tls)}`;
      let upstream = this.#byKey.get(key);
      if (upstream === undefined) {
        upstream = this.#create(name, entry, { ...options, ...(entry.tls === undefined ? {} : { tls: entry.tls }) }, createTransport, resilience, balancing);
        this.#byKey.set(key, upstream);
      }
      this.#byService.set(entry.service, upstream);
    }
  }

  #tlsId(tls: UpstreamTls | undefined): number {
    if (tls === undefined) return 0;
    let id = this.#tlsIds.get(tls);
    if (id === undefined) this.#tlsIds.set(tls, (id = this.#tlsIds.size + 1));
    return id;
  }

  #create(
    name: string,
    entry: UpstreamEntry,
    options: Omit<ChannelPoolOptions, 'target'>,
    createTransport: TransportFactory,
    resilience: ResilienceOptions | undefined,
    balancing: BalancingOptions,
  ): Upstream {
    const single = entry.target ?? (entry.addresses?.length === 1 ? entry.addresses[0] : undefined);
    let inner: Transport;
    let balancer: BalancedTransport | undefined;
    let dns: DnsWatch | undefined;
    if (single !== undefined && balancing.healthCheck === undefined) {
      // one address: nothing to balance, and outlier ejection never ejects the last address
      inner = createTransport({ ...options, target: single });
    } else {
      balancer = new BalancedTransport({
        name,
        policy: balancing.balance ?? 'round-robin',
        createTransport: (address) => createTransport({ ...options, target: address }),
        outlier: balancing.outlier,
        healthCheck: balancing.healthCheck,
        onAddressChange: balancing.onAddressChange,
      });
      if (entry.dns !== undefined) {
        const target = balancer;
        dns = watchDns(
          entry.dns,
          entry.dnsRefreshMs ?? DEFAULT_DNS_REFRESH_MS,
          (addresses) => target.setAddresses(addresses),
          (message) => {
            // a name that never resolved has no address: not 'connecting' for /readyz, but failing
            if (!target.hasAddresses()) target.setAddresses([]);
            balancing.onDnsError?.(name, message);
          },
          balancing.resolveHost,
        );
      } else {
        balancer.setAddresses(single !== undefined ? [single] : entry.addresses!);
      }
      inner = balancer;
    }
    const resilient = resilience === undefined ? undefined : createResilientTransport(name, inner, resilience);
    return { name, transport: resilient ?? inner, resilient, balancer, dns };
  }

  /** Settles once every DNS upstream had its first lookup (at once without DNS upstreams). */
  async resolved(): Promise<void> {
    await Promise.all([...this.#byKey.values()].map((upstream) => upstream.dns?.first));
  }

  /** The transport for a service: its own entry, else the '*' entry, else undefined. */
  transportFor(service: string): UpstreamTransport | undefined {
    return (this.#byService.get(service) ?? this.#byService.get(ANY_SERVICE))?.transport;
  }

  /** The upstream's name ('host:port', …) serving a service, chosen as `transportFor` chooses. */
  targetFor(service: string): string | undefined {
    return (this.#byService.get(service) ?? this.#byService.get(ANY_SERVICE))?.name;
  }

  /**
   * Connectivity per upstream, for readiness checks ('idle' when a transport cannot tell). An
   * upstream with several addresses is as ready as its best address in rotation, and
   * 'transient-failure' when none is in rotation.
   */
  states(): Array<{ target: string; state: TransportState }> {
    return [...this.#byKey.values()].map(({ name, transport }) => ({ target: name, state: transport.state?.() ?? 'idle' }));
  }

  /** Every upstream's addresses: connectivity, and whether each is in rotation. */
  addresses(): UpstreamAddressStatus[] {
    const statuses: UpstreamAddressStatus[] = [];
    for (const { name, transport, balancer } of this.#byKey.values()) {
      if (balancer !== undefined) {
        for (const address of balancer.addresses()) statuses.push({ target: name, ...address });
      } else {
        const state = transport.state?.() ?? 'idle';
        const healthy = state !== 'transient-failure' && state !== 'shutdown';
        statuses.push({ target: name, address: name, state, healthy, ejected: false, passingHealthChecks: true });
      }
    }
    return statuses;
  }

  /** Circuit breaker state per upstream, for metrics and readiness (empty without breakers). */
  breakers(): Array<{ target: string; state: BreakerState }> {
    const states: Array<{ target: string; state: BreakerState }> = [];
    for (const { name, resilient } of this.#byKey.values()) {
      const state = resilient?.breakerState();
      if (state !== undefined) states.push({ target: name, state });
    }
    return states;
  }

  /** Closes every transport, waiting for the calls in flight. */
  async close(): Promise<void> {
    for (const upstream of this.#byKey.values()) upstream.dns?.stop();
    await Promise.all([...this.#byKey.values()].map((upstream) => upstream.transport.close()));
  }
}

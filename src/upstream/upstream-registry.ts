// Maps gRPC services to the transports that reach them (DESIGN §3: `--upstream SERVICE=HOST:PORT`,
// `*` for every service without its own entry). Services sharing an address share one pool.
import { createGrpcJsTransport, type ChannelPoolOptions } from './channel-pool.js';
import type { BreakerState } from './circuit-breaker.js';
import { createResilientTransport, type ResilienceOptions, type ResilientTransport } from './resilient-transport.js';
import type { TransportState, UpstreamTransport } from './transport.js';

/** One `--upstream` entry. */
export interface UpstreamEntry {
  /** fully-qualified service name ('pkg.Service') or '*' */
  service: string;
  /** host:port */
  target: string;
}

/** Something that makes a transport for an address; grpc-js pools unless told otherwise. */
export type TransportFactory = (options: ChannelPoolOptions) => UpstreamTransport & { state?(): TransportState };

const ANY_SERVICE = '*';

/**
 * service name ('pkg.Service' or '*') → target; resolves a service to its transport (exact
 * entry, else '*', else undefined); one transport per distinct target, shared.
 */
export class UpstreamRegistry {
  readonly #byService = new Map<string, UpstreamTransport>();
  readonly #byTarget = new Map<string, UpstreamTransport & { state?(): TransportState }>();
  readonly #resilient: ResilientTransport[] = [];
  readonly #resilientTargets: string[] = [];

  /**
   * With `resilience`, each target's transport is wrapped with its circuit breaker and retries
   * (resilient-transport.ts). Throws on a service listed twice: the config layer reports that as a startup error. */
  constructor(
    entries: ReadonlyArray<{ service: string; target: string }>,
    options: Omit<ChannelPoolOptions, 'target'> = {},
    createTransport: TransportFactory = createGrpcJsTransport,
    resilience?: ResilienceOptions,
  ) {
    for (const { service, target } of entries) {
      if (this.#byService.has(service)) throw new Error(`upstream for service "${service}" is configured twice`);
      let transport = this.#byTarget.get(target);
      if (transport === undefined) {
        transport = createTransport({ ...options, target });
        if (resilience !== undefined) {
          const wrapped = createResilientTransport(target, transport, resilience);
          this.#resilient.push(wrapped);
          this.#resilientTargets.push(target);
          transport = wrapped;
        }
        this.#byTarget.set(target, transport);
      }
      this.#byService.set(service, transport);
    }
  }

  /** The transport for a service: its own entry, else the '*' entry, else undefined. */
  transportFor(service: string): UpstreamTransport | undefined {
    return this.#byService.get(service) ?? this.#byService.get(ANY_SERVICE);
  }

  /** The target ('host:port') serving a service, chosen as `transportFor` chooses. */
  targetFor(service: string): string | undefined {
    const transport = this.transportFor(service);
    if (transport === undefined) return undefined;
    for (const [target, candidate] of this.#byTarget) if (candidate === transport) return target;
    return undefined;
  }

  /** Connectivity per target, for readiness checks ('idle' when a transport cannot tell). */
  states(): Array<{ target: string; state: TransportState }> {
    return [...this.#byTarget].map(([target, transport]) => ({ target, state: transport.state?.() ?? 'idle' }));
  }

  /** Circuit breaker state per target, for metrics and readiness (empty without breakers). */
  breakers(): Array<{ target: string; state: BreakerState }> {
    const states: Array<{ target: string; state: BreakerState }> = [];
    for (let i = 0; i < this.#resilient.length; i++) {
      const state = this.#resilient[i]!.breakerState();
      if (state !== undefined) states.push({ target: this.#resilientTargets[i]!, state });
    }
    return states;
  }

  /** Closes every transport, waiting for the calls in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.#byTarget.values()].map((transport) => transport.close()));
  }
}

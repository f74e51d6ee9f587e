// One upstream with several addresses (DESIGN §5: channels are pooled per upstream address set and
// the pool balances calls). Holds one transport per address (node:http2 or grpc-js, made by the
// registry's factory) and sends each call to one address in rotation: round-robin, or the less
// loaded of two random picks (least outstanding requests, "power of two choices" as Envoy's
// LEAST_REQUEST). An address leaves the rotation while it is ejected by passive outlier detection
// (consecutive UNAVAILABLE results) or failed by active health checks (health-check.ts); with no
// address in rotation a call fails at once with UNAVAILABLE.
//
// Per call: the pick reads a few fields (no allocation, no clock), and the result goes through a
// settle function made once per address. A retry (resilient-transport.ts calls `unaryRetry`)
// avoids the address whose failure it retries whenever another one is in rotation.
import { Code } from '../errors/codes.js';
import { probeHealth, type HealthCheckOptions } from './health-check.js';
import { failedBidiStream, failedClientStream } from './client-stream.js';
import type { BidiStreamCall, CallFailure, ClientStreamCall, MetadataPairs, ServerStreamCall, TransportState, UnaryRequest, UnaryResult, UpstreamTransport } from './transport.js';
import { localFailure } from './unary-call.js';

/** How calls are spread over the addresses in rotation. */
export type BalancePolicy = 'round-robin' | 'least-outstanding';

/** Passive outlier detection (Envoy's consecutive_gateway_failure, with its ejection rules). */
export interface OutlierOptions {
  /** Consecutive UNAVAILABLE results from one address that eject it (≥ 1). */
  readonly consecutiveFailures: number;
  /** First ejection time; the n-th ejection in a row lasts n times as long… */
  readonly baseEjectionMs: number;
  /** …but never longer than this. An address back in rotation this long starts again at base. */
  readonly maxEjectionMs: number;
  /** At most this share of the addresses is ejected at once (at least one address, never all). */
  readonly maxEjectedPercent: number;
}

/** What happened to an address, for logs. */
export type AddressChange = 'added' | 'removed' | 'ejected' | 'returned' | 'unhealthy' | 'healthy';

/** One address of an upstream as metrics and /readyz show it. */
export interface AddressStatus {
  readonly address: string;
  /** connectivity of its transport */
  readonly state: TransportState;
  /** in rotation: not ejected and not failed by health checks */
  readonly healthy: boolean;
  readonly ejected: boolean;
  /** false once active health checks failed it (true without health checks) */
  readonly passingHealthChecks: boolean;
}

type Inner = UpstreamTransport & { state?(): TransportState };

export interface BalancerOptions {
  /** The upstream's name, for causes and logs. */
  readonly name: string;
  readonly policy: BalancePolicy;
  /** Makes the transport of one address ('host:port'). */
  readonly createTransport: (address: string) => Inner;
  /** Absent: no ejection. */
  readonly outlier?: OutlierOptions | undefined;
  /** Absent: no active health checks. */
  readonly healthCheck?: HealthCheckOptions | undefined;
  readonly onAddressChange?: ((upstream: string, address: string, change: AddressChange, detail: string) => void) | undefined;
}

/** The address whose failure a result is: a retry of that result avoids it. Failures only. */
const failedAt = new WeakMap<UnaryResult, Endpoint>();
const noAddressFailures = new WeakSet<UnaryResult>();

/** Whether `result` is the balancer's "no address in rotation": retrying it at once cannot help. */
export function isNoAddressFailure(result: UnaryResult): boolean {
  return !result.ok && noAddressFailures.has(result);
}

class Endpoint {
  outstanding = 0;
  /** consecutive UNAVAILABLE results */
  failures = 0;
  ejected = false;
  /** ejections in a row (the multiplier of the ejection time) */
  ejections = 0;
  returnedAt = 0;
  ejectionTimer: NodeJS.Timeout | undefined = undefined;
  /** active health: the address's verdict and the streak of probe results towards a change */
  passing = true;
  streak = 0;
  probing = false;
  /** in rotation: kept equal to `!ejected && passing && !removed` so a pick reads one field */
  available = true;
  removed = false;
  readonly settle: (result: UnaryResult) => UnaryResult;

  constructor(
    readonly address: string,
    readonly transport: Inner,
    owner: BalancedTransport,
  ) {
    this.settle = (result) => owner.settled(this, result);
  }
}

/** An upstream's transports behind one UpstreamTransport; see the file comment. */
export class BalancedTransport implements UpstreamTransport {
  readonly name: string;
  readonly #options: BalancerOptions;
  readonly #leastOutstanding: boolean;
  #endpoints: Endpoint[] = [];
  #cursor = 0;
  #ejected = 0;
  #resolved = false;
  #closed = false;
  readonly #closing: Array<Promise<void>> = [];
  #healthTimer: NodeJS.Timeout | undefined = undefined;

  constructor(options: BalancerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#leastOutstanding = options.policy === 'least-outstanding';
    const health = options.healthCheck;
    if (health !== undefined) {
      this.#healthTimer = setInterval(() => this.#checkHealth(health), health.intervalMs);
      this.#healthTimer.unref();
    }
  }

  unary(request: UnaryRequest): Promise<UnaryResult> {
    return this.#call(request, undefined);
  }

  /** A retry of `request`, whose last attempt ended with `previous`: another address if one is in rotation. */
  unaryRetry(request: UnaryRequest, previous: UnaryResult): Promise<UnaryResult> {
    return this.#call(request, failedAt.get(previous));
  }

  /** Streams go to an address in rotation too; they are not counted as outstanding nor for ejection. */
  serverStream(request: UnaryRequest): ServerStreamCall {
    const endpoint = this.#leastOutstanding ? this.#pickLeastOutstanding(undefined) : this.#pickRoundRobin(undefined);
    if (endpoint === undefined) return failedStream(this.#noAddress(request.path));
    return endpoint.transport.serverStream(request);
  }

  /** Client streams are placed as server streams are; an address whose transport has none answers UNIMPLEMENTED. */
  clientStream(request: UnaryRequest): ClientStreamCall {
    const endpoint = this.#leastOutstanding ? this.#pickLeastOutstanding(undefined) : this.#pickRoundRobin(undefined);
    if (endpoint === undefined) return failedClientStream(this.#noAddress(request.path));
    const open = endpoint.transport.clientStream;
    return open === undefined ? failedClientStream(noStreams('client', request.path)) : open.call(endpoint.transport, request);
  }

  /** Bidirectional streams likewise. */
  bidiStream(request: UnaryRequest): BidiStreamCall {
    const endpoint = this.#leastOutstanding ? this.#pickLeastOutstanding(undefined) : this.#pickRoundRobin(undefined);
    if (endpoint === undefined) return failedBidiStream(this.#noAddress(request.path));
    const open = endpoint.transport.bidiStream;
    return open === undefined ? failedBidiStream(noStreams('bidirectional', request.path)) : open.call(endpoint.transport, request);
  }

  #call(request: UnaryRequest, avoid: Endpoint | undefined): Promise<UnaryResult> {
    const endpoint = this.#leastOutstanding ? this.#pickLeastOutstanding(avoid) : this.#pickRoundRobin(avoid);
    if (endpoint === undefined) return Promise.resolve(this.#noAddress(request.path));
    endpoint.outstanding++;
    return endpoint.transport.unary(request).then(endpoint.settle);
  }

  #pickRoundRobin(avoid: Endpoint | undefined): Endpoint | undefined {
    const list = this.#endpoints;
    const n = list.length;
    let fallback: Endpoint | undefined;
    for (let k = 0; k < n; k++) {
      const endpoint = list[this.#cursor]!;
      this.#cursor = this.#cursor + 1 >= n ? 0 : this.#cursor + 1;
      if (!endpoint.available) continue;
      if (endpoint !== avoid) return endpoint;
      fallback = endpoint;
    }
    return fallback;
  }

  #pickLeastOutstanding(avoid: Endpoint | undefined): Endpoint | undefined {
    const list = this.#endpoints;
    const n = list.length;
    if (n < 2) return this.#pickRoundRobin(avoid);
    const i = (Math.random() * n) | 0;
    let j = (Math.random() * (n - 1)) | 0;
    if (j >= i) j++;
    const a = list[i]!;
    const b = list[j]!;
    const aUsable = a.available && a !== avoid;
    const bUsable = b.available && b !== avoid;
    if (aUsable && bUsable) return b.outstanding < a.outstanding ? b : a;
    if (aUsable) return a;
    if (bUsable) return b;
    // both out of rotation (or the one to avoid): any other address in rotation
    return this.#pickRoundRobin(avoid);
  }

  #noAddress(path: string): CallFailure {
    const list = this.#endpoints;
    const why = !this.#resolved
      ? 'no address resolved yet'
      : list.length === 0
        ? 'no address (a DNS name that has not resolved)'
        : `none of ${list.length} addresses in rotation (${list.map((e) => `${e.address} ${e.ejected ? 'ejected' : 'failing health checks'}`).join(', ')})`;
    const failure = localFailure(Code.UNAVAILABLE, 'No healthy upstream address', `${this.name}${path}: ${why}`);
    noAddressFailures.add(failure);
    return failure;
  }

  /** An address's call ended (its settle function): outstanding count and outlier detection. */
  settled(endpoint: Endpoint, result: UnaryResult): UnaryResult {
    endpoint.outstanding--;
    if (result.ok) {
      if (endpoint.failures !== 0) endpoint.failures = 0;
      return result;
    }
    switch (result.code) {
      case Code.UNAVAILABLE: {
        failedAt.set(result, endpoint);
        const outlier = this.#options.outlier;
        if (outlier !== undefined && ++endpoint.failures >= outlier.consecutiveFailures && endpoint.available) this.#eject(endpoint, outlier);
        break;
      }
      case Code.DEADLINE_EXCEEDED:
        // may be retried (onDeadlineExceeded): elsewhere, but a slow answer does not eject
        failedAt.set(result, endpoint);
        break;
      case Code.CANCELLED:
        break; // the caller went away: says nothing about the address
      default:
        // any other status is an answer: the address is reachable
        if (endpoint.failures !== 0) endpoint.failures = 0;
    }
    return result;
  }

  #eject(endpoint: Endpoint, outlier: OutlierOptions): void {
    const list = this.#endpoints;
    const maxEjected = Math.max(1, Math.floor((list.length * outlier.maxEjectedPercent) / 100));
    let inRotation = 0;
    for (const e of list) if (e.available) inRotation++;
    // one survivor always serves: an address that is the last in rotation stays, failing or not
    if (this.#ejected >= maxEjected || inRotation <= 1) return;
    const now = Date.now();
    if (endpoint.ejections > 0 && now - endpoint.returnedAt >= outlier.maxEjectionMs) endpoint.ejections = 0;
    endpoint.ejections++;
    const ms = Math.min(outlier.baseEjectionMs * endpoint.ejections, Math.max(outlier.baseEjectionMs, outlier.maxEjectionMs));
    endpoint.ejected = true;
    endpoint.failures = 0;
    this.#ejected++;
    this.#updateAvailable(endpoint);
    endpoint.ejectionTimer = setTimeout(() => this.#return(endpoint), ms);
    endpoint.ejectionTimer.unref();
    this.#options.onAddressChange?.(this.name, endpoint.address, 'ejected', `${outlier.consecutiveFailures} consecutive UNAVAILABLE; out for ${ms} ms`);
  }

  #return(endpoint: Endpoint): void {
    endpoint.ejectionTimer = undefined;
    if (!endpoint.ejected) return;
    endpoint.ejected = false;
    endpoint.returnedAt = Date.now();
    this.#ejected--;
    this.#updateAvailable(endpoint);
    if (!endpoint.removed) this.#options.onAddressChange?.(this.name, endpoint.address, 'returned', `after ejection ${endpoint.ejections}`);
  }

  #updateAvailable(endpoint: Endpoint): void {
    endpoint.available = !endpoint.ejected && endpoint.passing && !endpoint.removed;
  }

  /** Replaces the address set ('host:port' each): new addresses get a transport, gone ones are closed once idle. */
  setAddresses(addresses: readonly string[]): void {
    if (this.#closed) return;
    this.#resolved = true;
    const byAddress = new Map(this.#endpoints.map((e) => [e.address, e]));
    const next: Endpoint[] = [];
    let added = false;
    for (const address of new Set(addresses)) {
      let endpoint = byAddress.get(address);
      if (endpoint === undefined) {
        endpoint = new Endpoint(address, this.#options.createTransport(address), this);
        added = true;
        this.#options.onAddressChange?.(this.name, address, 'added', '');
      }
      byAddress.delete(address);
      next.push(endpoint);
    }
    for (const gone of byAddress.values()) {
      gone.removed = true;
      this.#updateAvailable(gone);
      if (gone.ejected) {
        clearTimeout(gone.ejectionTimer);
        gone.ejected = false;
        this.#ejected--;
      }
      this.#closing.push(gone.transport.close());
      this.#options.onAddressChange?.(this.name, gone.address, 'removed', '');
    }
    this.#endpoints = next;
    if (this.#cursor >= next.length) this.#cursor = 0;
    // new addresses are probed now rather than after one interval
    if (added && this.#options.healthCheck !== undefined) this.#checkHealth(this.#options.healthCheck);
  }

  /** One round of health checks: every address without a probe in flight is probed once. */
  #checkHealth(options: HealthCheckOptions): void {
    for (const endpoint of this.#endpoints) {
      if (endpoint.probing || endpoint.removed) continue;
      endpoint.probing = true;
      void probeHealth(endpoint.transport, options).then(({ serving, detail }) => {
        endpoint.probing = false;
        if (this.#closed || endpoint.removed) return;
        if (serving === endpoint.passing) {
          endpoint.streak = 0;
          return;
        }
        // a change needs `threshold` probes in a row that disagree with the current verdict
        if (++endpoint.streak < (serving ? options.healthyThreshold : options.unhealthyThreshold)) return;
        endpoint.streak = 0;
        endpoint.passing = serving;
        this.#updateAvailable(endpoint);
        this.#options.onAddressChange?.(this.name, endpoint.address, serving ? 'healthy' : 'unhealthy', detail);
      });
    }
  }

  /** Whether any address was ever set (a DNS name may not have resolved yet). */
  hasAddresses(): boolean {
    return this.#endpoints.length > 0;
  }

  /** Each address with its connectivity and whether it is in rotation. */
  addresses(): AddressStatus[] {
    return this.#endpoints.map((e) => ({
      address: e.address,
      state: e.transport.state?.() ?? 'idle',
      healthy: e.available,
      ejected: e.ejected,
      passingHealthChecks: e.passing,
    }));
  }

  /**
   * The upstream's connectivity: the best among the addresses in rotation; 'transient-failure'
   * when none is in rotation (so /readyz reports it), 'connecting' before DNS answered.
   */
  state(): TransportState {
    if (this.#closed) return 'shutdown';
    if (!this.#resolved) return 'connecting';
    let best: TransportState = 'transient-failure';
    for (const e of this.#endpoints) {
      if (!e.available) continue;
      const state = e.transport.state?.() ?? 'idle';
      if (rank(state) < rank(best)) best = state;
    }
    return best;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#healthTimer);
    for (const e of this.#endpoints) clearTimeout(e.ejectionTimer);
    await Promise.all([...this.#endpoints.map((e) => e.transport.close()), ...this.#closing]);
  }
}

const NO_METADATA: MetadataPairs = [];

function noStreams(kind: string, path: string): CallFailure {
  return localFailure(Code.UNIMPLEMENTED, `The upstream transport has no ${kind} streams`, `${path}: transport without ${kind} streams`);
}

/** A stream that ended before it started, with `failure`. */
function failedStream(failure: CallFailure): ServerStreamCall {
  return { read: () => Promise.resolve(undefined), headers: () => NO_METADATA, status: () => failure, cancel() {} };
}

const statesByRank: readonly TransportState[] = ['ready', 'connecting', 'idle', 'transient-failure', 'shutdown'];
function rank(state: TransportState): number {
  return statesByRank.indexOf(state);
}

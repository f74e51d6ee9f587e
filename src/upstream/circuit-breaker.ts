// The circuit breaker of one upstream target, as a pure state machine: no timers, no I/O; the
// clock is injected, so every transition is unit-testable (test/unit/upstream/circuit-breaker.test.ts).
//
// Written here rather than taken from cockatiel's CircuitBreakerPolicy: that policy runs each call
// through `execute(fn)` (an extra async frame, closures, event emitters and a thrown
// BrokenCircuitError per rejected call), while the gateway's transport never throws and the closed
// state must cost a branch or two per call. cockatiel's ExponentialBackoff drives the retries
// (resilient-transport.ts).
//
// Transitions (all of them live in this file):
//
//   closed ──(threshold consecutive failures)──────────────▶ open
//   closed ──(failure ratio ≥ limit over the window, with
//             at least minRequests calls in it; optional)──▶ open
//   open ──(cooldown elapsed; seen lazily by admit/state)──▶ half-open
//   half-open ──(admit: the one probe goes through)────────▶ half-open, probe in flight
//   half-open, probe ──(probe succeeds)────────────────────▶ closed
//   half-open, probe ──(probe fails)───────────────────────▶ open (a fresh cooldown)
//   half-open, probe ──(probe neutral, e.g. CANCELLED)─────▶ half-open, no probe in flight
//
// While open, and while a probe is in flight, `admit` answers REJECTED and the caller fails fast.
// Outcomes of calls admitted before the breaker opened are ignored once it is open or half-open:
// only the probe decides how half-open ends. A success in the closed state resets the count.
// The ratio trigger (Resilience4j's failureRateThreshold over a time-based sliding window) catches
// an upstream that fails often but never `threshold` times in a row, e.g. one bad address of two.

/** What `state()` reports (also the breaker gauge's meaning, see gateway-metrics.ts). */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** How a finished call counts: a failure (outage-like), a success, or neither. */
export const Outcome = { Success: 0, Failure: 1, Neutral: 2 } as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** What `admit` hands out; give it back to `settle`. */
export const Ticket = { Rejected: 0, Normal: 1, Probe: 2 } as const;
export type Ticket = (typeof Ticket)[keyof typeof Ticket];

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker (≥ 1). */
  readonly failureThreshold: number;
  /** Time the breaker stays open before letting one probe through, ms. */
  readonly cooldownMs: number;
  /** Epoch ms; Date.now unless a test gives a fake clock. */
  readonly now?: () => number;
  /** Called on every state change (after it happened). */
  readonly onStateChange?: (state: BreakerState, previous: BreakerState) => void;
  /** Also open when this share of the calls in the window failed; absent: consecutive failures only. */
  readonly failureRatio?: FailureRatioOptions | undefined;
}

export interface FailureRatioOptions {
  /** Share of failures (0 < ratio ≤ 1) that opens the breaker. */
  readonly ratio: number;
  /** The sliding window, ms (kept as 10 buckets of a tenth each). */
  readonly windowMs: number;
  /** Fewer calls than this in the window never open the breaker. */
  readonly minRequests: number;
}

const WINDOW_BUCKETS = 10;

/** Successes and failures per bucket of the ratio window; a bucket is reset when its time comes round again. */
class OutcomeWindow {
  readonly #bucketMs: number;
  readonly #ids = new Array<number>(WINDOW_BUCKETS).fill(-1);
  readonly #successes = new Array<number>(WINDOW_BUCKETS).fill(0);
  readonly #failures = new Array<number>(WINDOW_BUCKETS).fill(0);

  constructor(readonly options: FailureRatioOptions) {
    this.#bucketMs = Math.max(1, options.windowMs / WINDOW_BUCKETS);
  }

  /** Counts one outcome; true when it was a failure that brought the window to the ratio. */
  record(now: number, failed: boolean): boolean {
    const id = Math.floor(now / this.#bucketMs);
    const i = id % WINDOW_BUCKETS;
    if (this.#ids[i] !== id) {
      this.#ids[i] = id;
      this.#successes[i] = 0;
      this.#failures[i] = 0;
    }
    if (!failed) {
      this.#successes[i]!++;
      return false;
    }
    this.#failures[i]!++;
    let calls = 0;
    let failures = 0;
    for (let b = 0; b < WINDOW_BUCKETS; b++) {
      if (id - this.#ids[b]! >= WINDOW_BUCKETS) continue; // older than the window
      calls += this.#successes[b]! + this.#failures[b]!;
      failures += this.#failures[b]!;
    }
    return calls >= this.options.minRequests && failures >= this.options.ratio * calls;
  }

  clear(): void {
    this.#ids.fill(-1);
  }
}

export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probeInFlight = false;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  readonly #onStateChange: ((state: BreakerState, previous: BreakerState) => void) | undefined;
  readonly #window: OutcomeWindow | undefined;

  constructor(options: CircuitBreakerOptions) {
    this.#window = options.failureRatio === undefined ? undefined : new OutcomeWindow(options.failureRatio);
    this.#threshold = Math.max(1, options.failureThreshold);
    this.#cooldownMs = options.cooldownMs;
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
  }

  /** The current state; an open breaker whose cooldown has elapsed reports (and becomes) half-open. */
  state(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) this.#move('half-open');
    return this.#state;
  }

  /** Asks to start a call. The closed state costs one comparison. */
  admit(): Ticket {
    if (this.#state === 'closed') return Ticket.Normal;
    if (this.state() === 'half-open' && !this.#probeInFlight) {
      this.#probeInFlight = true;
      return Ticket.Probe;
    }
    return Ticket.Rejected;
  }

  /** Reports how a call admitted with `ticket` ended. */
  settle(ticket: Ticket, outcome: Outcome): void {
    if (ticket === Ticket.Probe) {
      this.#probeInFlight = false;
      if (outcome === Outcome.Success) {
        this.#failures = 0;
        this.#move('closed');
      } else if (outcome === Outcome.Failure) {
        this.#open();
      }
      return;
    }
    if (ticket !== Ticket.Normal || this.#state !== 'closed') return;
    if (outcome === Outcome.Success) {
      if (this.#failures !== 0) this.#failures = 0;
      this.#window?.record(this.#now(), false);
    } else if (outcome === Outcome.Failure) {
      const ratioReached = this.#window?.record(this.#now(), true) === true;
      if (++this.#failures >= this.#threshold || ratioReached) this.#open();
    }
  }

  #open(): void {
    this.#failures = 0;
    this.#window?.clear();
    this.#openedAt = this.#now();
    this.#move('open');
  }

  #move(state: BreakerState): void {
    const previous = this.#state;
    this.#state = state;
    if (previous !== state) this.#onStateChange?.(state, previous);
  }
}

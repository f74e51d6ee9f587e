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
//   open ──(cooldown elapsed; seen lazily by admit/state)──▶ half-open
//   half-open ──(admit: the one probe goes through)────────▶ half-open, probe in flight
//   half-open, probe ──(probe succeeds)────────────────────▶ closed
//   half-open, probe ──(probe fails)───────────────────────▶ open (a fresh cooldown)
//   half-open, probe ──(probe neutral, e.g. CANCELLED)─────▶ half-open, no probe in flight
//
// While open, and while a probe is in flight, `admit` answers REJECTED and the caller fails fast.
// Outcomes of calls admitted before the breaker opened are ignored once it is open or half-open:
// only the probe decides how half-open ends. A success in the closed state resets the count.

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

  constructor(options: CircuitBreakerOptions) {
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
    } else if (outcome === Outcome.Failure && ++this.#failures >= this.#threshold) {
      this.#open();
    }
  }

  #open(): void {
    this.#failures = 0;
    this.#openedAt = this.#now();
    this.#move('open');
  }

  #move(state: BreakerState): void {
    const previous = this.#state;
    this.#state = state;
    if (previous !== state) this.#onStateChange?.(state, previous);
  }
}

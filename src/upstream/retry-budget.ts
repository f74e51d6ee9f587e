// A retry budget for one upstream target (the idea of Finagle's RetryBudget and Envoy's
// retry_budget): over a sliding window, retries may be at most `ratio` of the requests that could
// retry, but always at least `minPerSecond` per second, so a handful of requests can still retry
// while retries can never multiply the load of an outage. Pure: the clock is passed in.
//
// The window is a ring of one-second buckets. `recordRequest` is on the request path and only
// increments a field; buckets move when a retry is asked for (`tryRetry`) or when the owner calls
// `advance` (resilient-transport.ts does, once a second, so counts land in the right second).

export interface RetryBudgetOptions {
  /** Retries allowed per request in the window (0.2: one retry per five requests). */
  readonly ratio: number;
  /** Retries allowed per second whatever the traffic. */
  readonly minPerSecond: number;
  /** Window length in seconds (default 10). */
  readonly windowSeconds?: number;
}

const BUCKET_MS = 1000;

export class RetryBudget {
  readonly #ratio: number;
  readonly #minRetries: number;
  readonly #requests: number[];
  readonly #retries: number[];
  /** Index of the current bucket, and the start of the second it counts. */
  #index = 0;
  #bucketStart: number;
  #current = 0;

  constructor(options: RetryBudgetOptions, now: number) {
    const seconds = Math.max(1, Math.round(options.windowSeconds ?? 10));
    this.#ratio = options.ratio;
    this.#minRetries = options.minPerSecond * seconds;
    this.#requests = new Array<number>(seconds).fill(0);
    this.#retries = new Array<number>(seconds).fill(0);
    this.#bucketStart = now;
  }

  /** Counts one request that may retry (on the request path: one increment). */
  recordRequest(): void {
    this.#current++;
  }

  /** Takes one retry from the budget if there is room; false means: do not retry. */
  tryRetry(now: number): boolean {
    this.advance(now);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.#requests.length; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    requests += this.#current;
    if (retries + 1 > Math.max(this.#minRetries, this.#ratio * requests)) return false;
    this.#retries[this.#index]!++;
    return true;
  }

  /** Moves the window to `now`, dropping the seconds that fell out of it. */
  advance(now: number): void {
    const elapsed = Math.floor((now - this.#bucketStart) / BUCKET_MS);
    if (elapsed <= 0) return;
    const size = this.#requests.length;
    this.#requests[this.#index]! += this.#current;
    this.#current = 0;
    for (let step = 0; step < Math.min(elapsed, size); step++) {
      this.#index = (this.#index + 1) % size;
      this.#requests[this.#index] = 0;
      this.#retries[this.#index] = 0;
    }
    this.#bucketStart += elapsed * BUCKET_MS;
  }
}

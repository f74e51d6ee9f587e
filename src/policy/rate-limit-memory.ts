// The in-memory rate-limit store (rateLimit.store: memory, the default): GCRA buckets in one
// Map of key → TAT for this process. Bounded: a bucket that is full again holds no information
// and is swept (at most every `sweepIntervalMs`, on use, so no timer is needed), and past
// `maxKeys` the least recently used buckets are dropped. A Map iterates in insertion order and
// every use re-inserts its key, so the first entries are the least recently used; those are the
// idle callers whose buckets have most likely refilled anyway, while a caller still hammering a
// route stays at the end and keeps its (empty) bucket.
import { gcra, type BucketLimit, type BucketState, type RateLimitStore } from './rate-limit.js';

/** Options of the memory store; `now` is injectable for tests. */
export interface MemoryStoreOptions {
  readonly maxKeys: number;
  /** Milliseconds on a monotonic clock; default `performance.now()`. */
  readonly now?: () => number;
  /** Least time between two sweeps of refilled buckets; default 10 s. */
  readonly sweepIntervalMs?: number;
}

/** A memory store, with its size for tests and metrics. */
export interface MemoryStore extends RateLimitStore {
  /** Buckets currently kept. */
  size(): number;
}

/** Creates an empty store. */
export function createMemoryStore(options: MemoryStoreOptions): MemoryStore {
  const now = options.now ?? (() => performance.now());
  const sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
  const buckets = new Map<string, number>();
  let lastSweep = now();

  const sweep = (at: number): void => {
    lastSweep = at;
    for (const [key, tat] of buckets) if (tat <= at) buckets.delete(key);
  };

  const take = (key: string, limit: BucketLimit): BucketState => {
    const at = now();
    if (at - lastSweep >= sweepIntervalMs) sweep(at);
    const result = gcra(buckets.get(key), at, limit);
    buckets.delete(key);
    buckets.set(key, result.tat);
    if (buckets.size > options.maxKeys) {
      // a full store first loses its refilled buckets (sweeping at most once a second)…
      if (at - lastSweep >= 1000) sweep(at);
      // …then its least recently used ones
      for (const oldest of buckets.keys()) {
        if (buckets.size <= options.maxKeys) break;
        buckets.delete(oldest);
      }
    }
    return { allowed: result.allowed, fullInMs: result.fullInMs, retryInMs: result.retryInMs };
  };

  return {
    take: (key, limit) => Promise.resolve(take(key, limit)),
    size: () => buckets.size,
    close: () => Promise.resolve(),
  };
}

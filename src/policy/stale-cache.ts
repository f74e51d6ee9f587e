// The last good answer of each GET URL, kept so that an unreachable upstream (breaker open, no
// address in rotation, connect failure, deadline) can still be answered with it, marked stale
// (config `resilience.staleCache`; the pipeline consults it through get-caching.ts).
//
// Bounded three ways: entries (LRU by last store or serve), bytes per entry, bytes in all. Entries
// are never "fresh": the gateway does not act as an HTTP cache for healthy upstreams, it only
// degrades gracefully, so an entry's staleness is simply its age, capped by `maxStale`.

/** Config `resilience.staleCache`, in the units the cache uses. */
export interface StaleCacheOptions {
  readonly maxEntries: number;
  /** A larger body is not kept. */
  readonly maxBodyBytes: number;
  /** Bodies of all entries together; the least recently used go first. */
  readonly maxTotalBytes: number;
  /** An older entry is never served (and is dropped when met). */
  readonly maxStaleMs: number;
}

/** One kept answer. */
export interface StaleEntry {
  readonly body: string;
  /** The answer's headers (response metadata), without per-request ones. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** Its ETag (entity-tag.ts); '' when config `etag` is off. */
  readonly etag: string;
  /** Epoch ms when the upstream gave it. */
  readonly storedAt: number;
  readonly bytes: number;
}

/** An LRU map from cache key to the last good answer. */
export class StaleCache {
  readonly #entries = new Map<string, StaleEntry>();
  #bytes = 0;

  constructor(readonly options: StaleCacheOptions) {}

  /** Keeps `entry` under `key`, replacing an older one; a body over maxBodyBytes is not kept (and drops the older one). */
  store(key: string, entry: StaleEntry): void {
    this.#drop(key);
    if (entry.bytes > this.options.maxBodyBytes) return;
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    // Map iteration order is insertion order: the first key is the least recently used
    for (const [oldest] of this.#entries) {
      if (this.#entries.size <= this.options.maxEntries && this.#bytes <= this.options.maxTotalBytes) break;
      this.#drop(oldest);
    }
  }

  /** The entry under `key` if it is at most `maxAgeMs` (and maxStale) old at `now`; marks it recently used. */
  lookup(key: string, now: number, maxAgeMs = Infinity): StaleEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const age = now - entry.storedAt;
    if (age > this.options.maxStaleMs) {
      this.#drop(key);
      return undefined;
    }
    if (age > maxAgeMs) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}

/** What the client's request says about stale answers (RFC 9111 §5.2.1). */
export interface ClientCacheDirectives {
  /** `no-store`: nothing of this exchange may be kept, and no kept answer is served. */
  readonly noStore: boolean;
  /** `no-cache` (or `Pragma: no-cache` without Cache-Control): only the upstream's answer will do. */
  readonly noCache: boolean;
  /** `max-stale=N`: at most N seconds stale, in ms; bare `max-stale` or absent: Infinity (maxStale still caps it). */
  readonly maxStaleMs: number;
}

const NO_DIRECTIVES: ClientCacheDirectives = { noStore: false, noCache: false, maxStaleMs: Infinity };

/** Reads Cache-Control (and Pragma) of a request; only the three directives above matter here. */
export function clientCacheDirectives(cacheControl: string | string[] | undefined, pragma: string | string[] | undefined): ClientCacheDirectives {
  if (cacheControl === undefined) {
    // RFC 9111 §5.4: Pragma: no-cache counts only when Cache-Control is absent
    const text = Array.isArray(pragma) ? pragma.join(',') : pragma;
    return text !== undefined && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(text) ? { ...NO_DIRECTIVES, noCache: true } : NO_DIRECTIVES;
  }
  let noStore = false;
  let noCache = false;
  let maxStaleMs = Infinity;
  for (const item of (Array.isArray(cacheControl) ? cacheControl.join(',') : cacheControl).split(',')) {
    const [rawName = '', rawValue] = item.split('=', 2);
    const name = rawName.trim().toLowerCase();
    if (name === 'no-store') noStore = true;
    else if (name === 'no-cache') noCache = true;
    else if (name === 'max-stale' && rawValue !== undefined) {
      const seconds = rawValue.trim().replace(/^"(.*)"$/, '$1');
      // RFC 9111 §1.2.2: delta-seconds are digits; anything else is ignored as an invalid directive
      if (/^\d+$/.test(seconds)) maxStaleMs = Math.min(maxStaleMs, Number(seconds) * 1000);
    }
  }
  return { noStore, noCache, maxStaleMs };
}

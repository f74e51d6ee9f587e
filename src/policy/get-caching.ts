// What the pipeline does with the answers of GET routes: tag each 200 with an ETag and answer 304
// to a matching If-None-Match (entity-tag.ts), keep it as the URL's last good answer, and serve
// that answer, marked stale, when the upstream is unavailable (stale-cache.ts). Absent when both
// are off, so the pipeline's GET path then costs one branch.
import type { IncomingHttpHeaders } from 'node:http';
import { entityTag, noneMatchHits } from './entity-tag.js';
import { clientCacheDirectives, StaleCache, type StaleCacheOptions, type StaleEntry } from './stale-cache.js';

/** A reply as the pipeline builds it (a subset of GatewayReply). */
interface Reply {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export interface GetCachingOptions {
  /** Config `etag`. */
  readonly etag: boolean;
  /** Config `resilience.staleCache` when enabled. */
  readonly staleCache?: StaleCacheOptions | undefined;
  /** Tests only: a fake clock (epoch ms). */
  readonly now?: () => number;
}

/** RFC 9211: this gateway served from its cache because the upstream could not answer. */
export const STALE_CACHE_STATUS = 'protogate; hit; detail=stale-upstream-unavailable';

export interface GetCaching {
  /** The stale cache, when enabled (for metrics and tests). */
  readonly cache: StaleCache | undefined;
  /** A 200 answer of a GET route: tagged, kept, and turned into a 304 when the client holds it. */
  fresh<R extends Reply>(reply: R, headers: IncomingHttpHeaders, key: string): R;
  /** The kept answer for `key` (see cacheKey), when the client accepts a stale one; else undefined. */
  stale(headers: IncomingHttpHeaders, key: string): Reply | undefined;
}

/**
 * The cache key of a GET: the URL with the API key already taken out of the query, and, on a route
 * that needs auth, the verified principal in front — one caller's answer never reaches another.
 * Length-prefixed so no principal can make two keys collide.
 */
export function cacheKey(path: string, query: string, subject: string | undefined): string {
  const url = query === '' ? path : `${path}?${query}`;
  return subject === undefined ? url : `${subject.length}:${subject}${url}`;
}

/** Undefined when both ETags and the stale cache are off. */
export function createGetCaching(options: GetCachingOptions): GetCaching | undefined {
  if (!options.etag && options.staleCache === undefined) return undefined;
  const now = options.now ?? Date.now;
  const cache = options.staleCache === undefined ? undefined : new StaleCache(options.staleCache);

  const notModified = <R extends Reply>(reply: R): R => {
    reply.statusCode = 304;
    reply.body = '';
    return reply;
  };

  return {
    cache,
    fresh(reply, headers, key) {
      // the tag is computed once, when the answer arrives, and kept with it for stale answers
      const etag = options.etag ? entityTag(reply.body) : '';
      if (cache !== undefined && !clientCacheDirectives(headers['cache-control'], headers.pragma).noStore) {
        const entry: StaleEntry = { body: reply.body, headers: { ...reply.headers }, etag, storedAt: now(), bytes: Buffer.byteLength(reply.body) };
        cache.store(key, entry);
      }
      if (!options.etag) return reply;
      reply.headers.etag = etag;
      return noneMatchHits(headers['if-none-match'], etag) ? notModified(reply) : reply;
    },
    stale(headers, key) {
      if (cache === undefined) return undefined;
      const directives = clientCacheDirectives(headers['cache-control'], headers.pragma);
      if (directives.noCache || directives.noStore) return undefined;
      const at = now();
      const entry = cache.lookup(key, at, directives.maxStaleMs);
      if (entry === undefined) return undefined;
      const reply: Reply = {
        statusCode: 200,
        headers: { ...entry.headers, age: String(Math.floor((at - entry.storedAt) / 1000)), 'cache-status': STALE_CACHE_STATUS },
        body: entry.body,
      };
      if (!options.etag) return reply;
      reply.headers.etag = entry.etag;
      return noneMatchHits(headers['if-none-match'], entry.etag) ? notModified(reply) : reply;
    },
  };
}

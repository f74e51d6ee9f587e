// The Redis rate-limit store (rateLimit.store: redis): every gateway instance pointed at the same
// Redis and keyPrefix shares one budget per bucket. One GCRA step (rate-limit.ts's `gcra`, in
// Lua) runs atomically inside Redis, on Redis's own clock so instances with skewed clocks still
// agree, and leaves each bucket with a TTL that ends when it is full again. EVALSHA first, EVAL
// when the script is not cached (a restarted or flushed Redis).
// Failure is bounded: no offline queue (a command while disconnected fails at once), a command
// timeout (a hung Redis fails the check, never the request's latency), and reconnection in the
// background with a capped backoff. What a failed check means is the limiter's business
// (rateLimit.onStoreFailure).
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BucketLimit, BucketState, RateLimitStore } from './rate-limit.js';

/** KEYS[1] bucket; ARGV[1] interval ms, ARGV[2] window ms. Returns {allowed, fullInMs, retryInMs}. */
const GCRA_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local nextTat = tat + interval
local allowAt = nextTat - window
if allowAt - now > 0.001 then
  return {0, tostring(tat - now), tostring(allowAt - now)}
end
redis.call('SET', KEYS[1], tostring(nextTat), 'PX', math.ceil(nextTat - now))
return {1, tostring(nextTat - now), '0'}
`;
/** The script's SHA-1, as EVALSHA and SCRIPT EXISTS name it. */
export const GCRA_SCRIPT_SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');

/** Where and how to reach Redis. */
export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** How long `createRedisStore` waits for the first connection. */
  readonly connectTimeoutMs: number;
  /** Bound on one check. */
  readonly commandTimeoutMs: number;
}

/** A Redis store, and whether its first connection succeeded (it keeps trying either way). */
export interface RedisStore extends RateLimitStore {
  readonly connectedAtStart: boolean;
}

/** Connects (waiting at most connectTimeoutMs; startup goes on without Redis, which fails checks until it is back). */
export async function createRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    // reconnect forever, 50 ms doubling up to 1 s, so a restarted Redis is used again within a second
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
  });
  // Failures surface on each check, where the limiter logs them (rate-limited); without a
  // listener ioredis would print every reconnect error.
  redis.on('error', () => {});
  const connectedAtStart = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', ready);
      resolve(false);
    }, options.connectTimeoutMs);
    const ready = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', ready);
  });

  const run = async (key: string, limit: BucketLimit): Promise<unknown> => {
    const args = [1, key, String(limit.intervalMs), String(limit.windowMs)] as const;
    try {
      return await redis.evalsha(GCRA_SCRIPT_SHA, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(GCRA_SCRIPT, ...args);
    }
  };

  return {
    connectedAtStart,
    async take(key, limit): Promise<BucketState> {
      const reply = (await run(options.keyPrefix + key, limit)) as [number, string, string];
      return { allowed: reply[0] === 1, fullInMs: Number(reply[1]), retryInMs: Number(reply[2]) };
    },
    async close() {
      // QUIT when connected (bounded); a down Redis is simply dropped
      if (redis.status === 'ready') {
        await Promise.race([redis.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, options.commandTimeoutMs).unref())]);
      }
      redis.disconnect();
    },
  };
}

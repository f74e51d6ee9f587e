// The rate-limit store the config asks for (`rateLimit.store`), made when a route first needs it
// and shared by every generation of a gateway, so a config reload keeps callers' budgets (the
// store's own settings need a restart); closed with the gateway.
import type { Logger } from 'pino';
import type { GatewayModel } from '../gateway-model.js';
import { createMemoryStore } from '../policy/rate-limit-memory.js';
import { createRedisStore } from '../policy/rate-limit-redis.js';
import { createRateLimiter, routeLimits, type RateLimitConfig, type RateLimiter, type RateLimitStore } from '../policy/rate-limit.js';
import { parseDurationMs } from '../config/duration.js';

/** One gateway's store, and the limiters of its generations over it. */
export interface SharedRateLimitStore {
  /**
   * The limiter of `model`'s routes under `config`, or undefined when no route is limited (then no
   * store is made and requests pay nothing). Throws when `config.routes` names no served route.
   */
  limiterFor(model: GatewayModel, config: RateLimitConfig): Promise<RateLimiter | undefined>;
  /** Closes the store (the Redis connection), if one was made. */
  close(): Promise<void>;
}

/** `storeConfig` is the gateway's first config: the store kind and its settings stay until a restart. */
export function createSharedRateLimitStore(storeConfig: RateLimitConfig, logger: Logger): SharedRateLimitStore {
  let store: Promise<RateLimitStore> | undefined;
  const makeStore = async (): Promise<RateLimitStore> => {
    if (storeConfig.store === 'memory') return createMemoryStore({ maxKeys: storeConfig.memory.maxKeys });
    const { url, keyPrefix, connectTimeout, commandTimeout } = storeConfig.redis;
    const redis = await createRedisStore({ url, keyPrefix, connectTimeoutMs: parseDurationMs(connectTimeout)!, commandTimeoutMs: parseDurationMs(commandTimeout)! });
    if (!redis.connectedAtStart) {
      logger.warn(
        { store: 'redis', onStoreFailure: storeConfig.onStoreFailure },
        `rate-limit store: Redis did not answer within ${connectTimeout}; reconnecting in the background, rate-limited routes are ${storeConfig.onStoreFailure === 'open' ? 'unlimited' : 'answered 503'} until it does`,
      );
    }
    return redis;
  };
  return {
    async limiterFor(model, config) {
      const limits = routeLimits(model.routes, config);
      if (limits.size === 0) return undefined;
      store ??= makeStore();
      return createRateLimiter(limits, config, await store, logger);
    },
    async close() {
      if (store !== undefined) await (await store).close();
    },
  };
}

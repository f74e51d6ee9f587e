// The identity provider's signing keys, fetched from its JWKS URL (config `auth.jwt.jwksUrl`)
// for auth-jwt.ts: cached, refreshed in the background once older than the max age
// (stale-while-revalidate), refetched on an unknown `kid` at most once per cooldown, each fetch
// bounded by a timeout.
//
// Why not jose's createRemoteJWKSet: once its cache is older than `cacheMaxAge`, every
// verification awaits a refetch and a failed refetch fails the token, so an IdP outage turns
// every valid token into an error after ten minutes; and while the IdP is down each such request
// starts a new fetch, the cooldown applying only to unknown kids. Here the last good key set
// (jose's createLocalJWKSet) keeps serving while refreshes fail (each failure is reported, for a
// warning in the log), and no two fetches start less than a cooldown apart, whatever tokens say.
// Refreshes are driven by use, not by a timer: an idle gateway fetches nothing and there is
// nothing to stop at shutdown.
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/** Where the keys come from and how often they may be fetched. */
export interface RemoteJwksOptions {
  readonly url: string;
  /** Keys older than this are refreshed in the background (and still used meanwhile). */
  readonly maxAgeMs: number;
  /** Least time between the starts of two fetches. */
  readonly cooldownMs: number;
  /** Bound on one fetch, body included. */
  readonly timeoutMs: number;
  /** A fetch failed; `keptKeys` says whether earlier keys are still being served. */
  readonly onRefreshError: (error: Error, keptKeys: boolean) => void;
  /** A fetch succeeded with `keyCount` keys. */
  readonly onRefreshed?: (keyCount: number) => void;
}

/** The key source's condition, for logs and tests. */
export type RemoteJwksState = 'loading' | 'fresh' | 'stale' | 'unavailable';

/** A key source for jose's jwtVerify, plus its state. */
export interface RemoteJwks {
  readonly getKey: JWTVerifyGetKey;
  state(): RemoteJwksState;
  /** Settles when no fetch is in flight (for tests and startup logs). */
  settled(): Promise<void>;
}

/**
 * Thrown by `getKey` while no key set was ever fetched: the gateway cannot verify any token, a
 * problem of the gateway rather than of the token, so authenticate.ts answers 503, not 401.
 */
export class KeySourceUnavailable extends Error {
  override readonly name = 'KeySourceUnavailable';
  constructor(readonly retryAfterSeconds: number) {
    super('the signing keys could not be fetched from the identity provider');
  }
}

/** A JWKS response larger than this is refused (real ones are a few KiB). */
const MAX_JWKS_BYTES = 1024 * 1024;

/** Starts the first fetch at once (without waiting for it) and returns the key source. */
export function createRemoteJwks(options: RemoteJwksOptions): RemoteJwks {
  let keys: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  const mayFetch = (): boolean => Date.now() - lastAttemptAt >= options.cooldownMs;
  const refresh = (): Promise<void> => {
    if (pending !== undefined) return pending;
    lastAttemptAt = Date.now();
    pending = fetchKeySet(options.url, options.timeoutMs)
      .then((set) => {
        keys = createLocalJWKSet(set);
        fetchedAt = Date.now();
        options.onRefreshed?.(set.keys.length);
      })
      .catch((error: unknown) => options.onRefreshError(error instanceof Error ? error : new Error(String(error)), keys !== undefined))
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  /** The fetch in flight, or a new one when the cooldown allows; false when neither. */
  const awaitFetch = async (): Promise<boolean> => {
    if (pending !== undefined) await pending;
    else if (mayFetch()) await refresh();
    else return false;
    return true;
  };

  void refresh();

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (keys === undefined) {
      await awaitFetch();
      if (keys === undefined) {
        const waitMs = Math.max(0, lastAttemptAt + options.cooldownMs - Date.now());
        throw new KeySourceUnavailable(Math.max(1, Math.ceil(waitMs / 1000)));
      }
    } else if (Date.now() - fetchedAt >= options.maxAgeMs && pending === undefined && mayFetch()) {
      void refresh(); // stale: answer with the keys we have, refresh behind
    }
    const current = keys;
    try {
      return await current(header, token);
    } catch (error) {
      // A new kid may mean the IdP rotated its keys: look once, within the cooldown's limit.
      if ((error as { code?: unknown }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      if (!(await awaitFetch()) || keys === current) throw error;
      return keys(header, token);
    }
  };

  return {
    getKey,
    state() {
      if (keys === undefined) return pending === undefined ? 'unavailable' : 'loading';
      return Date.now() - fetchedAt < options.maxAgeMs ? 'fresh' : 'stale';
    },
    async settled() {
      while (pending !== undefined) await pending;
    },
  };
}

async function fetchKeySet(url: string, timeoutMs: number): Promise<JSONWebKeySet> {
  let response: Response;
  try {
    // redirects are not followed: the configured URL is the one trusted with the keys
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
  } catch (error) {
    const name = (error as Error).name;
    throw new Error(name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `cannot fetch it (${describeFetchError(error)})`);
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} instead of 200`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_JWKS_BYTES) {
    await response.body?.cancel();
    throw new Error(`the key set is ${length} bytes, more than ${MAX_JWKS_BYTES}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new Error((error as Error).name === 'TimeoutError' ? `no complete answer within ${timeoutMs} ms` : 'the response broke off');
  }
  if (text.length > MAX_JWKS_BYTES) throw new Error(`the key set is more than ${MAX_JWKS_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the response is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new Error('the response is not a JWK Set ({"keys": [ … ]})');
  }
  // createLocalJWKSet checks each key's shape; a malformed set is a failed refresh like any other
  createLocalJWKSet(parsed as JSONWebKeySet);
  return parsed as JSONWebKeySet;
}

/** undici hides the socket error under `cause`; its code (ECONNREFUSED, …) is the useful part. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return (error as Error).message;
}

// API keys (config key `auth.apiKeys`): the config stores only the SHA-256 of each key; a
// presented key is hashed and compared with every stored hash in constant time, so neither the
// keys nor which one nearly matched leak through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { GatewayConfig } from '../config/config-schema.js';
import type { CredentialResult, Identity } from './auth-jwt.js';

/** The `auth.apiKeys` config section, as validated by the config schema. */
export type ApiKeyConfig = NonNullable<NonNullable<GatewayConfig['auth']>['apiKeys']>;

export type ApiKeyVerifier = (presented: string) => CredentialResult;

/** Decodes the stored hashes once, at startup. */
export function createApiKeyVerifier(config: ApiKeyConfig): ApiKeyVerifier {
  const keys = config.keys.map((key) => ({
    digest: Buffer.from(key.sha256, 'hex'),
    identity: { subject: key.principal, scopes: [...key.scopes] } satisfies Identity,
  }));
  return (presented) => {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: Identity | undefined;
    // no early exit: every stored hash is compared
    for (const key of keys) if (timingSafeEqual(digest, key.digest) && found === undefined) found = key.identity;
    return found === undefined ? { ok: false, problem: 'the API key is not valid' } : { ok: true, identity: found };
  };
}

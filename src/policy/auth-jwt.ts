// JWT bearer tokens (config key `auth.jwt`): verified with jose against an HS256 secret and/or
// the public keys of a JWKS (a local file, or the IdP's URL via remote-jwks.ts), with an
// algorithm allowlist (never "none"), `iss`, `aud`, `exp` (required) and `nbf` checked with the
// configured clock skew. Keys and options are built once; a verification returns a result, and
// its problem text is safe to show a client (it never holds the token).
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { GatewayConfig } from '../config/config-schema.js';
import { parseDurationMs } from '../config/duration.js';
import { ConfigKeyError } from '../config/config-source.js';
import { createRemoteJwks, KeySourceUnavailable, type RemoteJwks } from './remote-jwks.js';

/** The `auth.jwt` config section, as validated by the config schema. */
export type JwtConfig = NonNullable<NonNullable<GatewayConfig['auth']>['jwt']>;

/** A verified caller. */
export interface Identity {
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
}

/**
 * A verification's outcome; `problem` says what is wrong in words a client may read.
 * `retryAfterSeconds` marks a failure of the gateway (no signing keys yet), not of the token.
 */
export type CredentialResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly problem: string; readonly retryAfterSeconds?: number };

export type JwtVerifier = (token: string) => Promise<CredentialResult>;

/** What the JWKS URL's refresher reports (for the log). */
export interface JwksEvents {
  readonly onRefreshError: (url: string, error: Error, keptKeys: boolean) => void;
  readonly onRefreshed?: (url: string, keyCount: number) => void;
}

const PRINTABLE = /^[\x20-\x7e]+$/;

/** The default allowlist: what the configured keys can verify. */
export function defaultAlgorithms(config: JwtConfig): string[] {
  const publicKeys = config.jwksFile !== undefined || config.jwksUrl !== undefined;
  return [...(publicKeys ? ['RS256', 'ES256'] : []), ...(config.secret === undefined ? [] : ['HS256'])];
}

/**
 * Builds the verifier once, at startup; throws (naming the key) when the JWKS file is unusable.
 * A JWKS URL is fetched in the background: an unreachable IdP does not stop the gateway.
 */
export function createJwtVerifier(config: JwtConfig, events?: JwksEvents): JwtVerifier {
  const secret = config.secret === undefined ? undefined : new TextEncoder().encode(config.secret);
  const jwks = config.jwksFile !== undefined ? createLocalJWKSet(readJwksFile(config.jwksFile)) : remoteKeys(config, events)?.getKey;
  const getKey: JWTVerifyGetKey = async (header, token) => {
    // The algorithm allowlist is checked before the key is looked up, so only listed algs get here.
    if (header.alg?.startsWith('HS') === true) {
      if (secret === undefined) throw Object.assign(new Error('no secret'), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
      return secret;
    }
    if (jwks === undefined) throw Object.assign(new Error('no jwks'), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    return jwks(header, token);
  };
  const options: JWTVerifyOptions = {
    algorithms: config.algorithms ?? defaultAlgorithms(config),
    clockTolerance: config.clockSkewSeconds,
    requiredClaims: ['exp'],
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, options));
    } catch (error) {
      if (error instanceof KeySourceUnavailable) return { ok: false, problem: error.message, retryAfterSeconds: error.retryAfterSeconds };
      return { ok: false, problem: describeJoseError(error) };
    }
    return identityOf(payload, config);
  };
}

function remoteKeys(config: JwtConfig, events: JwksEvents | undefined): RemoteJwks | undefined {
  const url = config.jwksUrl;
  if (url === undefined) return undefined;
  return createRemoteJwks({
    url,
    maxAgeMs: parseDurationMs(config.jwksMaxAge)!,
    cooldownMs: parseDurationMs(config.jwksCooldown)!,
    timeoutMs: parseDurationMs(config.jwksFetchTimeout)!,
    onRefreshError: (error, keptKeys) => events?.onRefreshError(url, error, keptKeys),
    onRefreshed: (keyCount) => events?.onRefreshed?.(url, keyCount),
  });
}

function readJwksFile(file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigKeyError(['auth', 'jwt', 'jwksFile'], `cannot read ${file} as JSON (${(error as Error).message}; give the path of a JWK Set file)`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new ConfigKeyError(['auth', 'jwt', 'jwksFile'], `${file} is not a JWK Set (write it as {"keys": [ … ]})`);
  }
  return parsed as JSONWebKeySet;
}

function identityOf(payload: JWTPayload, config: JwtConfig): CredentialResult {
  const subject = payload[config.subjectClaim];
  if (typeof subject !== 'string' || !PRINTABLE.test(subject)) {
    return { ok: false, problem: `the token has no usable "${config.subjectClaim}" claim (a printable ASCII string)` };
  }
  const scopes = wordList(payload, config.scopesClaim, 'scope');
  if (typeof scopes === 'string') return { ok: false, problem: scopes };
  const roles = wordList(payload, config.rolesClaim, 'role');
  if (typeof roles === 'string') return { ok: false, problem: roles };
  return { ok: true, identity: { subject, scopes, roles } };
}

/** A claim holding a space-separated string or an array of strings (absent: none); a string is the problem. */
function wordList(payload: JWTPayload, claim: string, what: string): string[] | string {
  const raw = payload[claim];
  let words: string[];
  if (raw === undefined) words = [];
  else if (typeof raw === 'string') words = raw.split(' ').filter((word) => word !== '');
  else if (Array.isArray(raw) && raw.every((word) => typeof word === 'string')) words = raw as string[];
  else return `the token's "${claim}" claim is neither a space-separated string nor an array of strings`;
  // They travel upstream as gRPC metadata (x-user-scopes, x-user-roles), which carries printable ASCII only.
  if (!words.every((word) => word.length > 0 && PRINTABLE.test(word) && !word.includes(' '))) {
    return `the token's "${claim}" claim holds a ${what} that is not printable ASCII without spaces`;
  }
  return words;
}

/** jose's error codes, in words; anything else is not a token problem and is rethrown. */
function describeJoseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as { claim?: unknown }).claim;
      if (claim === 'nbf') return 'the token is not valid yet (nbf)';
      if (claim === 'iss') return 'the token was issued by an issuer this gateway does not accept (iss)';
      if (claim === 'aud') return 'the token is meant for another audience (aud)';
      return `the token's "${String(claim)}" claim is missing or invalid`;
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token is signed with an algorithm this gateway does not accept';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature is invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'no single configured key matches the token (kid, alg)';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return 'the token is malformed or uses an unsupported format';
    default:
      throw error;
  }
}

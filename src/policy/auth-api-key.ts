// API keys (config key `auth.apiKeys`): the config (inline `keys`, and/or the `keysFile` it
// points at) stores only the SHA-256 of each key; a presented key is hashed and compared with
// every stored hash in constant time, so neither the keys nor which one nearly matched leak
// through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { z } from 'zod';
import { apiKeyEntry, type GatewayConfig } from '../config/config-schema.js';
import { ConfigKeyError } from '../config/config-source.js';
import { parseYamlWith } from '../config/load-config.js';
import type { GatewayModel, RouteSpec } from '../gateway-model.js';
import { fieldByName, jsonNameOf } from '../transcode/json/field-info.js';
import type { CredentialResult, Identity } from './auth-jwt.js';

/** The `auth.apiKeys` config section, as validated by the config schema. */
export type ApiKeyConfig = NonNullable<NonNullable<GatewayConfig['auth']>['apiKeys']>;

export type ApiKeyVerifier = (presented: string) => CredentialResult;

type ApiKeyEntry = z.infer<typeof apiKeyEntry>;

const keysFileSchema = z.array(apiKeyEntry, { invalid_type_error: 'must be a list of keys: [{ sha256, principal, scopes, roles }]' });

/** Reads the keys file and decodes the stored hashes once, at startup; throws naming the file and entry. */
export function createApiKeyVerifier(config: ApiKeyConfig): ApiKeyVerifier {
  const entries: ApiKeyEntry[] = [...config.keys, ...(config.keysFile === undefined ? [] : readKeysFile(config.keysFile))];
  const keys = entries.map((key) => ({
    digest: Buffer.from(key.sha256, 'hex'),
    identity: { subject: key.principal, scopes: [...key.scopes], roles: [...key.roles] } satisfies Identity,
  }));
  return (presented) => {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: Identity | undefined;
    // no early exit: every stored hash is compared
    for (const key of keys) if (timingSafeEqual(digest, key.digest) && found === undefined) found = key.identity;
    return found === undefined ? { ok: false, problem: 'the API key is not valid' } : { ok: true, identity: found };
  };
}

/** `auth.apiKeys.keysFile`: YAML or JSON, a list of entries shaped like `auth.apiKeys.keys`. */
function readKeysFile(file: string): ApiKeyEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigKeyError(['auth', 'apiKeys', 'keysFile'], `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}; give the path of a YAML or JSON list of keys)`);
  }
  const entries = parseYamlWith(text, file, keysFileSchema, []);
  if (entries.length === 0) throw new Error(`${file}:1:1: auth.apiKeys.keysFile holds no keys (list at least one { sha256, principal })`);
  return entries;
}

/** A query with the API-key parameter taken out, and its (first) value. */
export interface TakenQueryKey {
  readonly query: string;
  readonly key: string | undefined;
}

/**
 * Takes the `auth.apiKeys.query` parameter out of a raw query string, so query binding never
 * sees it (it names no request field) and nothing downstream can log it. Names are compared
 * decoded (`api%5Fkey` is `api_key`); the value is decoded as query values are (`+` is a space).
 */
export function takeQueryKey(query: string, name: string): TakenQueryKey {
  if (!query.includes(name) && !query.includes('%')) return { query, key: undefined };
  let key: string | undefined;
  let kept = '';
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const pair = query.slice(start, end);
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    if (rawName === name || (rawName.includes('%') && decodeQueryPart(rawName) === name)) {
      if (key === undefined) key = eq < 0 ? '' : decodeQueryPart(pair.slice(eq + 1));
    } else if (pair !== '') {
      kept = kept === '' ? pair : `${kept}&${pair}`;
    }
    start = end + 1;
  }
  return { query: kept, key };
}

function decodeQueryPart(text: string): string {
  const spaced = text.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced; // malformed escapes: compared as written, so a bad key just fails to match
  }
}

/**
 * Routes whose query could name a request field called like the `auth.apiKeys.query` parameter
 * (proto or JSON name, dotted for nested fields): the gateway would take that value as a key and
 * the field could never be set from the query, so startup refuses the name.
 */
export function queryKeyShadows(model: GatewayModel, param: string): Array<{ route: RouteSpec; field: string }> {
  const root = protobuf.Root.fromJSON(model.descriptor);
  const found: Array<{ route: RouteSpec; field: string }> = [];
  const parts = param.split('.');
  for (const route of model.routes) {
    if (route.body === '*') continue; // no query binding at all
    let type: protobuf.Type | undefined = root.lookupType(route.requestType);
    const names: string[] = [];
    for (const part of parts) {
      const field: protobuf.Field | undefined = type === undefined ? undefined : (fieldByName(type, part) ?? type.fieldsArray.find((f) => jsonNameOf(f) === part));
      if (field === undefined) break;
      names.push(field.name);
      field.resolve();
      type = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    }
    if (names.length === parts.length) found.push({ route, field: `${route.requestType}.${names.join('.')}` });
  }
  return found;
}

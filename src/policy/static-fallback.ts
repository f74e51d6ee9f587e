// Graceful degradation, last resort: a configured answer per route (config
// `resilience.fallbacks`), served when the upstream is known to be out and the stale cache
// (get-caching.ts) holds nothing for the URL. Each answer is checked against its route's response
// message and encoded once at startup, so a fallback that does not fit is a startup error.
import protobuf from 'protobufjs';
import { ConfigKeyError } from '../config/config-source.js';
import type { GatewayModel, RouteSpec } from '../gateway-model.js';
import { responseIsRawBody } from '../transcode/http-body.js';
import { createCodecRegistry } from '../transcode/json/codec.js';
import { parseJson } from '../transcode/json/json-parser.js';
import { primaryOperationId } from './authenticate.js';

/** One `resilience.fallbacks` entry, as the config holds it. */
export interface FallbackConfig {
  readonly status: number;
  /** The rpc's whole response message as proto3 JSON. */
  readonly body?: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/** The header that marks a configured fallback answer (a stale one carries `Cache-Status` instead). */
export const FALLBACK_HEADER = 'x-protogate-fallback';

/** A route's fallback, checked and encoded. */
export interface StaticFallback {
  readonly statusCode: number;
  /** Lower-case names: the configured headers over `cache-control: no-store` and the marker. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The response message, protobuf-encoded: each request renders it as it would an upstream
   * answer, so `response_body`, `$fields` and enum encoding apply alike.
   */
  readonly message: Uint8Array;
}

/**
 * The fallback of each route, by operationId. A key names a route the way `auth.routes` does:
 * its operationId, its rpc's primary operationId (additional bindings follow the rpc), or its
 * service; the most specific key wins. A service key covers its unary JSON routes; an operationId
 * naming a streaming or google.api.HttpBody route is an error. Throws a ConfigKeyError naming the entry.
 */
export function compileFallbacks(model: GatewayModel, config: Readonly<Record<string, FallbackConfig>>): ReadonlyMap<string, StaticFallback> {
  const compiled = new Map<string, StaticFallback>();
  const names = Object.keys(config);
  if (names.length === 0) return compiled;
  const known = new Set(model.routes.flatMap((route) => [route.operationId, route.service]));
  const unknown = names.find((name) => !known.has(name));
  if (unknown !== undefined) {
    throw new ConfigKeyError(
      ['resilience', 'fallbacks', unknown],
      `names no served operationId or service (use an operationId such as ${model.routes[0]?.operationId ?? 'Service_Method'}, or a fully-qualified service name)`,
    );
  }
  const root = protobuf.Root.fromJSON(model.descriptor);
  root.resolveAll();
  const codecs = createCodecRegistry(root);
  const at = (name: string): string | undefined => (Object.hasOwn(config, name) ? name : undefined);
  for (const route of model.routes) {
    const byRoute = at(route.operationId) ?? at(primaryOperationId(route));
    const key = byRoute ?? at(route.service);
    if (key === undefined) continue;
    const unsupported = unsupportedKind(route, root);
    if (unsupported !== undefined) {
      if (byRoute === undefined) continue;
      throw new ConfigKeyError(['resilience', 'fallbacks', key], `${route.service}/${route.method} is ${unsupported}; fallbacks answer unary JSON routes only (remove this entry)`);
    }
    compiled.set(route.operationId, { statusCode: config[key]!.status, headers: answerHeaders(config[key]!.headers), message: encodeBody(key, route, config[key]!.body, codecs) });
  }
  return compiled;
}

/** Why a route cannot have a fallback, or undefined when it can. */
function unsupportedKind(route: RouteSpec, root: protobuf.Root): string | undefined {
  if (route.clientStreaming || route.serverStreaming) return 'a streaming method';
  if (responseIsRawBody(route, root.lookupType(route.responseType))) return 'answered with a google.api.HttpBody';
  return undefined;
}

function encodeBody(key: string, route: RouteSpec, body: unknown, codecs: ReturnType<typeof createCodecRegistry>): Uint8Array {
  try {
    // through our own parser, so large integers keep their digits as they do in requests
    const value = parseJson(JSON.stringify(body ?? {}));
    return codecs.codec(route.responseType).encodeToBytes(value, { ignoreUnknownFields: false });
  } catch (error) {
    throw new ConfigKeyError(
      ['resilience', 'fallbacks', key, 'body'],
      `${(error as Error).message} (write the ${route.responseType} answer of ${route.service}/${route.method} as proto3 JSON)`,
    );
  }
}

function answerHeaders(configured: Readonly<Record<string, string>>): Record<string, string> {
  // a canned answer is no resource state: no shared or private cache should keep it
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  for (const [name, value] of Object.entries(configured)) headers[name.toLowerCase()] = value;
  headers[FALLBACK_HEADER] = 'static';
  return headers;
}

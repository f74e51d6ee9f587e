// Starts a gateway from a validated config: builds (or reads) the model, checks that every
// served service has an upstream, compiles the pipeline, and listens.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildModel } from '../../codegen/build-model.js';
import { OPENAPI_FILE, readGeneratedModel } from '../../codegen/generated-output.js';
import { buildOpenApi } from '../../codegen/openapi.js';
import { servedDocument } from '../../codegen/openapi/served-document.js';
import { parseDurationMs } from '../config/duration.js';
import type { GatewayConfig } from '../config/config-schema.js';
import type { GatewayModel } from '../gateway-model.js';
import { routeLimits } from '../policy/rate-limit.js';
import { startAccessLog } from '../observability/access-log.js';
import { createGatewayMetrics } from '../observability/gateway-metrics.js';
import { createPipeline, type Pipeline } from '../pipeline.js';
import { sseIdFieldProblems } from '../pipeline-stream.js';
import { queryKeyShadows } from '../policy/auth-api-key.js';
import { createAuthGate, routesNeedingAuth, unconfiguredSchemeRoutes, type AuthGate } from '../policy/authenticate.js';
import { createCorsPolicy } from '../policy/cors.js';
import { createSharedRateLimitStore } from './rate-limit-store.js';
import { createIpFilter } from '../policy/ip-filter.js';
import { createMetadataPolicy } from '../upstream/request-metadata.js';
import { createAdminServer } from './admin-server.js';
import { createUpstreams } from './upstreams-from-config.js';
import { createClientAddressResolver } from './client-address.js';
import { registerDocsRoutes } from './docs-routes.js';
import { createHttpServer } from './http-server.js';
import { createResponseCompressor } from './response-compression.js';
import { readTlsOptions } from './tls-options.js';

/** A listening gateway. */
export interface RunningGateway {
  readonly port: number;
  readonly adminPort: number | undefined;
  readonly pipeline: Pipeline;
  /** Stops accepting, lets in-flight requests finish, closes upstream channels. */
  close(): Promise<void>;
}

/** A startup problem that is the user's to fix (message says what and how). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The served model, and its OpenAPI document when the docs are enabled. */
export interface LoadedModel {
  readonly model: GatewayModel;
  readonly openapi: Record<string, unknown> | undefined;
}

/** Loads the model the config points at: generated output, or protos built in memory. */
export async function loadModel(config: GatewayConfig): Promise<LoadedModel> {
  const generated = config.protos.generated;
  if (generated !== undefined) {
    const model = await readGeneratedModel(generated);
    return { model, openapi: config.docs.enabled ? readGeneratedOpenApi(generated) : undefined };
  }
  if (config.protos.files.length === 0) {
    throw new StartupError('no protos to serve: give --proto FILE (with --proto-path DIR) or --generated DIR');
  }
  const built = buildModel({ protoPaths: config.protos.paths, protoFiles: config.protos.files });
  return { model: built.model, openapi: config.docs.enabled ? buildOpenApi(built.model, built.protos) : undefined };
}

function readGeneratedOpenApi(dir: string): Record<string, unknown> {
  const file = path.resolve(dir, OPENAPI_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new StartupError(
      `${file}: cannot read the OpenAPI document (${(error as Error).message}); regenerate with \`protogate generate --out ${dir}\`, or set docs.enabled: false`,
    );
  }
}

/** Every served service needs an upstream entry (its own or `*`); throws a StartupError naming the missing ones. */
export function checkUpstreamCoverage(model: GatewayModel, config: GatewayConfig): void {
  const configured = new Set(config.upstreams.map((entry) => entry.service));
  const services = [...new Set(model.routes.map((route) => route.service))];
  const missing = configured.has('*') ? [] : services.filter((service) => !configured.has(service));
  if (missing.length > 0) {
    throw new StartupError(
      `no upstream for ${missing.join(', ')} (add --upstream ${missing[0]}=HOST:PORT, or --upstream '*=HOST:PORT' for every service)`,
    );
  }
}

/**
 * The protos' auth requirements fit the config: no route requires a credential when `auth` is
 * absent, and no route's `auth.schemes` names a scheme the config does not set up.
 */
export function checkAuthPolicies(model: GatewayModel, config: GatewayConfig): void {
  if (config.auth === undefined) {
    const route = routesNeedingAuth(model)[0];
    if (route !== undefined) {
      throw new StartupError(
        `${route.service}/${route.method} (${route.source.file}:${route.source.line}) requires authentication in its proto, but no \`auth\` is configured; add auth.jwt or auth.apiKeys to the config`,
      );
    }
    return;
  }
  const query = config.auth.apiKeys?.query;
  const shadowed = query === undefined ? undefined : queryKeyShadows(model, query)[0];
  if (shadowed !== undefined) {
    const { route, field } = shadowed;
    throw new StartupError(
      `auth.apiKeys.query is "${query}", which is also the request field ${field} of ${route.service}/${route.method} (${route.source.file}:${route.source.line}); its query value would be taken as an API key: choose another parameter name`,
    );
  }
  const unconfigured = unconfiguredSchemeRoutes(model, config.auth)[0];
  if (unconfigured !== undefined) {
    const { route, scheme } = unconfigured;
    const key = scheme === 'jwt' ? 'auth.jwt' : 'auth.apiKeys';
    throw new StartupError(
      `${route.service}/${route.method} (${route.source.file}:${route.source.line}) accepts the "${scheme}" scheme in its proto's auth.schemes, but the config has no ${key}; configure ${key}, or drop "${scheme}" from the proto`,
    );
  }
}

/** The `auth` config compiled (JWKS URL fetches and their failures are logged), after checkAuthPolicies. */
function createAuth(model: GatewayModel, config: GatewayConfig, logger: Logger): AuthGate | undefined {
  checkAuthPolicies(model, config);
  if (config.auth === undefined) return undefined;
  try {
    return createAuthGate(config.auth, {
      jwks: {
        onRefreshError: (url, error, keptKeys) =>
          logger.warn(
            { jwksUrl: url, err: error.message, keptKeys },
            keptKeys ? 'JWKS refresh failed; still verifying tokens with the last keys fetched' : 'JWKS fetch failed; bearer tokens are answered 503 until it succeeds',
          ),
        onRefreshed: (url, keyCount) => logger.debug({ jwksUrl: url, keyCount }, 'JWKS fetched'),
      },
    });
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

/** The `server.tls` files read and checked, before anything listens. */
function serverTls(config: GatewayConfig): ReturnType<typeof readTlsOptions> | undefined {
  if (config.server.tls === undefined) return undefined;
  try {
    return readTlsOptions(config.server.tls);
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

/** Builds everything and listens on the configured ports. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  const { model, openapi } = await loadModel(config);
  checkUpstreamCoverage(model, config);
  const streamProblems = sseIdFieldProblems(model, config.streaming.sseIdFields);
  if (streamProblems.length > 0) throw new StartupError(streamProblems.join('; '));
  const tls = serverTls(config);
  const upstreams = await createUpstreams(config, logger).catch((error: Error) => {
    // a TLS file that cannot be read, a service listed twice
    throw new StartupError(error.message);
  });
  const services = [...new Set(model.routes.map((route) => route.service))];
  for (const route of model.routes) {
    if (route.clientStreaming) {
      logger.warn({ rpc: route.grpcPath }, 'client-streaming methods are not served yet; this route answers 501');
    }
  }
  const auth = createAuth(model, config, logger);
  const rateLimitStore = createSharedRateLimitStore(config.rateLimit, logger);
  const rateLimit = await rateLimitStore.limiterFor(model, config.rateLimit).catch((error: Error) => {
    throw new StartupError(error.message);
  });
  const serviceTimeoutsMs = new Map(Object.entries(config.timeouts.services).map(([service, text]) => [service, parseDurationMs(text)!]));
  const pipeline = createPipeline(model, {
    errorFormat: config.errors.format,
    ignoreUnknownFields: config.json.unknownFields === 'ignore',
    emitDefaults: config.json.emitDefaults,
    maxJsonDepth: config.json.maxDepth,
    maxJsonFields: config.json.maxFields,
    maxQueryParams: config.limits.maxQueryParams,
    defaultTimeoutMs: parseDurationMs(config.timeouts.default)!,
    serviceTimeoutsMs,
    metadata: createMetadataPolicy(config.metadata.forwardHeaders, auth?.identityNames),
    ...(auth === undefined ? {} : { auth }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    transportFor: (service) => upstreams.transportFor(service),
    onInternalError: (error, request) => logger.error({ err: error, requestId: request.requestId }, 'internal error'),
    streaming: {
      timeoutMs: parseDurationMs(config.timeouts.stream)!,
      sseHeartbeatMs: parseDurationMs(config.streaming.sseHeartbeat)!,
      sseIdFields: config.streaming.sseIdFields,
    },
  });
  const app = createHttpServer(
    pipeline,
    {
      maxBodyBytes: config.limits.maxBodyBytes,
      maxHeaderBytes: config.limits.maxHeaderBytes,
      maxUrlBytes: config.limits.maxUrlBytes,
      headersTimeoutMs: parseDurationMs(config.server.headersTimeout)!,
      requestTimeoutMs: parseDurationMs(config.server.requestTimeout)!,
      errorFormat: config.errors.format,
      cors: config.cors === undefined ? undefined : createCorsPolicy(config.cors),
      compression: createResponseCompressor(config.compression),
      ipFilter: config.ipFilter === undefined ? undefined : createIpFilter(config.ipFilter),
      clientAddress: createClientAddressResolver(config.server.trustedProxies),
      tls,
    },
    logger,
  );
  if (openapi !== undefined) {
    registerDocsRoutes(app, pipeline.routes, { docsPath: config.docs.path, openapiPath: config.docs.openapiPath, document: documentAsServed(openapi, model, config) }, logger);
  }
  // Subscribers to the request events (observability/request-events.ts): nothing is measured unless asked for.
  const stopAccessLog = config.log.access ? startAccessLog(pipeline, logger, { targetFor: (service) => upstreams.targetFor(service) }) : undefined;
  const metrics =
    config.server.adminPort === undefined
      ? undefined
      : createGatewayMetrics(pipeline, {
          upstreamStates: () => upstreams.states(),
          breakerStates: () => upstreams.breakers(),
          addressStates: () => upstreams.addresses(),
        });
  const stopObserving = () => {
    stopAccessLog?.();
    metrics?.close();
  };
  let admin: FastifyInstance | undefined;
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
    if (config.server.adminPort !== undefined) {
      admin = createAdminServer({
        listening: () => app.server.listening,
        upstreams: () => upstreams.states(),
        breakers: () => upstreams.breakers(),
        addresses: () => upstreams.addresses(),
        metrics,
      });
      await admin.listen({ host: config.server.host, port: config.server.adminPort });
    }
  } catch (error) {
    await app.close();
    await upstreams.close();
    await rateLimitStore.close();
    stopObserving();
    throw new StartupError(`cannot listen: ${(error as Error).message}`);
  }
  const port = (app.server.address() as AddressInfo).port;
  const adminPort = admin ? (admin.server.address() as AddressInfo).port : undefined;
  logger.info({ port, adminPort, routes: model.routes.length, services }, 'protogate listening');
  return {
    port,
    adminPort,
    pipeline,
    async close() {
      await Promise.all([app.close(), admin?.close()]);
      await upstreams.close();
      await rateLimitStore.close();
      stopObserving();
    },
  };
}

/** The generated document with what the config decides: accepted schemes, their names, defaultPolicy, config rate limits. */
function documentAsServed(document: Record<string, unknown>, model: GatewayModel, config: GatewayConfig): Record<string, unknown> {
  const auth = config.auth;
  const limits = routeLimits(model.routes, config.rateLimit);
  return servedDocument(document, model.routes, {
    ...(auth === undefined
      ? {}
      : {
          auth: {
            jwt: auth.jwt !== undefined,
            apiKey: auth.apiKeys === undefined ? undefined : { header: auth.apiKeys.header, query: auth.apiKeys.query },
            defaultPolicy: auth.defaultPolicy,
          },
        }),
    rateLimitFor: (route) => limits.get(route),
  });
}

// Starts a gateway from a validated config: builds (or reads) the model, checks that every
// served service has an upstream, compiles the pipeline, and listens.
import { readFileSync, statSync } from 'node:fs';
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
import { ConfigKeyError, locatedProblem, type KeyPath } from '../config/config-source.js';
import type { StaleCacheOptions } from '../policy/stale-cache.js';
import { compileFallbacks, type StaticFallback } from '../policy/static-fallback.js';
import type { GatewayModel } from '../gateway-model.js';
import { routeLimits } from '../policy/rate-limit.js';
import { startAccessLog } from '../observability/access-log.js';
import { createGatewayMetrics, type GatewayMetrics } from '../observability/gateway-metrics.js';
import type { GatewayTracing } from '../observability/tracing.js';
import { createPipeline, type Pipeline } from '../pipeline.js';
import { sseIdFieldProblems } from '../pipeline-stream.js';
import { queryKeyShadows } from '../policy/auth-api-key.js';
import { authPolicyResolver, createAuthGate, routesNeedingAuth, unconfiguredSchemeRoutes, unknownAuthRouteNames, type AuthGate } from '../policy/authenticate.js';
import { createCorsPolicy } from '../policy/cors.js';
import { createSharedRateLimitStore, type SharedRateLimitStore } from './rate-limit-store.js';
import { createIpFilter } from '../policy/ip-filter.js';
import { createMetadataPolicy } from '../upstream/request-metadata.js';
import { createAdminServer } from './admin-server.js';
import { createUpstreams } from './upstreams-from-config.js';
import { createClientAddressResolver } from './client-address.js';
import { registerDocsRoutes } from './docs-routes.js';
import { createRequestDispatcher } from './request-dispatcher.js';
import { drainServer } from './shutdown.js';
import { createHttpServer, stopServerStreams } from './http-server.js';
import { createResponseCompressor } from './response-compression.js';
import { readTlsOptions } from './tls-options.js';

/** A listening gateway. */
export interface RunningGateway {
  readonly port: number;
  readonly adminPort: number | undefined;
  /** The pipeline serving new requests (a reload replaces it). */
  readonly pipeline: Pipeline;
  /** Its metrics (with an admin port, or `collectMetrics`); they carry on across reloads. */
  readonly metrics: GatewayMetrics | undefined;
  /**
   * Builds everything `config` describes and swaps it in atomically: new requests use it, those
   * in flight finish on the old one, which is then released. Rejects (the old one keeps serving)
   * when the config, protos or upstreams are not servable. Reloads run one at a time.
   */
  reload(config: GatewayConfig): Promise<ReloadResult>;
  /**
   * Stops accepting, lets in-flight requests finish (up to `server.drainTimeout`, each response
   * closing its keep-alive connection), closes upstream channels.
   */
  close(): Promise<void>;
}

/** A startup problem that is the user's to fix (message says what and how). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** A problem with one key of `config`, found against the protos or files: `file:line:col: key.path: problem (fix)`. */
export function configKeyError(config: GatewayConfig, keyPath: KeyPath, problem: string): StartupError {
  return new StartupError(locatedProblem(config, keyPath, problem));
}

/** `streaming.sseIdFields` against the served model: each bad key is a startup error at its line. */
export function checkSseIdFields(model: GatewayModel, config: GatewayConfig): void {
  const problems = sseIdFieldProblems(model, config.streaming.sseIdFields);
  if (problems.length > 0) throw new StartupError(problems.map(({ keyPath, problem }) => locatedProblem(config, keyPath, problem)).join('; '));
}

/** What building from `config` threw, as a StartupError (located in the config file when it names a key). */
function startupErrorOf(config: GatewayConfig, error: Error): StartupError {
  return error instanceof ConfigKeyError ? configKeyError(config, error.keyPath, error.problem) : new StartupError(error.message);
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
    throw configKeyError(
      config,
      ['auth', 'apiKeys', 'query'],
      `is "${query}", which is also the request field ${field} of ${route.service}/${route.method} (${route.source.file}:${route.source.line}); its query value would be taken as an API key (choose another parameter name)`,
    );
  }
  const unknown = unknownAuthRouteNames(model, config.auth)[0];
  if (unknown !== undefined) {
    throw configKeyError(
      config,
      ['auth', 'routes', unknown],
      `names no served operationId or service (use an operationId such as ${model.routes[0]?.operationId ?? 'Service_Method'}, or a fully-qualified service name)`,
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
    throw startupErrorOf(config, error as Error);
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

/** Everything one config builds, short of listening: what a reload replaces as a whole. */
interface Generation {
  readonly config: GatewayConfig;
  /** Its Fastify instance; `app.routing` answers requests (the first one's server also listens). */
  readonly app: FastifyInstance;
  readonly pipeline: Pipeline;
  readonly upstreams: Upstreams;
  /** What the upstreams were built from (config and TLS files), to tell whether a reload may keep them. */
  readonly upstreamShape: string;
  /** The rate-limit store, one per gateway: every generation shares the first one's. */
  readonly rateLimitStore: SharedRateLimitStore;
  readonly services: readonly string[];
  /** Stops its access log and metrics subscriptions. */
  stopObserving(): void;
}

type Upstreams = Awaited<ReturnType<typeof createUpstreams>>;

/** Builds a generation; `previous`'s upstreams are kept when their config is unchanged, else new ones are made. */
async function buildGeneration(
  config: GatewayConfig,
  logger: Logger,
  metrics: GatewayMetrics | undefined,
  tracing: GatewayTracing | undefined,
  previous?: Generation,
): Promise<Generation> {
  const made: { upstreams?: Upstreams } = {};
  try {
    return await assembleGeneration(config, logger, metrics, tracing, previous, made);
  } catch (error) {
    // A failed reload must not leave connections or timers behind.
    if (made.upstreams !== undefined && made.upstreams !== previous?.upstreams) await made.upstreams.close();
    throw error;
  }
}

async function assembleGeneration(
  config: GatewayConfig,
  logger: Logger,
  metrics: GatewayMetrics | undefined,
  tracing: GatewayTracing | undefined,
  previous: Generation | undefined,
  made: { upstreams?: Upstreams },
): Promise<Generation> {
  const { model, openapi } = await loadModel(config);
  checkUpstreamCoverage(model, config);
  checkSseIdFields(model, config);
  const tls = serverTls(config);
  // Read before the upstreams are built, so a file changed meanwhile is seen by the next reload.
  const shape = upstreamShape(config);
  const upstreams = (made.upstreams = previous !== undefined && previous.upstreamShape === shape ? previous.upstreams : await createUpstreams(config, logger).catch((error: Error) => {
          // a TLS file that cannot be read, a service listed twice
          throw new StartupError(error.message);
        }));
  const services = [...new Set(model.routes.map((route) => route.service))];
  const auth = createAuth(model, config, logger);
  const rateLimitStore = previous?.rateLimitStore ?? createSharedRateLimitStore(config.rateLimit, logger);
  const rateLimit = await rateLimitStore.limiterFor(model, config.rateLimit).catch((error: Error) => {
    throw startupErrorOf(config, error);
  });
  const fallbacks = routeFallbacks(model, config);
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
    metadata: { ...createMetadataPolicy(config.metadata.forwardHeaders, auth?.identityNames), traceparentFor: tracing?.traceparentFor },
    ...(auth === undefined ? {} : { auth }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    transportFor: (service) => upstreams.transportFor(service),
    onInternalError: (error, request) => logger.error({ err: error, requestId: request.requestId }, 'internal error'),
    streaming: {
      timeoutMs: parseDurationMs(config.timeouts.stream)!,
      sseHeartbeatMs: parseDurationMs(config.streaming.sseHeartbeat)!,
      sseIdFields: config.streaming.sseIdFields,
    },
    etag: config.etag,
    staleCache: staleCacheOptions(config.resilience.staleCache),
    ...(fallbacks.size === 0 ? {} : { fallbacks }),
  });
  const app = createHttpServer(
    pipeline,
    {
      maxBodyBytes: config.limits.maxBodyBytes,
      maxHeaderBytes: config.limits.maxHeaderBytes,
      maxUrlBytes: config.limits.maxUrlBytes,
      headersTimeoutMs: parseDurationMs(config.server.headersTimeout)!,
      requestTimeoutMs: parseDurationMs(config.server.requestTimeout)!,
      keepAliveTimeoutMs: parseDurationMs(config.server.keepAliveTimeout)!,
      overload: config.overload,
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
  const stopMetrics = metrics?.observe(pipeline);
  const stopTracing = tracing?.observe(pipeline);
  return {
    config,
    app,
    pipeline,
    upstreams,
    upstreamShape: shape,
    rateLimitStore,
    services,
    stopObserving() {
      stopAccessLog?.();
      stopMetrics?.();
      stopTracing?.();
    },
  };
}

/** Options of `startGateway` beyond the config. */
export interface StartOptions {
  /** Count metrics even without an admin port (a cluster worker: the primary serves them). */
  readonly collectMetrics?: boolean;
}

/** Builds everything and listens on the configured ports. */
export async function startGateway(config: GatewayConfig, logger: Logger, options: StartOptions = {}): Promise<RunningGateway> {
  let current: Generation | undefined;
  const metrics =
    config.server.adminPort === undefined && options.collectMetrics !== true
      ? undefined
      : createGatewayMetrics(undefined, {
          upstreamStates: () => current?.upstreams.states() ?? [],
          breakerStates: () => current?.upstreams.breakers() ?? [],
          addressStates: () => current?.upstreams.addresses() ?? [],
        });
  // Loaded only when enabled: without tracing the OpenTelemetry SDK is never imported. Per
  // gateway, like the metrics: `tracing` is a restart-only key.
  const tracing = config.tracing.enabled ? (await import('../observability/tracing.js')).startTracing(config.tracing, logger) : undefined;
  const first = await buildGeneration(config, logger, metrics, tracing).catch(async (error: unknown) => {
    await tracing?.close();
    throw error;
  });
  current = first;
  const { app } = first;
  let admin: FastifyInstance | undefined;
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
    if (config.server.adminPort !== undefined) {
      admin = createAdminServer({
        // False from the moment a shutdown starts draining (net.Server stops listening at once).
        listening: () => app.server.listening,
        upstreams: () => current!.upstreams.states(),
        breakers: () => current!.upstreams.breakers(),
        addresses: () => current!.upstreams.addresses(),
        metrics,
      });
      await admin.listen({ host: config.server.host, port: config.server.adminPort });
    }
  } catch (error) {
    await app.close();
    await first.upstreams.close();
    await first.rateLimitStore.close();
    first.stopObserving();
    metrics?.close();
    await tracing?.close();
    throw new StartupError(`cannot listen: ${(error as Error).message}`);
  }
  const server = app.server;
  // Requests reach the current generation's router through the dispatcher, so a reload is one swap.
  const dispatcher = createRequestDispatcher(server, app.routing);
  const live = new Set<Generation>([first]);
  let closing = false;
  let shutdown: Promise<void> | undefined;

  /** Once `generation`'s requests are answered (or the drain timeout passes), releases what no live generation shares. */
  const retire = async (generation: Generation, answered: Promise<void>): Promise<void> => {
    const timeoutMs = drainTimeoutMs(generation.config);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    // A shutdown that began meanwhile has released everything.
    if (!live.delete(generation)) return;
    generation.stopObserving();
    // The first generation's instance owns the listening socket: it is closed at shutdown.
    if (generation !== first) await generation.app.close();
    if (![...live].some((other) => other.upstreams === generation.upstreams)) await generation.upstreams.close();
  };

  let reloads: Promise<unknown> = Promise.resolve();
  const swapTo = async (next: GatewayConfig): Promise<ReloadResult> => {
    if (closing) throw new StartupError('the gateway is shutting down');
    const previous = current!;
    const generation = await buildGeneration(next, logger, metrics, tracing, previous);
    try {
      await generation.app.ready();
    } catch (error) {
      generation.stopObserving();
      await generation.app.close();
      if (generation.upstreams !== previous.upstreams) await generation.upstreams.close();
      throw error;
    }
    live.add(generation);
    current = generation;
    logger.level = next.log.level;
    void retire(previous, dispatcher.swap(generation.app.routing));
    return { routes: generation.pipeline.routes.length, restartNeeded: restartOnlyChanges(previous.config, next) };
  };

  const port = (server.address() as AddressInfo).port;
  const adminPort = admin ? (admin.server.address() as AddressInfo).port : undefined;
  logger.info({ port, adminPort, routes: first.pipeline.routes.length, services: first.services }, 'protogate listening');
  return {
    port,
    adminPort,
    get pipeline() {
      return current!.pipeline;
    },
    metrics,
    reload(next) {
      const result = reloads.then(() => swapTo(next));
      reloads = result.catch(() => undefined);
      return result;
    },
    close() {
      // Idempotent: a second signal waits for the same drain.
      shutdown ??= drainAndClose();
      return shutdown;
    },
  };

  async function drainAndClose(): Promise<void> {
    closing = true;
    await reloads;
    for (const generation of live) stopServerStreams(generation.app);
    const drained = await drainServer(server, dispatcher, { timeoutMs: drainTimeoutMs(current!.config) });
    if (drained.cut > 0) logger.warn({ cut: drained.cut, drainTimeout: current!.config.server.drainTimeout }, 'drain timeout: requests still in flight were cut');
    await app.close();
    for (const generation of live) {
      generation.stopObserving();
      if (generation !== first) await generation.app.close();
    }
    await Promise.all([...new Set([...live].map((generation) => generation.upstreams))].map((upstreams) => upstreams.close()));
    live.clear();
    await first.rateLimitStore.close();
    metrics?.close();
    // the spans of the last requests: exported before close resolves
    await tracing?.close();
    await admin?.close();
  }
}

/** What a reload did. */
export interface ReloadResult {
  /** Routes now served. */
  readonly routes: number;
  /** Changed keys that only a restart applies (they keep their old values until then). */
  readonly restartNeeded: readonly string[];
}

/** Keys bound to the listening sockets or the process, which a reload cannot change. */
const RESTART_ONLY_KEYS = ['server.host', 'server.port', 'server.adminPort', 'server.workers', 'server.tls', 'server.headersTimeout', 'server.requestTimeout', 'server.keepAliveTimeout', 'limits.maxHeaderBytes', 'rateLimit.store', 'rateLimit.memory', 'rateLimit.redis', 'tracing'] as const;

function restartOnlyChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  const at = (config: GatewayConfig, key: string): string =>
    JSON.stringify(key.split('.').reduce<unknown>((node, step) => (node as Record<string, unknown> | undefined)?.[step], config)) ?? '';
  return RESTART_ONLY_KEYS.filter((key) => at(before, key) !== at(after, key));
}

/**
 * Upstream connections are kept across a reload when nothing that shapes them changed: the
 * config, and the TLS files it names (a reload after rotating certificates in place reconnects).
 */
function upstreamShape(config: GatewayConfig): string {
  const files = config.upstreams.flatMap((entry) =>
    Object.entries(entry.tls ?? {})
      .filter(([key]) => key.endsWith('File'))
      .map(([, file]) => `${String(file)}@${fileStamp(String(file))}`),
  );
  // the stale cache and the fallbacks live in the pipeline, not in the connections: changing them keeps them
  const { staleCache: _pipelineOnly, fallbacks: _alsoPipelineOnly, ...transportResilience } = config.resilience;
  return JSON.stringify([config.upstreams, config.upstream, transportResilience, files]);
}

function fileStamp(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return 'unreadable';
  }
}

/** Config `resilience.fallbacks`, checked against the routes and encoded (a bad entry: StartupError naming its key). */
export function routeFallbacks(model: GatewayModel, config: GatewayConfig): ReadonlyMap<string, StaticFallback> {
  try {
    return compileFallbacks(model, config.resilience.fallbacks);
  } catch (error) {
    if (error instanceof ConfigKeyError) throw startupErrorOf(config, error);
    throw error;
  }
}

/** Config `rateLimit.routes` names served routes (what the rate-limit store checks at startup, without making one). */
export function checkRateLimitRoutes(model: GatewayModel, config: GatewayConfig): void {
  try {
    routeLimits(model.routes, config.rateLimit);
  } catch (error) {
    if (error instanceof ConfigKeyError) throw startupErrorOf(config, error);
    throw error;
  }
}

/** Config `resilience.staleCache` for the pipeline; undefined when it is off. */
function staleCacheOptions(config: GatewayConfig['resilience']['staleCache']): StaleCacheOptions | undefined {
  if (!config.enabled) return undefined;
  return { maxEntries: config.maxEntries, maxBodyBytes: config.maxBodyBytes, maxTotalBytes: config.maxTotalBytes, maxStaleMs: parseDurationMs(config.maxStale)! };
}

function drainTimeoutMs(config: GatewayConfig): number {
  return parseDurationMs(config.server.drainTimeout)!;
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
            policyFor: authPolicyResolver(auth),
          },
        }),
    rateLimitFor: (route) => limits.get(route),
  });
}

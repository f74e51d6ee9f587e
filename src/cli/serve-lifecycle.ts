// `protogate serve` as a process: starts the gateway (in-process, or as a cluster of workers),
// reloads on SIGHUP or a config file change, drains and exits 0 on SIGTERM/SIGINT.
import cluster from 'node:cluster';
import { watch, type FSWatcher } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/config-schema.js';
import { createLogger } from '../observability/logger.js';
import { announceWorker, runClusterPrimary } from '../server/cluster.js';
import { checkAuthPolicies, checkUpstreamCoverage, loadModel, startGateway, type RunningGateway } from '../server/start-gateway.js';

/** Where serve's config comes from, so a reload can read it again. */
export interface ServeSource {
  /** Reads and validates the config file (if any) and applies the command-line flags again. */
  readConfig(): GatewayConfig;
  /** The config file, watched when `server.watchConfig` is on. */
  readonly configFile: string | undefined;
}

/** The number of worker processes `server.workers` asks for. */
export function workerCount(workers: GatewayConfig['server']['workers']): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

/** Serves until SIGTERM/SIGINT; resolves to the exit code. */
export async function serve(config: GatewayConfig, source: ServeSource): Promise<number> {
  const logger = createLogger(config.log);
  // SIGHUP's default action ends the process: while starting, note it and reload once serving.
  let hangupWhileStarting = false;
  const early = () => (hangupWhileStarting = true);
  process.on('SIGHUP', early);
  const workers = workerCount(config.server.workers);
  if (cluster.isPrimary && workers > 1) {
    try {
      await checkServable(config);
    } finally {
      process.removeListener('SIGHUP', early);
    }
    return servePrimary(config, workers, logger);
  }
  // A worker leaves the admin port to the primary, which sums every worker's metrics.
  const adapt = cluster.isWorker ? (c: GatewayConfig): GatewayConfig => ({ ...c, server: { ...c.server, adminPort: undefined } }) : (c: GatewayConfig) => c;
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(adapt(config), logger, { collectMetrics: cluster.isWorker });
  } finally {
    process.removeListener('SIGHUP', early);
  }
  if (cluster.isWorker) {
    announceWorker(gateway.metrics?.registry, gateway.port, gateway.pipeline.routes.length);
  } else {
    process.stderr.write(`protogate: serving ${gateway.pipeline.routes.length} routes on ${url(config.server.host, gateway.port)}${adminNote(config.server.host, gateway.adminPort)}\n`);
  }
  const watcher = config.server.watchConfig && source.configFile !== undefined ? watchConfigFile(source.configFile, () => reload('config file changed')) : undefined;
  function reload(reason: string): void {
    let next: GatewayConfig;
    try {
      next = adapt(source.readConfig());
    } catch (error) {
      rejected(logger, reason, error);
      return;
    }
    gateway.reload(next).then(
      (result) =>
        logger.info({ reason, routes: result.routes, ...(result.restartNeeded.length > 0 ? { restartNeeded: result.restartNeeded } : {}) }, 'config reloaded'),
      (error: unknown) => rejected(logger, reason, error),
    );
  }
  const onHangup = () => reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  if (hangupWhileStarting) reload('SIGHUP');
  const code = await stopOnSignal(gateway, logger, () => {
    watcher?.close();
    process.removeListener('SIGHUP', onHangup);
  });
  // A worker's IPC channel would keep it alive; closing it lets the process end with its code.
  if (cluster.isWorker) process.disconnect();
  return code;
}

function rejected(logger: Logger, reason: string, error: unknown): void {
  // The message carries file:line:col for config and proto errors.
  logger.error({ reason, error: error instanceof Error ? error.message : String(error) }, 'reload rejected; still serving the previous config');
}

function stopOnSignal(gateway: RunningGateway, logger: Logger, cleanUp: () => void): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      cleanUp();
      logger.info({ signal }, 'shutting down: draining requests in flight');
      gateway.close().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** What every worker would check before listening, checked once by the primary (bad input: exit 1 before forking). */
async function checkServable(config: GatewayConfig): Promise<void> {
  const { model } = await loadModel(config);
  checkUpstreamCoverage(model, config);
  checkAuthPolicies(model, config);
}

/** The cluster primary: runs the workers. */
function servePrimary(config: GatewayConfig, workers: number, logger: Logger): Promise<number> {
  return runClusterPrimary({
    workers,
    adminPort: config.server.adminPort,
    host: config.server.host,
    logger,
    onListening: ({ port, routes, adminPort }) =>
      process.stderr.write(`protogate: serving ${routes} routes on ${url(config.server.host, port)} (${workers} workers)${adminNote(config.server.host, adminPort)}\n`),
  });
}

/** Calls `onChange` (debounced) when `file` changes; editors that save by renaming are covered by watching its directory. */
function watchConfigFile(file: string, onChange: () => void): FSWatcher {
  const name = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(path.dirname(path.resolve(file)), (_event, changed) => {
    if (changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, 200);
  });
  watcher.unref();
  return watcher;
}

function url(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

function adminNote(host: string, adminPort: number | undefined): string {
  return adminPort === undefined ? '' : ` (admin ${url(host, adminPort)})`;
}

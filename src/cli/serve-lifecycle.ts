// `protogate serve` as a process: starts the gateway (in-process, or as a cluster of workers),
// reloads on SIGHUP or a config file change, drains and exits 0 on SIGTERM/SIGINT.
import cluster from 'node:cluster';
import { watch, type FSWatcher } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/config-schema.js';
import { keepConfigSource } from '../config/config-source.js';
import { createLogger } from '../observability/logger.js';
import { announceWorker, runClusterPrimary } from '../server/cluster.js';
import { checkAuthPolicies, checkRateLimitRoutes, checkSseIdFields, checkUpstreamCoverage, loadModel, routeFallbacks, startGateway, type RunningGateway } from '../server/start-gateway.js';

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
  const hangup = holdHangups(logger);
  const workers = workerCount(config.server.workers);
  if (cluster.isPrimary && workers > 1) {
    try {
      await checkServable(config);
    } catch (error) {
      hangup.release();
      throw error;
    }
    // The primary installs its own SIGHUP listener at once; ours goes only after it, leaving no gap.
    const exited = servePrimary(config, workers, logger);
    hangup.release();
    return exited;
  }
  // A worker leaves the admin port to the primary, which sums every worker's metrics.
  const adapt = cluster.isWorker ? (c: GatewayConfig): GatewayConfig => keepConfigSource(c, { ...c, server: { ...c.server, adminPort: undefined } }) : (c: GatewayConfig) => c;
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(adapt(config), logger, { collectMetrics: cluster.isWorker });
  } catch (error) {
    hangup.release();
    throw error;
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
  hangup.serving(() => reload('SIGHUP'));
  if (cluster.isWorker) {
    // Announced only now that SIGHUP reloads: the primary signals the workers it counts as listening.
    announceWorker(gateway.metrics?.registry, gateway.port, gateway.pipeline.routes.length);
  } else {
    process.stderr.write(`protogate: serving ${gateway.pipeline.routes.length} routes on ${url(config.server.host, gateway.port)}${adminNote(config.server.host, gateway.adminPort)}\n`);
  }
  const code = await stopOnSignal(gateway, logger, () => {
    watcher?.close();
    hangup.draining();
  });
  // The listener stays (it holds no process open): a SIGHUP while the process ends is ignored, not fatal.
  // A worker's IPC channel would keep it alive; closing it lets the process end with its code.
  if (cluster.isWorker) process.disconnect();
  return code;
}

/** SIGHUP over serve's life: held while starting, a reload while serving, ignored while draining. */
interface HeldHangups {
  /** From now on SIGHUP calls `reload`; a SIGHUP held while starting calls it at once. */
  serving(reload: () => void): void;
  /** From now on SIGHUP is logged and ignored. */
  draining(): void;
  /** Removes the listener (SIGHUP's default action, ending the process, applies again). */
  release(): void;
}

/**
 * One SIGHUP listener for all of serve's life. Node restores SIGHUP's default action (end the
 * process) whenever the last listener is removed, so swapping one listener for the next would
 * open a window where a reload kills the process — a cluster worker signalled just as it starts
 * serving, or one signalled while it drains.
 */
function holdHangups(logger: Logger): HeldHangups {
  let state: 'starting' | 'held' | 'serving' | 'draining' = 'starting';
  let reload: (() => void) | undefined;
  const listener = () => {
    if (state === 'serving') reload?.();
    else if (state === 'draining') logger.info('SIGHUP ignored: shutting down');
    else state = 'held';
  };
  process.on('SIGHUP', listener);
  return {
    serving(onHangup) {
      const held = state === 'held';
      state = 'serving';
      reload = onHangup;
      if (held) onHangup();
    },
    draining() {
      state = 'draining';
      reload = undefined;
    },
    release() {
      process.removeListener('SIGHUP', listener);
    },
  };
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
  checkRateLimitRoutes(model, config);
  checkSseIdFields(model, config);
  routeFallbacks(model, config);
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

// `serve --workers N`: node:cluster worker processes share the main port (the primary accepts
// and hands connections round-robin); the primary restarts crashed workers with backoff,
// forwards SIGTERM/SIGINT (drain and exit) and SIGHUP (reload; a worker still starting gets it once
// it listens), and serves the admin port with every worker's metrics summed (prom-client's
// AggregatorRegistry).
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { createAdminServer } from './admin-server.js';

/** Worker → primary: the worker listens (sent once per worker process). */
interface ListeningMessage {
  readonly type: 'protogate:listening';
  readonly port: number;
  readonly routes: number;
}

/** What the primary needs to run the workers. */
export interface ClusterOptions {
  readonly workers: number;
  /** Admin port (0: any free one), served by the primary; off when undefined. */
  readonly adminPort: number | undefined;
  readonly host: string;
  readonly logger: Logger;
  /** Called once, when the first worker listens. */
  onListening(info: { port: number; routes: number; adminPort: number | undefined }): void;
}

/** Restart backoff: 250 ms doubling to 30 s; a worker that stayed up a minute resets it. */
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

/**
 * Runs the cluster primary until SIGTERM/SIGINT has stopped every worker; resolves to the exit
 * code (0 when every worker drained and exited 0; 1 when the workers could not start).
 */
export function runClusterPrimary(options: ClusterOptions): Promise<number> {
  const { logger } = options;
  const aggregator = new AggregatorRegistry();
  const listening = new Set<Worker>();
  // Workers that were starting when SIGHUP came: signalled once they listen (see reload).
  const reloadPending = new Set<Worker>();
  const startedAt = new Map<Worker, number>();
  let everListened = false;
  let stopping = false;
  let failures = 0;
  let exitCode = 0;
  let admin: ReturnType<typeof createAdminServer> | undefined;

  return new Promise<number>((resolve) => {
    const finish = () => {
      if (Object.keys(cluster.workers ?? {}).length > 0) return;
      process.removeListener('SIGHUP', reload);
      void (admin?.close() ?? Promise.resolve()).then(() => resolve(exitCode));
    };

    const fork = () => {
      const worker = cluster.fork();
      startedAt.set(worker, Date.now());
      worker.on('message', (message: ListeningMessage) => {
        if (message?.type !== 'protogate:listening') return;
        listening.add(worker);
        if (reloadPending.delete(worker)) worker.process.kill('SIGHUP');
        if (!everListened) {
          everListened = true;
          void startAdmin().then((adminPort) => options.onListening({ port: message.port, routes: message.routes, adminPort }));
        }
      });
      worker.on('exit', (code, signal) => {
        const wasListening = listening.delete(worker);
        reloadPending.delete(worker);
        const lived = Date.now() - (startedAt.get(worker) ?? Date.now());
        startedAt.delete(worker);
        if (stopping) {
          // A worker still starting has no handler yet: our SIGTERM ends it, which is no failure.
          const stoppedWhileStarting = !wasListening && signal === 'SIGTERM';
          if (code !== 0 && !stoppedWhileStarting) {
            exitCode = 1;
            logger.error({ pid: worker.process.pid, code, signal }, 'worker did not stop cleanly');
          }
          finish();
          return;
        }
        if (!everListened) {
          // A worker that cannot start (bad config, port taken) would fail again: stop them all.
          logger.error({ pid: worker.process.pid, code, signal }, 'worker exited before listening; stopping');
          exitCode = 1;
          stop('startup failure');
          return;
        }
        failures = lived > STABLE_AFTER_MS ? 0 : failures + 1;
        const delayMs = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** Math.max(0, failures - 1));
        logger.error({ pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited; restarting it');
        setTimeout(() => {
          if (!stopping) fork();
        }, delayMs).unref();
      });
    };

    const startAdmin = async (): Promise<number | undefined> => {
      if (options.adminPort === undefined) return undefined;
      admin = createAdminServer({
        // Ready while every worker listens and no shutdown has begun; each worker judges its own upstreams.
        listening: () => !stopping && listening.size === options.workers,
        upstreams: () => [],
        metrics: { contentType: aggregator.contentType, text: () => aggregator.clusterMetrics() },
      });
      await admin.listen({ host: options.host, port: options.adminPort });
      return (admin.server.address() as AddressInfo).port;
    };

    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'shutting down the workers');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      finish();
    };
    // A starting worker may not handle SIGHUP yet (its default action ends the process), and it may
    // have read the config before the change this SIGHUP announces: it reloads once it listens.
    const reload = () => {
      if (stopping) {
        logger.info('SIGHUP ignored: shutting down');
        return;
      }
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (worker === undefined) continue;
        if (listening.has(worker)) worker.process.kill('SIGHUP');
        else reloadPending.add(worker);
      }
      logger.info({ workers: listening.size, pending: reloadPending.size }, 'SIGHUP: each worker reloads its config');
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.on('SIGHUP', reload);
    for (let i = 0; i < options.workers; i++) fork();
  });
}

/** In a worker: answers the primary's metrics requests from `registry`, and reports listening (call once SIGHUP reloads). */
export function announceWorker(registry: Registry | undefined, port: number, routes: number): void {
  if (registry !== undefined) {
    new AggregatorRegistry(); // installs the worker's answer to the primary's metrics requests
    AggregatorRegistry.setRegistries([registry]);
  }
  const message: ListeningMessage = { type: 'protogate:listening', port, routes };
  process.send?.(message);
}

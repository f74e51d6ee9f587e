// Test helper: a bounded HTTP load over keep-alive connections (autocannon-like, small): N loops
// each send one request after another and record when it started, how it ended, and how long.
import http from 'node:http';

/** One request of the load. */
export interface LoadRecord {
  /** performance.now() when the request was sent. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** HTTP status, or undefined when the request failed at the socket level. */
  readonly status: number | undefined;
  /** The socket error code (ECONNREFUSED, ECONNRESET, …) when there was no response. */
  readonly error: string | undefined;
}

export interface LoadOptions {
  /** Concurrent loops (and keep-alive connections). */
  readonly concurrency: number;
  /** Path (and query) to request, per request number. */
  readonly path: (n: number) => string;
  /** Hard bounds: the load stops at whichever comes first. */
  readonly maxDurationMs: number;
  readonly maxRequests: number;
}

export interface RunningLoad {
  readonly records: LoadRecord[];
  /** Resolves once at least `count` requests have finished; rejects if the load ends first. */
  completed(count: number): Promise<void>;
  /** Stops starting requests; resolves once every loop is done. */
  stop(): Promise<LoadRecord[]>;
  /** Resolves when every loop has ended by itself (bounds reached, or the server refused). */
  readonly done: Promise<LoadRecord[]>;
}

/**
 * Starts the load against `base`. A loop ends when the server refuses a connection
 * (ECONNREFUSED: it stopped listening), or at the bounds.
 */
export function startLoad(base: string, options: LoadOptions): RunningLoad {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const records: LoadRecord[] = [];
  const deadline = performance.now() + options.maxDurationMs;
  let stopped = false;
  let sent = 0;
  const watchers = new Set<{ count: number; resolve: () => void; reject: (error: Error) => void }>();

  const once = (n: number): Promise<LoadRecord> =>
    new Promise((resolve) => {
      const startedAt = performance.now();
      const request = http.get({ host: url.hostname, port: url.port, path: options.path(n), agent }, (response) => {
        response.resume();
        response.on('end', () => resolve({ startedAt, endedAt: performance.now(), status: response.statusCode, error: undefined }));
        response.on('error', (error: NodeJS.ErrnoException) => resolve({ startedAt, endedAt: performance.now(), status: undefined, error: error.code ?? error.message }));
      });
      request.on('error', (error: NodeJS.ErrnoException) => resolve({ startedAt, endedAt: performance.now(), status: undefined, error: error.code ?? error.message }));
    });

  const loop = async (): Promise<void> => {
    while (!stopped && sent < options.maxRequests && performance.now() < deadline) {
      const record = await once(sent++);
      records.push(record);
      for (const watcher of watchers) {
        if (records.length >= watcher.count) {
          watchers.delete(watcher);
          watcher.resolve();
        }
      }
      if (record.error === 'ECONNREFUSED') return;
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, loop)).then(() => {
    agent.destroy();
    for (const watcher of watchers) watcher.reject(new Error(`the load ended after ${records.length} requests, before ${watcher.count}`));
    watchers.clear();
    return records;
  });
  return {
    records,
    completed(count) {
      if (records.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => watchers.add({ count, resolve, reject }));
    },
    stop() {
      stopped = true;
      return done;
    },
    done,
  };
}

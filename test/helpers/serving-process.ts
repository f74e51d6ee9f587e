// Test helper: `protogate serve` as a child process whose log lines (pino JSON on stdout) and
// stderr can be awaited, for the lifecycle tests (signals, reload, workers).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/package-paths.js';

const bin = path.join(packageRoot, 'bin', 'protogate.js');

/** A parsed log line. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface ServingProcess {
  readonly child: ChildProcess;
  /** The main port's base URL, from the "serving" line. */
  readonly base: string;
  /** The admin port's base URL, when one was printed. */
  readonly admin: string | undefined;
  readonly logs: LogLine[];
  stderr(): string;
  /** Resolves with the first log line (past or future) that `match` accepts; rejects after `timeoutMs`. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `protogate serve …args` and resolves once it prints its "serving" line. */
export function startServing(args: string[], timeoutMs = 30_000): Promise<ServingProcess> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      logs.push(line);
      for (const waiter of waiters) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`protogate serve did not start within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`protogate serve exited with ${code}\n${stderr}`));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /serving \d+ routes on (http:\/\/\S+)(?:.*\(admin (http:\/\/[^)\s]+)\))?/.exec(stderr);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        child,
        base: match[1]!,
        admin: match[2],
        logs,
        stderr: () => stderr,
        waitForLog(match, waitMs = 15_000) {
          const found = logs.find(match);
          if (found) return Promise.resolve(found);
          return new Promise<LogLine>((done, fail) => {
            const waiter = { match, resolve: (line: LogLine) => (clearTimeout(timeout), done(line)) };
            const timeout = setTimeout(() => {
              waiters.delete(waiter);
              fail(new Error(`no matching log line within ${waitMs} ms; last lines:\n${logs.slice(-5).map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`));
            }, waitMs);
            waiters.add(waiter);
          });
        },
        exited,
        stop(signal = 'SIGTERM') {
          child.kill(signal);
          return exited;
        },
      });
    });
  });
}

// Test helper: runs the protogate CLI as a user would (node bin/protogate.js …).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/package-paths.js';

const bin = path.join(packageRoot, 'bin', 'protogate.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command that exits by itself (generate, --help, bad input), bounded by `timeoutMs`. */
export function runCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`protogate ${args.join(' ')} did not exit within ${options.timeoutMs ?? 20000} ms\n${stderr}`));
    }, options.timeoutMs ?? 20000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServingCli {
  readonly base: string;
  readonly child: ChildProcess;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `protogate serve …` (pass --port 0) and resolves once it prints its address. */
export function serveCli(args: string[], timeoutMs = 20000): Promise<ServingCli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`protogate serve did not start within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`protogate serve exited with ${code}\n${stderr}`));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /serving \d+ routes on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({
          base: match[1]!,
          child,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

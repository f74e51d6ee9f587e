// Test helper for the hardening suites: the real CLI (`protogate serve`, as a user runs it) in
// front of a recording grpc-js backend, plus a log of every response the suite saw so one check
// can assert that nothing internal ever leaked into a body.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serveCli, type ServingCli } from './cli.js';
import { testProtosDir } from './gateway.js';
import { rawExchange, type RawExchange } from './raw-http.js';
import { startRecordingBackend, type RecordingBackend } from './recording-backend.js';

/** A response as the suite records it. */
export interface SeenResponse {
  readonly what: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface HostileGateway {
  readonly cli: ServingCli;
  readonly port: number;
  readonly backend: RecordingBackend;
  readonly seen: SeenResponse[];
  /** fetch() that records the answer; `what` labels it in failure messages. */
  fetch(pathAndQuery: string, init?: RequestInit): Promise<SeenResponse & { json: Record<string, unknown> }>;
  /** rawExchange() that records every answer. */
  raw(what: string, parts: ReadonlyArray<string | Buffer> | string | Buffer, options?: Parameters<typeof rawExchange>[2]): Promise<RawExchange>;
  /** What the gateway wrote so far on stdout (its JSON log) and stderr. */
  output(): string;
  close(): Promise<void>;
}

/**
 * Starts a recording backend and `protogate serve` for echo.proto in front of it, with `config`
 * (a config file object; protos and upstream come as flags).
 */
export async function startHostileGateway(
  config: Record<string, unknown> = {},
  options: { backendPort?: number; /** the CLI's upstream instead of the recording backend */ upstream?: string } = {},
): Promise<HostileGateway> {
  const backend = await startRecordingBackend(options.backendPort ?? 0);
  const dir = mkdtempSync(path.join(tmpdir(), 'protogate-hostile-'));
  const configFile = path.join(dir, 'protogate.yaml');
  writeFileSync(configFile, JSON.stringify(config)); // JSON is YAML
  const cli = await serveCli([
    '--proto-path', testProtosDir, '--proto', 'echo/v1/echo.proto',
    '--upstream', `*=${options.upstream ?? backend.server.target}`, '--port', '0', '--host', '127.0.0.1', '--config', configFile,
  ]);
  let output = '';
  cli.child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cli.child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = Number(new URL(cli.base).port);
  const seen: SeenResponse[] = [];
  return {
    cli,
    port,
    backend,
    seen,
    async fetch(pathAndQuery, init) {
      const res = await fetch(`${cli.base}${pathAndQuery}`, init);
      const body = await res.text();
      const headers = Object.fromEntries(res.headers);
      const response = { what: `${init?.method ?? 'GET'} ${pathAndQuery}`, status: res.status, headers, body };
      seen.push(response);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // left empty; the leak check reports bodies that are not JSON
      }
      return { ...response, json };
    },
    async raw(what, parts, options) {
      const exchange = await rawExchange(port, parts, options);
      for (const r of exchange.responses) seen.push({ what, status: r.status, headers: r.headers, body: r.body });
      return exchange;
    },
    output: () => output,
    async close() {
      await cli.stop();
      await backend.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// What must never reach a client: stack frames, source locations, paths, Node internals and
// error class names, system error codes.
const LEAKS: Array<[string, RegExp]> = [
  ['stack frame', /\bat (?:async )?[\w$.<>[\]]+ \((?:file:|node:|\/|<anonymous>)|\n\s+at /],
  ['source location', /\.(?:ts|js|mjs|cjs):\d+/],
  ['file path', /(?:^|[\s"'(])\/(?:work|home|usr|tmp|srv|opt|root|var)\//],
  ['node internals', /node:internal|node_modules/],
  ['error class', /\b(?:TypeError|ReferenceError|RangeError|SyntaxError)\b/],
  ['system error code', /\b(?:ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ERR_[A-Z0-9_]{4,})\b/],
];

/** Asserts that no response `seen` holds internal text, the backend's address, or a non-JSON error. */
export function assertNothingLeaked(seen: readonly SeenResponse[], backendPort: number): void {
  assert.ok(seen.length > 0, 'the suite collected responses');
  const address = new RegExp(`(?:127\\.0\\.0\\.1|localhost|\\[::1\\]):${backendPort}\\b`);
  for (const response of seen) {
    for (const [kind, pattern] of [...LEAKS, ['upstream address', address] as [string, RegExp]]) {
      assert.doesNotMatch(response.body, pattern, `${kind} in the answer to ${response.what} (${response.status}): ${response.body.slice(0, 300)}`);
      for (const [name, value] of Object.entries(response.headers)) {
        assert.doesNotMatch(value, pattern, `${kind} in header ${name} of the answer to ${response.what}`);
      }
    }
    if (response.status >= 400) {
      const json = JSON.parse(response.body) as { code?: unknown; status?: unknown; message?: unknown };
      assert.equal(typeof json.code, 'number', `${response.what}: ${response.body}`);
      assert.equal(typeof json.status, 'string', `${response.what}: ${response.body}`);
      assert.equal(typeof json.message, 'string', `${response.what}: ${response.body}`);
    }
  }
}

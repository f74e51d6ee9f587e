// Test helper: protogate in-process on 127.0.0.1:0, and a small JSON fetch.
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { configSchema, type GatewayConfigInput } from '../../src/config/config-schema.js';
import { packageRoot } from '../../src/package-paths.js';
import { startGateway, type RunningGateway } from '../../src/server/start-gateway.js';

export { packageRoot };

/** The test protos directory. */
export const testProtosDir = path.join(packageRoot, 'test', 'integration', 'protos');

export interface TestGateway extends RunningGateway {
  readonly base: string;
}

/** Starts a gateway with the given config (port 0, loopback; silent logs unless a logger is given). */
export async function startTestGateway(input: GatewayConfigInput, logger?: Logger): Promise<TestGateway> {
  const config = configSchema.parse({
    ...input,
    server: { host: '127.0.0.1', port: 0, ...input.server },
    log: { level: 'silent', access: false, ...input.log },
  });
  const gateway = await startGateway(config, logger ?? pino({ level: 'silent' }));
  return Object.assign(gateway, { base: `http://127.0.0.1:${gateway.port}` });
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** fetch + body text + parsed JSON (undefined when the body is not JSON). */
export async function fetchJson(url: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonResponse> {
  const { json, ...rest } = init;
  const request: RequestInit = { ...rest };
  if (json !== undefined) {
    request.body = JSON.stringify(json);
    request.headers = { 'content-type': 'application/json', ...(rest.headers as Record<string, string> | undefined) };
  }
  const response = await fetch(url, request);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: parsed };
}

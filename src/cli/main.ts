// The protogate command line: parses flags (DESIGN §3), merges them over the config file,
// and runs `serve` or `generate`. Exit codes: 1 for bad input files, 2 for bad flags.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel } from '../../codegen/build-model.js';
import { writeGeneratedOutput, writeServiceDocuments } from '../../codegen/generated-output.js';
import { buildOpenApi, buildServiceDocuments } from '../../codegen/openapi.js';
import { ProtoError } from '../../codegen/source-location.js';
import { configSchema, HOST_PORT_PATTERN, SERVICE_PATTERN, type GatewayConfig } from '../config/config-schema.js';
import { keepConfigSource } from '../config/config-source.js';
import { ConfigError, loadConfigFile } from '../config/load-config.js';
import { packageRoot } from '../package-paths.js';
import { checkAuthPolicies, checkRateLimitRoutes, checkSseIdFields, checkUpstreamCoverage, loadModel, routeFallbacks, StartupError } from '../server/start-gateway.js';
import { upstreamEntries } from '../server/upstreams-from-config.js';
import { serve } from './serve-lifecycle.js';
import { usage } from './usage.js';

const flagSpec = {
  'proto-path': { type: 'string', multiple: true },
  proto: { type: 'string', multiple: true },
  upstream: { type: 'string', multiple: true },
  generated: { type: 'string' },
  out: { type: 'string' },
  'openapi-per-service': { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  'admin-port': { type: 'string' },
  workers: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** A command-line mistake: exit 2 with usage. */
class FlagError extends Error {}

type Flags = ReturnType<typeof parseFlags>['values'];

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: flagSpec, allowPositionals: true, strict: true });
  } catch (error) {
    throw new FlagError((error as Error).message);
  }
}

/** Runs the CLI; resolves to the process exit code (serve resolves only when it stops). */
export async function main(argv: string[]): Promise<number> {
  let flags: Flags;
  let command: string | undefined;
  try {
    const parsed = parseFlags(argv);
    flags = parsed.values;
    command = parsed.positionals[0];
    if (flags.version) {
      const { version } = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
      process.stdout.write(`protogate ${version}\n`);
      return 0;
    }
    if (flags.help || command === 'help') {
      process.stdout.write(usage);
      return 0;
    }
    if (parsed.positionals.length > 1) throw new FlagError(`unexpected argument "${parsed.positionals[1]}"`);
    if (command === 'generate') return runGenerate(flags);
    if (command === 'serve') return await runServe(flags);
    if (command === 'validate') return await runValidate(flags);
    throw new FlagError(command === undefined ? 'no command given' : `unknown command "${command}"`);
  } catch (error) {
    return report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof FlagError) {
    process.stderr.write(`protogate: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (error instanceof ProtoError || error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  process.stderr.write(`protogate: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}

function runGenerate(flags: Flags): number {
  if (flags.out === undefined) throw new FlagError('generate needs --out DIR');
  if (!flags.proto?.length) throw new FlagError('generate needs at least one --proto FILE');
  for (const name of ['upstream', 'port', 'host', 'admin-port', 'workers', 'generated'] as const) {
    if (flags[name] !== undefined) throw new FlagError(`--${name} does not apply to generate`);
  }
  const { model, protos } = buildModel({ protoPaths: flags['proto-path'] ?? [], protoFiles: flags.proto });
  const openapi = buildOpenApi(model, protos);
  writeGeneratedOutput(flags.out, model, openapi, flags.proto);
  const perService = flags['openapi-per-service'] === true ? writeServiceDocuments(flags.out, buildServiceDocuments(model, protos)) : [];
  const byService = new Map<string, { routes: number; messages: Set<string> }>();
  for (const route of model.routes) {
    const entry = byService.get(route.service) ?? { routes: 0, messages: new Set<string>() };
    entry.routes++;
    entry.messages.add(route.requestType).add(route.responseType);
    byService.set(route.service, entry);
  }
  for (const [service, entry] of byService) {
    process.stdout.write(`${service}: ${entry.routes} routes, ${entry.messages.size} messages\n`);
  }
  if (byService.size === 0) process.stdout.write('no services with google.api.http rules found\n');
  process.stdout.write(`wrote ${path.join(flags.out, 'gateway.gen.mjs')} and ${path.join(flags.out, 'openapi.json')}\n`);
  for (const file of perService) process.stdout.write(`wrote ${file}\n`);
  return 0;
}

/** `validate`: everything `serve` checks before listening (config, protos, rules, upstream coverage and TLS files), then exit. */
async function runValidate(flags: Flags): Promise<number> {
  if (flags.out !== undefined) throw new FlagError('--out applies to generate, not validate');
  if (flags['openapi-per-service'] !== undefined) throw new FlagError('--openapi-per-service applies to generate, not validate');
  const config = mergeFlags(flags.config === undefined ? configSchema.parse({}) : loadConfigFile(flags.config), flags);
  const { model } = await loadModel(config);
  checkUpstreamCoverage(model, config);
  checkAuthPolicies(model, config);
  try {
    upstreamEntries(config); // reads and checks every upstream's TLS files, as serve does
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
  checkRateLimitRoutes(model, config);
  checkSseIdFields(model, config);
  routeFallbacks(model, config); // throws when resilience.fallbacks names no served route or an answer does not fit
  const services = new Set(model.routes.map((route) => route.service));
  process.stdout.write(`ok: ${model.routes.length} routes in ${services.size} service${services.size === 1 ? '' : 's'}${flags.config ? `, config ${flags.config}` : ''}\n`);
  return 0;
}

async function runServe(flags: Flags): Promise<number> {
  if (flags.out !== undefined) throw new FlagError('--out applies to generate, not serve');
  if (flags['openapi-per-service'] !== undefined) throw new FlagError('--openapi-per-service applies to generate, not serve');
  const readConfig = () => mergeFlags(flags.config === undefined ? configSchema.parse({}) : loadConfigFile(flags.config), flags);
  return serve(readConfig(), { readConfig, configFile: flags.config });
}

/** Flags override the config file (DESIGN §3); flag values are checked here, exit 2 when bad. */
function mergeFlags(base: GatewayConfig, flags: Flags): GatewayConfig {
  // the copy keeps the file's key positions, for the checks against the protos
  const config = keepConfigSource(base, structuredClone(base) as GatewayConfig);
  if (flags['proto-path']) config.protos.paths = flags['proto-path'].map((p) => path.resolve(p));
  if (flags.proto) config.protos.files = flags.proto;
  if (flags.generated !== undefined) config.protos.generated = path.resolve(flags.generated);
  if (flags.generated !== undefined && flags.proto) throw new FlagError('give either --proto or --generated, not both');
  if (flags.host !== undefined) config.server.host = flags.host;
  if (flags.port !== undefined) config.server.port = portFlag('--port', flags.port);
  if (flags['admin-port'] !== undefined) config.server.adminPort = portFlag('--admin-port', flags['admin-port']);
  if (flags.workers !== undefined) {
    const workers = flags.workers === 'auto' ? 'auto' : Number(flags.workers);
    if (workers !== 'auto' && !(/^\d+$/.test(flags.workers) && workers >= 1 && workers <= 256)) throw new FlagError(`--workers "${flags.workers}" is not a number of processes (1–256) or "auto"`);
    config.server.workers = workers;
  }
  for (const entry of flags.upstream ?? []) {
    const match = /^([^=]+)=(.+)$/.exec(entry);
    const service = match?.[1]?.trim();
    const target = match?.[2]?.trim();
    if (!service || !target || !SERVICE_PATTERN.test(service) || !HOST_PORT_PATTERN.test(target)) {
      throw new FlagError(`--upstream "${entry}" is not SERVICE=HOST:PORT (e.g. library.v1.LibraryService=127.0.0.1:50051, or '*=127.0.0.1:50051')`);
    }
    config.upstreams = [...config.upstreams.filter((u) => u.service !== service), { service, target }];
  }
  return config;
}

function portFlag(name: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new FlagError(`${name} "${value}" is not a port number (0–65535)`);
  return port;
}

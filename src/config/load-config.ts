// Reads protogate.yaml, validates it against the schema, and reports every error at once
// with its file:line:col; the result is frozen.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { ZodIssue, ZodType, ZodTypeAny, ZodTypeDef } from 'zod';
import { configSchema, type GatewayConfig } from './config-schema.js';
import { recordConfigSource, type KeyPath } from './config-source.js';
import { keysAt } from './schema-keys.js';

/** A bad config file: every problem, each with its location and the key it concerns. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** Loads and validates a config file; relative paths in it are resolved against its directory. */
export function loadConfigFile(file: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}:1:1: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  return parseConfigText(text, file);
}

/** Validates config text (exported for tests). */
export function parseConfigText(text: string, file: string): GatewayConfig {
  const { doc, lines } = readYaml(text, file);
  const config = validateYaml(doc, lines, file, configSchema, {});
  const base = path.dirname(path.resolve(file));
  config.protos.paths = config.protos.paths.map((p) => path.resolve(base, p));
  if (config.protos.generated !== undefined) config.protos.generated = path.resolve(base, config.protos.generated);
  if (config.auth?.jwt?.jwksFile !== undefined) config.auth.jwt.jwksFile = path.resolve(base, config.auth.jwt.jwksFile);
  for (const upstream of config.upstreams) {
    const tls = upstream.tls;
    if (tls === undefined) continue;
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      if (tls[key] !== undefined) tls[key] = path.resolve(base, tls[key]);
    }
  }
  if (config.auth?.apiKeys?.keysFile !== undefined) config.auth.apiKeys.keysFile = path.resolve(base, config.auth.apiKeys.keysFile);
  const tls = config.server.tls;
  if (tls !== undefined) {
    tls.certFile = path.resolve(base, tls.certFile);
    tls.keyFile = path.resolve(base, tls.keyFile);
    if (tls.caFile !== undefined) tls.caFile = path.resolve(base, tls.caFile);
  }
  // Checks against the protos come later (start-gateway.ts); they locate their keys through this.
  return recordConfigSource(deepFreeze(config), { file, locate: (keyPath) => keyPosition(doc, lines, keyPath) });
}

/**
 * Parses YAML (or JSON, which is YAML) and validates it against `schema`; a ConfigError lists
 * every problem with `file:line:col`. Also used for files the config points at (API keys).
 */
export function parseYamlWith<T>(text: string, file: string, schema: ZodType<T, ZodTypeDef, unknown>, empty: unknown): T {
  const { doc, lines } = readYaml(text, file);
  return validateYaml(doc, lines, file, schema, empty);
}

function readYaml(text: string, file: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        const at = lines.linePos(error.pos[0]);
        return `${file}:${at.line}:${at.col}: ${error.message.split('\n')[0]} (fix the YAML syntax)`;
      }),
    );
  }
  return { doc, lines };
}

function validateYaml<T>(doc: Document, lines: LineCounter, file: string, schema: ZodType<T, ZodTypeDef, unknown>, empty: unknown): T {
  const parsed = schema.safeParse(doc.toJS() ?? empty);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.flatMap((issue) => describeIssue(issue, doc, lines, file, schema)));
  }
  return parsed.data;
}

function describeIssue(issue: ZodIssue, doc: Document, lines: LineCounter, file: string, schema: ZodTypeAny): string | string[] {
  if (issue.code === 'invalid_union') {
    // "Invalid input" says nothing: report the alternative the value was meant for, the one
    // whose shape (list, map, …) it has, i.e. whose problems are not a wrong type at the union itself.
    const meant = issue.unionErrors.find((error) => !error.issues.some((inner) => inner.code === 'invalid_type' && inner.path.length <= issue.path.length));
    if (meant !== undefined) return meant.issues.flatMap((inner) => describeIssue(inner, doc, lines, file, schema));
  }
  const keyPath = issue.path.map(String);
  let offset = nodeOffset(doc, issue.path);
  let shown = keyPath.join('.') || '(top level)';
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    offset = keyOffset(doc, issue.path, key) ?? offset;
    shown = [...keyPath, key].join('.');
    problem = `unknown key${issue.keys.length > 1 ? `s ${issue.keys.join(', ')}` : ''}`;
    const known = keysAt(schema, issue.path);
    const hint = known.length > 0 ? `remove it, or use one of the keys allowed here: ${known.join(', ')}` : 'remove it, or check its spelling against the documented keys';
    return `${file}:${position(lines, offset)}: ${shown}: ${problem} (${hint})`;
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') problem = `is required (${issue.expected})`;
  if (issue.code === 'invalid_enum_value') {
    // zod's own text quotes with ' and reads "Invalid enum value"; say what is allowed instead.
    problem = `is ${JSON.stringify(issue.received)}, not an allowed value`;
    return `${file}:${position(lines, offset)}: ${shown}: ${problem} (use one of: ${issue.options.map(String).join(', ')})`;
  }
  return `${file}:${position(lines, offset)}: ${shown}: ${problem} (fix this value)`;
}

function nodeOffset(doc: Document, keyPath: ReadonlyArray<string | number>): number {
  for (let n = keyPath.length; n >= 0; n--) {
    const node = doc.getIn(keyPath.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return 0;
}

function keyOffset(doc: Document, keyPath: ReadonlyArray<string | number>, key: string): number | undefined {
  const map = keyPath.length === 0 ? doc.contents : doc.getIn(keyPath, true);
  if (!isMap(map)) return undefined;
  for (const item of map.items) {
    if (isScalar(item.key) && String(item.key.value) === key && item.key.range) return item.key.range[0];
  }
  return undefined;
}

/** Where a key stands: its own position in a map, the item's in a list; undefined when the file lacks it. */
function keyPosition(doc: Document, lines: LineCounter, keyPath: KeyPath): { line: number; col: number } | undefined {
  if (keyPath.length === 0) return undefined;
  const parentPath = keyPath.slice(0, -1);
  const last = keyPath[keyPath.length - 1]!;
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  if (isSeq(parent)) {
    const item = parent.items[Number(last)];
    return isNode(item) && item.range ? lines.linePos(item.range[0]) : undefined;
  }
  const offset = keyOffset(doc, parentPath, String(last));
  return offset === undefined ? undefined : lines.linePos(offset);
}

function position(lines: LineCounter, offset: number): string {
  const at = lines.linePos(offset);
  return `${at.line}:${at.col}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

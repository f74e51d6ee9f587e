// Where a loaded config's keys stand in its file. Some problems show only after the schema, when
// the config meets the protos or the files it names (a route key that matches nothing, a fallback
// body that is not the response message); this side table lets them carry file:line:col like
// schema errors do. A config built in code has no file, and its problems no location.

/** A key's path in the config, as zod and `Document.getIn` write it. */
export type KeyPath = ReadonlyArray<string | number>;

/** A loaded config's file, and where each key stands in it. */
export interface ConfigSource {
  readonly file: string;
  /** The key's own position (the value's for a list item); undefined when the file does not have it. */
  locate(keyPath: KeyPath): { line: number; col: number } | undefined;
}

// A side table, not a property: a config stays plain data (JSON-comparable, frozen, cloneable).
const sources = new WeakMap<object, ConfigSource>();

/** Records where `config` was read from; returns it. */
export function recordConfigSource<T extends object>(config: T, source: ConfigSource): T {
  sources.set(config, source);
  return config;
}

/** A config derived from a loaded one (flags applied, a worker's own port) keeps its source. */
export function keepConfigSource<T extends object>(from: object, to: T): T {
  const source = sources.get(from);
  return source === undefined ? to : recordConfigSource(to, source);
}

/** A problem with one config key, found after the schema; the message starts with the key path. */
export class ConfigKeyError extends Error {
  override readonly name = 'ConfigKeyError';
  constructor(
    readonly keyPath: KeyPath,
    /** What is wrong, then the fix in parentheses. */
    readonly problem: string,
  ) {
    super(`${keyPath.join('.')}: ${problem}`);
  }
}

/** `file:line:col: key.path: problem (fix)` when `config` came from a file, else `key.path: problem (fix)`. */
export function locatedProblem(config: object, keyPath: KeyPath, problem: string): string {
  const source = sources.get(config);
  const at = source?.locate(keyPath);
  const where = source === undefined ? '' : at === undefined ? `${source.file}: ` : `${source.file}:${at.line}:${at.col}: `;
  return `${where}${keyPath.join('.')}: ${problem}`;
}

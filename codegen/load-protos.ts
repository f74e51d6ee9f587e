// Build step, stage 1: read .proto files with protobufjs the way protoc does (import roots in
// order, then the bundled protos), keeping each file's text for file:line:col errors.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { bundledProtosDir } from '../src/package-paths.js';
import { ProtoError, ProtoSource } from './source-location.js';

/** What to load: import roots and the files whose services are served. */
export interface LoadOptions {
  readonly protoPaths: readonly string[];
  readonly protoFiles: readonly string[];
}

/** The loaded, resolved proto set. */
export interface LoadedProtos {
  readonly root: protobuf.Root;
  /** Source text by absolute file path, for error locations. */
  readonly sources: ReadonlyMap<string, ProtoSource>;
  /** Absolute paths of the files asked for (their services are served). */
  readonly files: readonly string[];
}

const parseOptions = { keepCase: true, alternateCommentMode: true };

/** Bundled files loaded whatever the user's protos import. */
const ALWAYS_LOADED = ['google/rpc/status.proto', 'google/rpc/error_details.proto'];

/** Loads and resolves the files; throws a ProtoError naming file:line:col on any problem. */
export function loadProtos(options: LoadOptions): LoadedProtos {
  const roots = [...options.protoPaths.map((p) => path.resolve(p)), bundledProtosDir];
  const root = new protobuf.Root();
  const sources = new Map<string, ProtoSource>();

  const resolveImport = (name: string): string | undefined => {
    for (const dir of roots) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    return undefined;
  };

  const load = (file: string): void => {
    if (sources.has(file)) return;
    const source = new ProtoSource(file, readFileSync(file, 'utf8'));
    sources.set(file, source);
    let parsed: protobuf.IParserResult;
    try {
      // protobufjs reads the file name for its messages and reflection objects from here.
      (protobuf.parse as unknown as { filename: string | null }).filename = file;
      parsed = protobuf.parse(source.text, root, parseOptions);
    } catch (error) {
      throw parseFailure(source, error);
    }
    for (const name of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const resolved = resolveImport(name);
      if (resolved === undefined) {
        const at = source.find(`"${name}"`);
        throw new ProtoError(
          at >= 0 ? source.at(at) : source.atLine(1),
          `import "${name}" not found in ${roots.join(', ')}`,
          'add the directory that holds it with --proto-path, or fix the import path',
        );
      }
      load(resolved);
    }
  };

  const files = options.protoFiles.map((file) => locateProtoFile(file, roots));
  for (const file of files) load(file);
  // Always known, so error details from any upstream (google.rpc.*) decode to JSON.
  for (const name of ALWAYS_LOADED) load(resolveImport(name)!);
  resolveLocated(root, sources);
  return { root, sources, files };
}

/** `--proto FILE` as protoc resolves it: relative to an import root, else as given. */
function locateProtoFile(file: string, roots: readonly string[]): string {
  if (!path.isAbsolute(file)) {
    for (const dir of roots) {
      const candidate = path.join(dir, file);
      if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    }
  }
  const given = path.resolve(file);
  if (existsSync(given) && statSync(given).isFile()) return given;
  throw new ProtoError(
    { file, line: 1, col: 1 },
    `proto file not found under ${roots.slice(0, -1).join(', ') || '(no --proto-path)'}`,
    'give its path relative to a --proto-path directory, or add that directory with --proto-path',
  );
}

/** protobufjs parse errors say `illegal token 'x' (file, line N)`; turn them into ProtoErrors. */
function parseFailure(source: ProtoSource, error: unknown): ProtoError {
  const message = error instanceof Error ? error.message : String(error);
  const lineMatch = /line (\d+)\)?$/.exec(message);
  const tokenMatch = /'([^']*)'/.exec(message);
  const problem = message.replace(/\s*\([^()]*line \d+\)$/, '');
  if (lineMatch) {
    return new ProtoError(source.atLine(Number(lineMatch[1]), tokenMatch?.[1]), problem, 'fix the syntax at this point');
  }
  const duplicate = /duplicate name '([^']+)'/.exec(message);
  if (duplicate) {
    const name = duplicate[1]!;
    const at = ['message', 'enum', 'service', 'rpc']
      .map((keyword) => source.findDeclaration(keyword, name))
      .find((offset) => offset >= 0);
    return new ProtoError(
      at === undefined ? source.atLine(1) : source.at(at),
      problem,
      'rename one of the definitions, or make sure the same file is not reachable under two import names',
    );
  }
  return new ProtoError(source.atLine(1), problem, 'fix the file');
}

/** Resolves every type reference, reporting the first unresolvable one at its field or rpc. */
function resolveLocated(root: protobuf.Root, sources: ReadonlyMap<string, ProtoSource>): void {
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const object of ns.nestedArray) {
      if (object instanceof protobuf.Type) {
        for (const field of object.fieldsArray) {
          resolveOrThrow(field, sources, () => [['message', object.name]]);
        }
      } else if (object instanceof protobuf.Service) {
        for (const method of object.methodsArray) {
          resolveOrThrow(method, sources, () => [['service', object.name], ['rpc', method.name]]);
        }
      }
      if (object instanceof protobuf.Namespace) visit(object);
    }
  };
  visit(root);
  try {
    root.resolveAll();
  } catch (error) {
    const [file, source] = [...sources][0]!;
    throw new ProtoError(
      source?.atLine(1) ?? { file, line: 1, col: 1 },
      error instanceof Error ? error.message : String(error),
      'fix the type reference',
    );
  }
}

function resolveOrThrow(
  object: protobuf.ReflectionObject,
  sources: ReadonlyMap<string, ProtoSource>,
  declarations: () => Array<[keyword: string, name: string]>,
): void {
  try {
    object.resolve();
  } catch (error) {
    const source = object.filename === null ? undefined : sources.get(object.filename);
    const problem = error instanceof Error ? error.message : String(error);
    if (source === undefined) throw new ProtoError({ file: object.filename ?? '?', line: 1, col: 1 }, problem, 'fix the type reference');
    let offset = 0;
    for (const [keyword, name] of declarations()) {
      const found = source.findDeclaration(keyword, name, offset);
      if (found >= 0) offset = found;
    }
    // protobufjs names the missing type in quotes; point at its use inside the declaration.
    const missing = /'([^']+)'/.exec(problem)?.[1];
    const use = missing === undefined ? -1 : source.find(missing, offset);
    if (use >= 0) offset = use;
    throw new ProtoError(source.at(offset), problem, 'import the file that defines the type, or fix its name');
  }
}

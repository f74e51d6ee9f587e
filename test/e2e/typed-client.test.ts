// The document tells the truth about the wire: openapi-typescript turns openapi/openapi.json into
// types, a small openapi-fetch program is type-checked (strict tsc) against them, then run
// against the demo behind a live gateway; every response body it sees is validated (ajv,
// JSON Schema 2020-12, as OpenAPI 3.1 uses) against the schema the document gives for that
// operation and status.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { startLibraryBackend, type LibraryBackend } from '../../src/demo/library-backend.js';
import { bundledProtosDir, packageRoot } from '../../src/package-paths.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const run = promisify(execFile);
const bin = (name: string): string => path.join(packageRoot, 'node_modules', '.bin', name);
const documentFile = path.join(packageRoot, 'openapi', 'openapi.json');

/** What the generated program reports: every response it saw, and what it read from them. */
interface Exchange {
  schemaPath: string;
  method: string;
  status: number;
  body: unknown;
}
interface RoundTrip {
  exchanges: Exchange[];
  createdShelf: string;
  listedTitles: string[];
  patched: { title: string; author: string };
  missingCode: number;
}

// Compiled against the generated types: a wrong field name or type here fails tsc, which is the
// point. Lives in a temp dir under the package (so it resolves openapi-fetch), not in test/.
const PROGRAM = `import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './library-api.js';

type Book = components['schemas']['library.v1.Book'];
export interface Exchange { schemaPath: string; method: string; status: number; body: unknown }

export async function roundTrip(baseUrl: string) {
  const exchanges: Exchange[] = [];
  const record: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const text = await response.clone().text();
      exchanges.push({ schemaPath, method: request.method.toLowerCase(), status: response.status, body: JSON.parse(text) as unknown });
    },
  };
  // Every resource-name variable is expanded into one parameter per segment, so openapi-fetch's
  // default path serialisation (each value percent-encoded) is right as it is.
  const client = createClient<paths>({ baseUrl });
  client.use(record);

  const shelves = await client.GET('/v1/shelves', { params: { query: { pageSize: 10 } } });
  if (!shelves.data?.shelves?.some((shelf) => shelf.name === 'shelves/classics')) throw new Error('ListShelves: no classics shelf');

  const created = await client.POST('/v1/shelves', { body: { shelf: { theme: 'Typed clients' }, shelfId: 'typed' } });
  if (created.data?.name === undefined) throw new Error(\`CreateShelf: \${JSON.stringify(created.error)}\`);
  const shelf = await client.GET('/v1/shelves/{shelf}', { params: { path: { shelf: 'typed' } } });
  if (shelf.data?.theme !== 'Typed clients') throw new Error('GetShelf: wrong theme');

  const book: Book = { title: 'Around the World in Eighty Days', author: 'Jules Verne', genre: 'GENRE_FICTION', isbn13: '9780140449068', publishTime: '1872-01-30T00:00:00Z', rating: 4, labels: { edition: 'first' } };
  const added = await client.POST('/v1/shelves/{shelf}/books', { params: { path: { shelf: 'typed' }, query: { bookId: 'eighty-days' } }, body: book });
  if (added.data?.name !== 'shelves/typed/books/eighty-days') throw new Error(\`CreateBook: \${JSON.stringify(added.error)}\`);
  await client.POST('/v1/shelves/{shelf}/books', { params: { path: { shelf: 'typed' }, query: { bookId: 'other' } }, body: { title: 'Other', author: 'Someone' } });

  const listed = await client.GET('/v1/shelves/{shelf}/books', {
    params: { path: { shelf: 'typed' }, query: { pageSize: 5, filter: 'world', genre: 'GENRE_FICTION', authors: ['Jules Verne', 'Nobody'], publishedAfter: '1800-01-01T00:00:00Z' } },
  });
  const listedTitles = (listed.data?.books ?? []).map((b) => b.title);

  // The mask names only the title: the different author in the body must be ignored.
  const patched = await client.PATCH('/v1/shelves/{shelf}/books/{book}', {
    params: { path: { shelf: 'typed', book: 'eighty-days' }, query: { updateMask: 'title' } },
    body: { title: 'Around the World in 80 Days', author: 'Somebody Else' },
  });
  if (patched.data === undefined) throw new Error(\`UpdateBook: \${JSON.stringify(patched.error)}\`);

  const removed = await client.DELETE('/v1/shelves/{shelf}/books/{book}', { params: { path: { shelf: 'typed', book: 'eighty-days' } } });
  if (removed.response.status !== 200) throw new Error('DeleteBook failed');
  const missing = await client.GET('/v1/shelves/{shelf}/books/{book}', { params: { path: { shelf: 'typed', book: 'eighty-days' } } });
  const missingCode: number | undefined = missing.error?.code;
  await client.DELETE('/v1/shelves/{shelf}', { params: { path: { shelf: 'typed' }, query: { force: true } } });

  return {
    exchanges,
    createdShelf: created.data.name,
    listedTitles,
    patched: { title: patched.data.title, author: patched.data.author },
    missingCode: missingCode ?? -1,
  };
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023', 'DOM'],
    types: [],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    skipLibCheck: true,
  },
  include: ['*.ts'],
};

let backend: LibraryBackend;
let gateway: TestGateway;
let dir: string;

before(async () => {
  mkdirSync(path.join(packageRoot, '.tmp'), { recursive: true });
  dir = mkdtempSync(path.join(packageRoot, '.tmp', 'typed-client-'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  backend = await startLibraryBackend({ port: 0 });
  gateway = await startTestGateway({
    protos: { paths: [bundledProtosDir], files: ['library/v1/library.proto'] },
    upstreams: [{ service: 'library.v1.LibraryService', target: `127.0.0.1:${backend.port}` }],
  });
});

after(async () => {
  await gateway?.close();
  await backend?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('a client generated from openapi/openapi.json compiles, round-trips the demo API, and every response matches its schema', async () => {
  await run(bin('openapi-typescript'), [documentFile, '--output', path.join(dir, 'library-api.ts')], { cwd: dir });
  writeFileSync(path.join(dir, 'library-client.ts'), PROGRAM);
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  await run(bin('tsc'), ['-p', dir], { cwd: dir }).catch((error: { stdout?: string }) => {
    assert.fail(`the client does not type-check against the generated types:\n${error.stdout ?? String(error)}`);
  });

  const program = (await import(pathToFileURL(path.join(dir, 'library-client.ts')).href)) as { roundTrip(base: string): Promise<RoundTrip> };
  const result = await program.roundTrip(gateway.base);
  assert.equal(result.createdShelf, 'shelves/typed');
  assert.deepEqual(result.listedTitles, ['Around the World in Eighty Days']);
  assert.deepEqual(result.patched, { title: 'Around the World in 80 Days', author: 'Jules Verne' });
  assert.equal(result.missingCode, 5);

  const validate = responseValidator(JSON.parse(readFileSync(documentFile, 'utf8')) as Json);
  const seen = result.exchanges.map((e) => `${e.method.toUpperCase()} ${e.schemaPath} ${e.status}`);
  assert.ok(seen.includes('GET /v1/shelves/{shelf}/books/{book} 404'), seen.join('\n'));
  assert.equal(result.exchanges.filter((e) => e.status >= 300).length, 1, seen.join('\n'));
  const nullMessages = new Set<string>();
  for (const exchange of result.exchanges) {
    for (const field of validate(exchange)) nullMessages.add(`${exchange.method.toUpperCase()} ${exchange.schemaPath} ${field}`);
  }
  // Was a known gap (unset singular message fields are null on the wire with json.emitDefaults);
  // the document now gives them anyOf [$ref, null]. The list may only shrink, and is empty.
  assert.deepEqual([...nullMessages].sort(), []);
});

type Json = Record<string, any>;

/**
 * Checks a response body against the document's schema for its operation and status; returns
 * the instance paths where the only problem is a null the schema does not admit (the known gap).
 */
function responseValidator(document: Json): (exchange: Exchange) => string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormatsModule as unknown as (ajv: Ajv2020) => void)(ajv);
  for (const format of ['int32', 'int64', 'uint32', 'uint64', 'float', 'double']) ajv.addFormat(format, true);
  ajv.addSchema(document, DOCUMENT_ID);
  const deref = (node: Json): Json => (typeof node['$ref'] === 'string' ? deref(pointer(document, node['$ref'])) : node);
  return (exchange) => {
    const operation = document['paths'][exchange.schemaPath]?.[exchange.method] as Json | undefined;
    assert.ok(operation, `no operation ${exchange.method} ${exchange.schemaPath} in the document`);
    const declared = operation['responses'][String(exchange.status)] ?? operation['responses']['default'];
    assert.ok(declared, `${exchange.method} ${exchange.schemaPath}: status ${exchange.status} is not documented`);
    const schema = deref(declared)['content']?.['application/json']?.['schema'] as Json | undefined;
    assert.ok(schema, `${exchange.method} ${exchange.schemaPath} ${exchange.status}: no application/json schema`);
    // Inline schemas may $ref components: those refs are rebased onto the added document.
    const check = ajv.compile(rebase(schema) as Json);
    if (check(exchange.body)) return [];
    const errors = check.errors ?? [];
    const nulls = errors.filter((e) => e.keyword === 'type' && at(exchange.body, e.instancePath) === null);
    if (errors.length > 0 && nulls.length === errors.length) return [...new Set(nulls.map((e) => e.instancePath))];
    assert.fail(
      `${exchange.method.toUpperCase()} ${exchange.schemaPath} ${exchange.status}: body does not match the document: ${ajv.errorsText(check.errors)}\n${JSON.stringify(exchange.body)}`,
    );
  };
}

const DOCUMENT_ID = 'https://protogate.invalid/openapi.json';

/** Rewrites local refs (#/components/…) to point into the document added as DOCUMENT_ID. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === '$ref' && typeof value === 'string' && value.startsWith('#') ? `${DOCUMENT_ID}${value}` : rebase(value)]),
  );
}

/** The value at a JSON pointer (as ajv reports instancePath) inside `value`. */
function at(value: unknown, instancePath: string): unknown {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node: any, key) => node?.[key], value);
}

function pointer(document: Json, ref: string): Json {
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node: Json, key) => node[key], document);
}

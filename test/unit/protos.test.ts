// The bundled protos (DESIGN.md §2, §3): every file loads with protobufjs, buf builds the module
// and `buf lint` (buf.yaml) passes, and the annotations the gateway relies on are where it
// expects them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const protosDir = path.join(projectRoot, 'protos');
const buf = path.join(projectRoot, 'node_modules', '.bin', 'buf');

function protoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.proto'))
    .map((entry) => path.relative(protosDir, path.join(entry.parentPath, entry.name)))
    .sort();
}

function load(files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(protosDir, target));
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

function runBuf(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(buf, args, { cwd: projectRoot, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const files = protoFiles(protosDir);

describe('bundled protos', () => {
  it('include the files DESIGN.md §3 promises', () => {
    for (const required of [
      'google/api/annotations.proto', 'google/api/http.proto', 'google/api/httpbody.proto',
      'google/api/field_behavior.proto', 'google/rpc/status.proto', 'google/protobuf/any.proto',
      'google/protobuf/timestamp.proto', 'google/protobuf/duration.proto', 'google/protobuf/struct.proto',
      'google/protobuf/wrappers.proto', 'google/protobuf/field_mask.proto', 'google/protobuf/empty.proto',
      'protogate/options.proto', 'library/v1/library.proto',
    ]) {
      assert.ok(files.includes(required), `${required} is bundled`);
    }
  });

  for (const file of files) {
    it(`${file} loads with protobufjs on its own`, () => {
      load([file]);
    });
  }

  it('load together with public extension numbers', () => {
    const root = load(files);
    const ext = (name: string): number => (root.lookup(name) as protobuf.Field).id;
    assert.equal(ext('google.api.http'), 72295728);
    assert.equal(ext('google.api.field_behavior'), 1052);
    assert.equal(ext('google.api.resource'), 1053);
    assert.equal(ext('google.api.resource_reference'), 1055);
    assert.equal(ext('protogate.v1.policy'), 50710);
    assert.equal(ext('protogate.v1.service_policy'), 50711);
  });

  it('library.v1 carries its HTTP rules and protogate policies', () => {
    const service = load(['library/v1/library.proto']).lookupService('library.v1.LibraryService');
    const option = (method: string, name: string): unknown =>
      service.methods[method]?.parsedOptions?.find((o: Record<string, unknown>) => name in o)?.[name];
    assert.deepEqual(option('CheckoutBook', '(google.api.http)'), { post: '/v1/{name=shelves/*/books/*}:checkout', body: '*' });
    assert.deepEqual(option('UpdateBook', '(protogate.v1.policy)'), { timeout: '2s', idempotent: true });
    assert.deepEqual(option('WatchShelf', '(google.api.http)'), { get: '/v1/{name=shelves/*}:watch' });
    assert.equal(service.methods['WatchShelf']?.responseStream, true);
    assert.deepEqual(option('ImportBooks', '(google.api.http)'), { post: '/v1/{parent=shelves/*}/books:import', body: 'book' });
    assert.equal(service.methods['ImportBooks']?.requestStream, true);
    assert.equal(Object.keys(service.methods).length, 14);
  });

  it('buf build succeeds', () => {
    const { status, output } = runBuf('build');
    assert.equal(status, 0, output);
  });

  it('buf lint passes', () => {
    const { status, output } = runBuf('lint');
    assert.equal(status, 0, output);
  });
});

// The CLI as a user runs it (DESIGN §3): serve --proto, generate + serve --generated with the
// same behaviour, exit codes and file:line:col messages.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLibraryBackend } from '../../src/demo/library-backend.js';
import { runCli, serveCli } from '../helpers/cli.js';
import { fetchJson } from '../helpers/gateway.js';

let backend: Awaited<ReturnType<typeof startLibraryBackend>>;
let upstream: string;
const protoFlags = ['--proto-path', 'protos', '--proto', 'library/v1/library.proto'];

before(async () => {
  backend = await startLibraryBackend({ port: 0 });
  upstream = `library.v1.LibraryService=127.0.0.1:${backend.port}`;
});
after(async () => {
  await backend?.close();
});

/** Requests whose answers must be the same whichever way the gateway was built. */
const probes: Array<[string, string, unknown?]> = [
  ['GET', '/v1/shelves'],
  ['GET', '/v1/shelves/classics/theme'],
  ['GET', '/v1/shelves/classics/books?pageSize=1&genre=GENRE_SCIENCE_FICTION'],
  ['GET', '/v1beta/shelves/classics/books/frankenstein'],
  ['GET', '/v1/shelves/classics/books?nope=1'],
  ['GET', '/v1/shelves/missing'],
  ['PUT', '/v1/shelves/classics'],
  ['GET', '/v2/nothing'],
  ['POST', '/v1/shelves', { shelf: { theme: 'CLI' }, bogus: true }],
];

async function answers(base: string): Promise<string[]> {
  const out: string[] = [];
  for (const [method, url, json] of probes) {
    const res = await fetchJson(base + url, json === undefined ? { method } : { method, json });
    out.push(`${method} ${url} -> ${res.status} ${res.headers.get('allow') ?? ''} ${res.text}`);
  }
  return out;
}

describe('protogate CLI', () => {
  it('prints help with exit 0 and rejects bad flags with exit 2 and usage', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /protogate serve --proto-path DIR/);
    for (const args of [['serve', '--bogus'], ['frobnicate'], ['serve', ...protoFlags, '--upstream', 'no-equals-sign'], ['serve', '--port', 'eighty']]) {
      const bad = await runCli(args);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, /Usage:/);
    }
  });

  it('exits 1 with file:line:col before listening for a bad annotation', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-cli-'));
    writeFileSync(
      path.join(dir, 'bad.proto'),
      'syntax = "proto3";\npackage b;\nimport "google/api/annotations.proto";\nservice S {\n  rpc A(M) returns (M) {\n    option (google.api.http) = { get: "/v1/{tags}" };\n  }\n}\nmessage M { repeated string tags = 1; }\n',
    );
    const result = await runCli(['serve', '--proto-path', dir, '--proto', 'bad.proto', '--upstream', '*=127.0.0.1:1', '--port', '0']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad\.proto:6:\d+: rpc A: path variable "tags" is bound to a repeated field \(.+\)/);
    assert.doesNotMatch(result.stderr, /serving/);
  });

  it('exits 1 when a served service has no upstream, and for a bad config file', async () => {
    const noUpstream = await runCli(['serve', ...protoFlags, '--port', '0']);
    assert.equal(noUpstream.code, 1);
    assert.match(noUpstream.stderr, /no upstream for library\.v1\.LibraryService \(add --upstream/);
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-cfg-'));
    const config = path.join(dir, 'protogate.yaml');
    writeFileSync(config, 'server:\n  port: 0\n  prot: 9\njson:\n  unknownFields: maybe\n');
    const bad = await runCli(['serve', '--config', config]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /protogate\.yaml:3:3: server\.prot: unknown key/);
    assert.match(bad.stderr, /protogate\.yaml:5:18: json\.unknownFields: /);
  });

  it('validate checks config, protos and upstream coverage without serving', async () => {
    const ok = await runCli(['validate', ...protoFlags, '--upstream', '*=127.0.0.1:1']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ok: 16 routes in 1 service/);
    const missing = await runCli(['validate', ...protoFlags]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no upstream for library\.v1\.LibraryService/);
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-validate-'));
    writeFileSync(path.join(dir, 'v.proto'), 'syntax = "proto3";\npackage v;\nmessage M { string a = ; }\n');
    const bad = await runCli(['validate', '--proto-path', dir, '--proto', 'v.proto', '--upstream', '*=127.0.0.1:1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /v\.proto:3:\d+: /);
  });

  it('serve --proto and generate + serve --generated answer identically', async () => {
    const direct = await serveCli([...protoFlags, '--upstream', upstream, '--port', '0', '--host', '127.0.0.1']);
    let fromProto: string[];
    try {
      fromProto = await answers(direct.base);
    } finally {
      assert.equal(await direct.stop(), 0, 'SIGTERM shuts down cleanly');
    }
    const out = mkdtempSync(path.join(tmpdir(), 'protogate-gen-'));
    const generated = await runCli(['generate', ...protoFlags, '--out', out]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /^library\.v1\.LibraryService: 16 routes, \d+ messages$/m);
    assert.ok(existsSync(path.join(out, 'gateway.gen.mjs')));
    const openapi = JSON.parse(readFileSync(path.join(out, 'openapi.json'), 'utf8')) as { openapi: string; paths: object };
    assert.equal(openapi.openapi, '3.1.0');
    assert.ok(Object.keys(openapi.paths).length > 0);

    const fromGenerated = await serveCli(['--generated', out, '--upstream', upstream, '--port', '0', '--host', '127.0.0.1']);
    try {
      const second = await answers(fromGenerated.base);
      // Names of created shelves differ between runs only through the counter; the POST fails
      // validation in both (unknown field), so every answer must match exactly.
      assert.deepEqual(second.map(stripRequestIds), fromProto.map(stripRequestIds));
    } finally {
      await fromGenerated.stop();
    }
  });
});

describe('protogate generate --openapi-per-service', () => {
  it('writes one document per service beside the merged one', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'protogate-split-'));
    const flags = ['--proto-path', 'protos', '--proto', 'library/v1/library.proto', '--proto-path', 'test/integration/protos', '--proto', 'echo/v1/echo.proto'];
    const result = await runCli(['generate', ...flags, '--out', out, '--openapi-per-service']);
    assert.equal(result.code, 0, result.stderr);
    const read = (file: string) => JSON.parse(readFileSync(path.join(out, file), 'utf8')) as { paths: Record<string, Record<string, { operationId: string }>> };
    const ids = (doc: ReturnType<typeof read>) => Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    const merged = ids(read('openapi.json'));
    const library = ids(read('openapi.library.v1.LibraryService.json'));
    const echo = ids(read('openapi.echo.v1.EchoService.json'));
    assert.ok(library.length > 0 && library.every((id) => id.startsWith('LibraryService_')));
    assert.ok(echo.length > 0 && echo.every((id) => id.startsWith('EchoService_')));
    assert.deepEqual([...library, ...echo].sort(), [...merged].sort(), 'the split documents hold exactly the merged operations');
    assert.match(result.stdout, /wrote .*openapi\.echo\.v1\.EchoService\.json/);
  });

  it('is refused by serve', async () => {
    const result = await runCli(['serve', '--openapi-per-service', ...protoFlags, '--upstream', '*=127.0.0.1:1']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--openapi-per-service applies to generate/);
  });
});

function stripRequestIds(text: string): string {
  return text.replace(/request id [0-9a-f-]+/g, 'request id *');
}

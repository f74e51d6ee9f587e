// The gateway-owned docs routes: the OpenAPI document (JSON, YAML) and the Swagger UI page with
// its self-hosted assets, from both deliveries (`--proto` in memory, `--generated` on disk); an
// API route on the same path keeps it; docs can be moved or switched off.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startLibraryBackend, type LibraryBackend } from '../../src/demo/library-backend.js';
import { bundledProtosDir, packageRoot } from '../../src/package-paths.js';
import type { GatewayConfigInput } from '../../src/config/config-schema.js';
import { fetchJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const committed = JSON.parse(readFileSync(path.join(packageRoot, 'openapi', 'openapi.json'), 'utf8')) as unknown;
let backend: LibraryBackend;
const gateways: TestGateway[] = [];

async function gateway(input: GatewayConfigInput): Promise<TestGateway> {
  const started = await startTestGateway({
    protos: { paths: [bundledProtosDir], files: ['library/v1/library.proto'] },
    upstreams: [{ service: 'library.v1.LibraryService', target: `127.0.0.1:${backend.port}` }],
    ...input,
  });
  gateways.push(started);
  return started;
}

before(async () => {
  backend = await startLibraryBackend({ port: 0 });
});

after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await backend?.close();
});

describe('docs routes', () => {
  it('serve --proto: /openapi.json is the document `generate` writes; /openapi.yaml is the same document', async () => {
    const g = await gateway({});
    const json = await fetchJson(`${g.base}/openapi.json`);
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(json.json, committed);
    const yaml = await fetch(`${g.base}/openapi.yaml`);
    assert.equal(yaml.status, 200);
    assert.match(yaml.headers.get('content-type') ?? '', /^application\/yaml/);
    assert.deepEqual(parse(await yaml.text()), committed);
  });

  it('serves the document as the config makes it true: config rate limits and auth', async () => {
    const g = await gateway({
      rateLimit: { routes: { LibraryService_ListShelves: { requests: 10, per: '1m', key: 'ip' } } },
      auth: { apiKeys: { header: 'x-library-key', keys: [{ sha256: 'a'.repeat(64), principal: 'p' }] }, defaultPolicy: 'authenticated' },
    });
    const doc = (await fetchJson(`${g.base}/openapi.json`)).json;
    const operations = Object.values(doc.paths as Record<string, Record<string, any>>).flatMap((item) => Object.values(item));
    const byId = (id: string) => operations.find((op) => op.operationId === id);
    const list = byId('LibraryService_ListShelves');
    assert.deepEqual(list.responses['429'], { $ref: '#/components/responses/TooManyRequests' });
    assert.match(list.description, /10 calls per 1 min per client address/);
    assert.equal(byId('LibraryService_GetBook').responses['429'], undefined);
    // ListShelves is public in its proto; unannotated methods follow defaultPolicy: authenticated
    assert.deepEqual(list.security, []);
    assert.deepEqual(byId('LibraryService_CreateShelf').security, [{ apiKeyAuth: [] }]);
    assert.deepEqual(byId('LibraryService_CreateShelf').responses['401'], { $ref: '#/components/responses/Unauthenticated' });
    assert.deepEqual(doc.components.securitySchemes.apiKeyAuth.name, 'x-library-key');
    assert.equal(doc.components.securitySchemes.bearerAuth, undefined, 'no jwt configured');
    // the gateway agrees with its document
    assert.equal((await fetch(`${g.base}/v1/shelves`)).headers.get('ratelimit-limit'), '10');
    const anonymous = await fetch(`${g.base}/v1/shelves`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /x-library-key/);
  });

  it('serve --generated: the document comes from DIR/openapi.json', async () => {
    const g = await gateway({ protos: { generated: path.join(packageRoot, 'openapi') } });
    const json = await fetchJson(`${g.base}/openapi.json`);
    assert.deepEqual(json.json, committed);
  });

  it('/docs is a Swagger UI page whose scripts and styles come from this origin', async () => {
    const g = await gateway({});
    const page = await fetch(`${g.base}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 3, html);
    for (const asset of assets) {
      assert.match(asset, /^\/docs\//, `${asset} is not self-hosted`);
      const response = await fetch(`${g.base}${asset}`);
      assert.equal(response.status, 200, asset);
      assert.ok((await response.arrayBuffer()).byteLength > 0, asset);
    }
    const initializer = await (await fetch(`${g.base}/docs/docs-initializer.js`)).text();
    assert.match(initializer, /url: "\/openapi\.json"/);
  });

  it('other methods and paths still reach the pipeline', async () => {
    const g = await gateway({});
    const post = await fetchJson(`${g.base}/docs`, { method: 'POST', json: {} });
    assert.equal(post.status, 404);
    assert.equal(post.json.code, 5);
    const asset = await fetchJson(`${g.base}/docs/index.html`);
    assert.equal(asset.status, 404, 'only the files the page loads are served');
    const api = await fetchJson(`${g.base}/v1/shelves`);
    assert.equal(api.status, 200);
  });

  it('can be moved, and switched off', async () => {
    const moved = await gateway({ docs: { path: '/api-docs', openapiPath: '/spec/openapi' } });
    assert.equal((await fetch(`${moved.base}/api-docs`)).status, 200);
    assert.equal((await fetchJson(`${moved.base}/spec/openapi.json`)).status, 200);
    assert.match(await (await fetch(`${moved.base}/api-docs/docs-initializer.js`)).text(), /url: "\/spec\/openapi\.json"/);
    assert.equal((await fetchJson(`${moved.base}/docs`)).status, 404);
    const off = await gateway({ docs: { enabled: false } });
    for (const url of ['/docs', '/openapi.json', '/openapi.yaml', '/docs/swagger-ui.css']) {
      const response = await fetchJson(`${off.base}${url}`);
      assert.equal(response.status, 404, url);
      assert.equal(response.json.code, 5, url);
    }
  });

  it('an API route that answers GET on a docs path wins over the docs route', async () => {
    // GET /v1/shelves is ListShelves; GET /v1/shelves/openapi.json matches GetShelf {name=shelves/*}.
    const g = await gateway({ docs: { path: '/v1/shelves', openapiPath: '/v1/shelves/openapi' } });
    const list = await fetchJson(`${g.base}/v1/shelves`);
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.json.shelves), list.text);
    const shelf = await fetchJson(`${g.base}/v1/shelves/openapi.json`);
    assert.equal(shelf.json.openapi, undefined, 'GetShelf answered, not the document');
    assert.equal(typeof shelf.json.code, 'number', shelf.text);
  });

  it('rejects a docs path that is not a plain URL path', async () => {
    await assert.rejects(gateway({ docs: { path: '/docs/' } }), /must be a URL path/);
  });
});

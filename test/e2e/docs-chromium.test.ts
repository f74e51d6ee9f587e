// /docs in real headless Chromium (Debian's `chromium`, driven by playwright-core): the page
// loads Swagger UI from the gateway itself, fetches /openapi.json and renders the demo's
// operations. Leaves a screenshot in test-artifacts/docs.png. Fails, never skips, without Chromium.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startLibraryBackend, type LibraryBackend } from '../../src/demo/library-backend.js';
import { bundledProtosDir, packageRoot } from '../../src/package-paths.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = process.env['PROTOGATE_CHROMIUM'] ?? '/usr/bin/chromium';
const screenshot = path.join(packageRoot, 'test-artifacts', 'docs.png');

let backend: LibraryBackend;
let gateway: TestGateway;
let browser: Browser | undefined;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  backend = await startLibraryBackend({ port: 0 });
  gateway = await startTestGateway({
    protos: { paths: [bundledProtosDir], files: ['library/v1/library.proto'] },
    upstreams: [{ service: 'library.v1.LibraryService', target: `127.0.0.1:${backend.port}` }],
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await gateway?.close();
  await backend?.close();
});

it('/docs renders the demo operations in headless Chromium, from this origin only', async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 1600 } });
  const origins = new Set<string>();
  page.on('request', (request) => void origins.add(new URL(request.url()).origin));
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => void pageErrors.push(error.message));

  const response = await page.goto(`${gateway.base}/docs`);
  assert.equal(response?.status(), 200);
  // Swagger UI renders one .opblock per operation once it has fetched and parsed the document.
  await page.getByText('Lists the books on a shelf, filtered and paged.').first().waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal(await page.locator('.opblock').count(), 16, 'one block per operation of openapi/openapi.json');
  assert.ok(await page.getByText('/v1/shelves/{shelf}/books/{book}').first().isVisible());
  assert.equal(await page.locator('.errors-wrapper').count(), 0, 'Swagger UI reports no errors in the document');

  mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(statSync(screenshot).size > 10_000);
  assert.deepEqual([...origins], [gateway.base], 'no CDN: every request goes to the gateway');
  assert.deepEqual(pageErrors, []);
});

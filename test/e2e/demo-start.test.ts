// `npm start` as a user runs it (the demo script in a child process, ephemeral ports): the banner
// hands out a demo token and a demo API key, the library stays public, and the staff-only
// LibraryAdminService answers 401 without a credential, the forwarded identity with the token,
// 403 to the API key (no librarian role), and accepts the key as a query parameter.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/package-paths.js';
import { fetchJson } from '../helpers/gateway.js';

let child: ChildProcess;
let exited: Promise<number | null>;
let base: string;
let token: string;
let apiKey: string;

before(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'demo', 'start-demo.ts')], {
    cwd: packageRoot,
    env: { ...process.env, PORT: '0', BACKEND_PORT: '0', ADMIN_PORT: '0', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const banner = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the demo printed no banner within 30 s:\n${text}`)), 30_000);
    void exited.then((code) => reject(new Error(`the demo exited with ${code}:\n${text}`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('(the key as a query parameter)')) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
  base = /REST gateway: (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1]!;
  token = /DEMO_TOKEN=(\S+)/.exec(banner)![1]!;
  apiKey = /DEMO_API_KEY=(\S+)/.exec(banner)![1]!;
  assert.match(banner, /DEMO ONLY/);
});

after(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await exited;
  }
});

describe('npm start', () => {
  it('serves the library to anyone', async () => {
    const response = await fetchJson(`${base}/v1/shelves`);
    assert.equal(response.status, 200);
    assert.ok(response.json.shelves.length > 0);
  });

  it('the admin API wants a credential: 401 with WWW-Authenticate', async () => {
    const response = await fetchJson(`${base}/v1/admin/caller`);
    assert.equal(response.status, 401);
    assert.equal(response.json.status, 'UNAUTHENTICATED');
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm="protogate"/);
  });

  it('the printed token works: the backend receives the verified identity', async () => {
    const response = await fetchJson(`${base}/v1/admin/caller`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { subject: 'ada', scopes: ['library.read', 'library.write'], roles: ['librarian'] });
    const loans = await fetchJson(`${base}/v1/admin/loans`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(loans.status, 200, loans.text);
    assert.ok(loans.json.books.every((book: { loan?: { borrower: string } }) => typeof book.loan?.borrower === 'string'));
    assert.ok(loans.json.books.length > 0, 'the seeded library has a book on loan');
  });

  it('the printed API key authenticates but lacks the librarian role: 403 on loans', async () => {
    const caller = await fetchJson(`${base}/v1/admin/caller?api_key=${apiKey}`);
    assert.equal(caller.status, 200, caller.text);
    assert.equal(caller.json.subject, 'demo-robot');
    const loans = await fetchJson(`${base}/v1/admin/loans`, { headers: { 'x-api-key': apiKey } });
    assert.equal(loans.status, 403);
    assert.equal(loans.json.status, 'PERMISSION_DENIED');
    assert.match(loans.json.message, /"librarian"/);
  });

  it('a spoofed identity header is not what the backend sees', async () => {
    const response = await fetchJson(`${base}/v1/admin/caller`, { headers: { 'x-api-key': apiKey, 'grpc-metadata-x-user-roles': 'librarian' } });
    assert.equal(response.status, 200);
    assert.deepEqual(response.json.roles, []);
  });
});

// The demo API through the gateway: every kind of binding in protos/library/v1/library.proto,
// against the real demo backend (grpc-js + protobufjs, as many Node services are built).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDemoGateway, type DemoGateway } from '../helpers/demo-gateway.js';
import { fetchJson, type TestGateway } from '../helpers/gateway.js';

let demo: DemoGateway;
let gateway: TestGateway;

before(async () => {
  demo = await startDemoGateway();
  gateway = demo.gateway;
});

after(() => demo?.close());

describe('demo library API', () => {
  it('uploads a cover image as the raw request body and downloads it byte-exact (google.api.HttpBody)', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const missing = await fetchJson(`${gateway.base}/v1/shelves/classics/books/frankenstein/cover`);
    assert.equal(missing.status, 404);
    const put = await fetchJson(`${gateway.base}/v1/shelves/classics/books/frankenstein/cover`, { method: 'PUT', body: png, headers: { 'content-type': 'image/png' } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json, { name: 'shelves/classics/books/frankenstein', contentType: 'image/png', sizeBytes: String(png.length) });
    const got = await fetch(`${gateway.base}/v1/shelves/classics/books/frankenstein/cover`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'image/png');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(png));
    const text = await fetchJson(`${gateway.base}/v1/shelves/classics/books/frankenstein/cover`, { method: 'PUT', body: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 400);
    assert.match(text.json.message, /not an image type/);
  });

  it('lists shelves and gets one (GET with a path variable)', async () => {
    const list = await fetchJson(`${gateway.base}/v1/shelves`);
    assert.equal(list.status, 200, list.text);
    assert.ok(list.json.shelves.some((shelf: { name: string }) => shelf.name === 'shelves/classics'));
    const one = await fetchJson(`${gateway.base}/v1/shelves/classics`);
    assert.equal(one.json.name, 'shelves/classics');
  });

  it('serves response_body and additional bindings', async () => {
    const theme = await fetchJson(`${gateway.base}/v1/shelves/classics/theme`);
    assert.equal(theme.status, 200, theme.text);
    assert.equal(typeof theme.json, 'string');
    const beta = await fetchJson(`${gateway.base}/v1beta/shelves/classics/books/frankenstein`);
    assert.equal(beta.json.title, 'Frankenstein');
  });

  it('pages and filters with query parameters (enum, page size)', async () => {
    const page = await fetchJson(`${gateway.base}/v1/shelves/classics/books?pageSize=1`);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.json.books.length, 1);
    assert.notEqual(page.json.nextPageToken, '');
    const next = await fetchJson(`${gateway.base}/v1/shelves/classics/books?pageSize=1&pageToken=${encodeURIComponent(page.json.nextPageToken)}`);
    assert.notEqual(next.json.books[0].name, page.json.books[0].name);
    const fiction = await fetchJson(`${gateway.base}/v1/shelves/classics/books?genre=GENRE_FICTION`);
    assert.ok(fiction.json.books.every((book: { genre: string }) => book.genre === 'GENRE_FICTION'));
  });

  it('creates with body "*" and body "field", updates with a FieldMask, checks out, deletes', async () => {
    const shelf = await fetchJson(`${gateway.base}/v1/shelves`, { method: 'POST', json: { shelf: { theme: 'Poetry' }, shelfId: 'poetry' } });
    assert.equal(shelf.status, 200, shelf.text);
    assert.equal(shelf.json.name, 'shelves/poetry');
    const book = await fetchJson(`${gateway.base}/v1/shelves/poetry/books?bookId=odes`, {
      method: 'POST',
      json: { title: 'Odes', author: 'Keats', genre: 'GENRE_POETRY', isbn13: '9780140424478' },
    });
    assert.equal(book.status, 200, book.text);
    assert.equal(book.json.name, 'shelves/poetry/books/odes');
    // The path binds book.name while the body is the book: both must reach a protobufjs backend.
    const updated = await fetchJson(`${gateway.base}/v1/shelves/poetry/books/odes?updateMask=title`, {
      method: 'PATCH',
      json: { title: 'Odes (1819)', author: 'ignored, not in the mask' },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.title, 'Odes (1819)');
    assert.equal(updated.json.author, 'Keats');
    const loan = await fetchJson(`${gateway.base}/v1/shelves/poetry/books/odes:checkout`, {
      method: 'POST',
      json: { borrower: 'ada', loanPeriod: '1209600s' },
    });
    assert.equal(loan.status, 200, loan.text);
    assert.equal(loan.json.loan.borrower, 'ada');
    assert.equal(loan.json.loan.loanPeriod, '1209600s');
    const gone = await fetchJson(`${gateway.base}/v1/shelves/poetry/books/odes`, { method: 'DELETE' });
    assert.equal(gone.status, 200, gone.text);
    assert.deepEqual(gone.json, {});
    assert.equal((await fetchJson(`${gateway.base}/v1/shelves/poetry/books/odes`)).status, 404);
  });

  it('maps backend errors with their details', async () => {
    const missing = await fetchJson(`${gateway.base}/v1/shelves/missing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.status, 'NOT_FOUND');
    assert.ok(missing.json.details.some((d: { '@type': string }) => d['@type'].endsWith('google.rpc.ResourceInfo')));
    const twice = await fetchJson(`${gateway.base}/v1/shelves`, { method: 'POST', json: { shelf: { theme: 'X' }, shelfId: 'classics' } });
    assert.equal(twice.status, 409);
    assert.equal(twice.json.status, 'ALREADY_EXISTS');
  });
});

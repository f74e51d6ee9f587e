// The demo's client stream, LibraryService.ImportBooks, through the gateway to the real demo
// backend: an NDJSON body adds one book per line, in order; the first book the service refuses
// ends the import with its error, and the books before it stay; a line that is not a Book is
// refused by the gateway, naming the line.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startDemoGateway, type DemoGateway } from '../helpers/demo-gateway.js';
import { fetchJson, type TestGateway } from '../helpers/gateway.js';

let demo: DemoGateway;
let gateway: TestGateway;

before(async () => {
  demo = await startDemoGateway();
  gateway = demo.gateway;
  const shelf = await fetchJson(`${gateway.base}/v1/shelves`, { method: 'POST', json: { shelfId: 'imports', shelf: { theme: 'Imported' } } });
  assert.equal(shelf.status, 200, shelf.text);
});

after(() => demo?.close());

function importBooks(lines: string[]): Promise<Response> {
  return fetch(`${gateway.base}/v1/shelves/imports/books:import`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: lines.map((line) => `${line}\n`).join(''),
  });
}

async function titlesOnShelf(): Promise<string[]> {
  const listed = await fetchJson(`${gateway.base}/v1/shelves/imports/books?pageSize=100`);
  assert.equal(listed.status, 200, listed.text);
  return ((listed.json as { books?: Array<{ title: string }> }).books ?? []).map((book) => book.title).sort();
}

it('adds one book per NDJSON line, in order, and answers the books with their names', async () => {
  const response = await importBooks([JSON.stringify({ title: 'Dune', author: 'Frank Herbert' }), '', JSON.stringify({ title: 'Emma', author: 'Jane Austen' })]);
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { books: Array<{ name: string; title: string }> };
  assert.deepEqual(body.books.map((book) => book.title), ['Dune', 'Emma']);
  for (const book of body.books) assert.match(book.name, /^shelves\/imports\/books\/[^/]+$/);
  assert.deepEqual(await titlesOnShelf(), ['Dune', 'Emma']);
});

it("a book the service refuses ends the import with the service's error; the books before it stay", async () => {
  // no author: the demo service refuses the book (INVALID_ARGUMENT)
  const response = await importBooks([
    JSON.stringify({ title: 'Kept', author: 'A. Author' }),
    JSON.stringify({ title: 'Refused' }),
    JSON.stringify({ title: 'Never sent', author: 'C. Author' }),
  ]);
  const text = await response.text();
  assert.equal(response.status, 400, text);
  assert.equal(JSON.parse(text).code, 3);
  assert.match(JSON.parse(text).message, /author/);
  const titles = await titlesOnShelf();
  assert.ok(titles.includes('Kept'), `books before the refused one stay: ${titles.join(', ')}`);
  assert.ok(!titles.includes('Refused') && !titles.includes('Never sent'), titles.join(', '));
});

it('a line that is not a Book is a 400 naming the line, before the service sees it', async () => {
  const response = await importBooks([JSON.stringify({ title: 'Fine', author: 'D. Author' }), JSON.stringify({ title: 'Bad', pages: 'many' })]);
  const text = await response.text();
  assert.equal(response.status, 400, text);
  assert.match(JSON.parse(text).message, /line 2/);
});

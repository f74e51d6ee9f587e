// The demo's server stream, LibraryService.WatchShelf, through the gateway to the real demo
// backend: the snapshot, live changes as they happen, resuming from a cursor (`since`, and SSE's
// Last-Event-ID with `id:` lines), the in-band NOT_FOUND when the shelf is deleted, and
// pre-stream errors for cursors it cannot resume from.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startDemoGateway, type DemoGateway } from '../helpers/demo-gateway.js';
import { fetchJson, type TestGateway } from '../helpers/gateway.js';

let demo: DemoGateway;
let gateway: TestGateway;

before(async () => {
  demo = await startDemoGateway({ streaming: { sseIdFields: { 'library.v1.LibraryService/WatchShelf': 'cursor' } } });
  gateway = demo.gateway;
});

after(() => demo?.close());

/** Reads a streamed body line by line as the lines arrive; undefined at its end. */
function lines(response: Response): () => Promise<string | undefined> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  return async () => {
    for (;;) {
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return buffered === '' ? undefined : buffered;
      buffered += value;
    }
  };
}

async function post(path: string, json: unknown): Promise<any> {
  const response = await fetchJson(`${gateway.base}${path}`, { method: 'POST', json });
  assert.equal(response.status, 200, response.text);
  return response.json;
}

it('WatchShelf: the books first, then each change as it happens; resumable by cursor; ends NOT_FOUND with its shelf', async () => {
  await post('/v1/shelves', { shelfId: 'watched', shelf: { theme: 'Watched' } });
  await post('/v1/shelves/watched/books?bookId=first', { title: 'First', author: 'A. Author' });

  const controller = new AbortController();
  const watch = await fetch(`${gateway.base}/v1/shelves/watched:watch`, { signal: controller.signal });
  assert.equal(watch.status, 200);
  assert.equal(watch.headers.get('content-type'), 'application/x-ndjson');
  const next = lines(watch);
  const snapshot = JSON.parse((await next())!);
  assert.equal(snapshot.kind, 'SHELF_EVENT_KIND_ADDED');
  assert.equal(snapshot.book.name, 'shelves/watched/books/first');

  await post('/v1/shelves/watched/books?bookId=second', { title: 'Second', author: 'B. Author' });
  const added = JSON.parse((await next())!);
  assert.deepEqual([added.kind, added.book.title], ['SHELF_EVENT_KIND_ADDED', 'Second']);
  await post('/v1/shelves/watched/books/second:checkout', { borrower: 'reader' });
  const changed = JSON.parse((await next())!);
  assert.deepEqual([changed.kind, changed.book.loan.borrower], ['SHELF_EVENT_KIND_CHANGED', 'reader']);
  controller.abort();

  // resume after the snapshot: the two changes are replayed, nothing else
  const resumed = await fetch(`${gateway.base}/v1/shelves/watched:watch?since=${snapshot.cursor}`);
  const replay = lines(resumed);
  assert.deepEqual([JSON.parse((await replay())!).cursor, JSON.parse((await replay())!).cursor], [added.cursor, changed.cursor]);

  // an EventSource reconnecting sends Last-Event-ID; the events carry their cursors as ids
  const sseController = new AbortController();
  const sse = await fetch(`${gateway.base}/v1/shelves/watched:watch`, {
    headers: { accept: 'text/event-stream', 'last-event-id': added.cursor },
    signal: sseController.signal,
  });
  assert.equal(sse.headers.get('content-type'), 'text/event-stream');
  const events = lines(sse);
  assert.deepEqual([await events(), await events()], [`id: ${changed.cursor}`, `data: ${JSON.stringify(changed)}`]);

  // deleting the shelf: its books leave (REMOVED), then the stream ends with NOT_FOUND
  const deleted = await fetchJson(`${gateway.base}/v1/shelves/watched?force=true`, { method: 'DELETE' });
  assert.equal(deleted.status, 200, deleted.text);
  const removed = [JSON.parse((await replay())!), JSON.parse((await replay())!)];
  assert.deepEqual(removed.map((event) => [event.kind, event.book.name]), [
    ['SHELF_EVENT_KIND_REMOVED', 'shelves/watched/books/first'],
    ['SHELF_EVENT_KIND_REMOVED', 'shelves/watched/books/second'],
  ]);
  const end = JSON.parse((await replay())!);
  assert.equal(end.error.status, 'NOT_FOUND');
  assert.equal(await replay(), undefined);
  sseController.abort();
});

it('WatchShelf refuses what it cannot start before the stream begins: a normal HTTP error', async () => {
  const missing = await fetchJson(`${gateway.base}/v1/shelves/no-such-shelf:watch`);
  assert.equal(missing.status, 404);
  assert.equal(missing.json.status, 'NOT_FOUND');
  const badCursor = await fetchJson(`${gateway.base}/v1/shelves/classics:watch?since=yesterday`);
  assert.equal(badCursor.status, 400);
  assert.equal(badCursor.json.details.find((d: any) => d['@type'].endsWith('BadRequest')).fieldViolations[0].field, 'since');
  const future = await fetchJson(`${gateway.base}/v1/shelves/classics:watch?since=999999`);
  assert.equal(future.status, 400);
  assert.equal(future.json.status, 'OUT_OF_RANGE');
});

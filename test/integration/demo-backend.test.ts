// The demo LibraryService backend over real gRPC on loopback: results, paging, update masks and
// the rich error model (google.rpc.Status in grpc-status-details-bin).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  libraryServiceDefinition,
  loadLibraryRoot,
  startLibraryBackend,
  type LibraryBackend,
} from '../../src/demo/library-backend.js';

type Message = Record<string, unknown>;
type Call = (request: Message) => Promise<Message>;

const NOW = Date.parse('2025-03-01T12:00:00Z');
const root = loadLibraryRoot();

let backend: LibraryBackend;
let client: grpc.Client;
const rpc: Record<string, Call> = {};

before(async () => {
  backend = await startLibraryBackend({ port: 0, now: () => NOW });
  const definition = libraryServiceDefinition(root);
  const Client = grpc.makeGenericClientConstructor(definition, 'LibraryService');
  client = new Client(`127.0.0.1:${backend.port}`, grpc.credentials.createInsecure());
  for (const name of Object.keys(definition)) {
    const method = (client as unknown as Record<string, Function>)[name]!.bind(client);
    rpc[name] = (request) =>
      new Promise((resolve, reject) => {
        method(request, (error: grpc.ServiceError | null, response: Message) => (error ? reject(error) : resolve(response)));
      });
  }
});

after(async () => {
  client.close();
  await backend.close();
});

/** Awaits a failing call and returns its error, with the decoded google.rpc.Status details. */
async function failure(call: Promise<Message>): Promise<{ code: number; message: string; details: Message[] }> {
  const error = await call.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e as grpc.ServiceError,
  );
  const [raw] = error.metadata.get('grpc-status-details-bin');
  assert.ok(Buffer.isBuffer(raw), 'grpc-status-details-bin trailer present');
  const Status = root.lookupType('google.rpc.Status');
  const status = Status.toObject(Status.decode(raw)) as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
  assert.equal(status.code, error.code);
  assert.equal(status.message, error.details);
  const details = status.details.map((any) => {
    const type = root.lookupType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1));
    return { '@type': any.type_url, ...type.toObject(type.decode(any.value)) };
  });
  return { code: error.code, message: error.details, details };
}

describe('demo library backend', () => {
  it('lists the seeded shelves with their book counts', async () => {
    const res = await rpc['ListShelves']!({});
    const shelves = res['shelves'] as Message[];
    assert.deepEqual(shelves.map((s) => [s['name'], s['book_count']]), [['shelves/classics', 3], ['shelves/nonfiction', 2]]);
    assert.equal(res['next_page_token'], '');
  });

  it('gets a book with int64, enum, wrapper, optional and oneof fields', async () => {
    const book = await rpc['GetBook']!({ name: 'shelves/classics/books/frankenstein' });
    assert.equal(book['title'], 'Frankenstein');
    assert.equal(book['subtitle'], 'or, The Modern Prometheus');
    assert.equal(book['isbn13'], '9780141439471');
    assert.equal(book['genre'], 'GENRE_SCIENCE_FICTION');
    assert.deepEqual(book['rating'], { value: 5 });
    assert.equal(book['shelf_position'], 'A1');
    assert.equal(book['loan'], undefined);
    assert.deepEqual(book['labels'], { edition: 'penguin-classics' });
  });

  it('answers NOT_FOUND with a ResourceInfo detail', async () => {
    const err = await failure(rpc['GetBook']!({ name: 'shelves/classics/books/ulysses' }));
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.match(err.message, /shelves\/classics\/books\/ulysses/);
    assert.deepEqual(err.details, [{
      '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
      resource_type: 'library.example.com/Book',
      resource_name: 'shelves/classics/books/ulysses',
      description: 'no such resource',
    }]);
  });

  it('answers INVALID_ARGUMENT with a BadRequest field violation', async () => {
    const err = await failure(rpc['CreateBook']!({ parent: 'shelves/classics', book: { author: 'Anon' } }));
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(err.details, [{
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      field_violations: [{ field: 'book.title', description: 'is required' }],
    }]);
    const badName = await failure(rpc['GetShelf']!({ name: 'shelves/Not Valid' }));
    assert.equal(badName.code, grpc.status.INVALID_ARGUMENT);
  });

  it('pages through books and rejects a token replayed with other filters', async () => {
    const first = await rpc['ListBooks']!({ parent: 'shelves/classics', page_size: 2 });
    assert.deepEqual((first['books'] as Message[]).map((b) => b['name']), [
      'shelves/classics/books/frankenstein',
      'shelves/classics/books/middlemarch',
    ]);
    assert.equal(first['total_size'], 3);
    const token = first['next_page_token'] as string;
    assert.notEqual(token, '');
    const second = await rpc['ListBooks']!({ parent: 'shelves/classics', page_size: 2, page_token: token });
    assert.deepEqual((second['books'] as Message[]).map((b) => b['name']), ['shelves/classics/books/the-hobbit']);
    assert.equal(second['next_page_token'], '');
    const replay = await failure(rpc['ListBooks']!({ parent: 'shelves/classics', page_token: token, filter: 'x' }));
    assert.equal(replay.code, grpc.status.INVALID_ARGUMENT);
  });

  it('filters books by genre, text, author and publication time', async () => {
    const names = async (request: Message): Promise<unknown[]> =>
      ((await rpc['ListBooks']!({ parent: 'shelves/classics', ...request }))['books'] as Message[]).map((b) => b['name']);
    assert.deepEqual(await names({ genre: 'GENRE_FANTASY' }), ['shelves/classics/books/the-hobbit']);
    assert.deepEqual(await names({ filter: 'eliot' }), ['shelves/classics/books/middlemarch']);
    assert.deepEqual(await names({ authors: ['Mary Shelley'] }), ['shelves/classics/books/frankenstein']);
    assert.deepEqual(await names({ published_after: { seconds: Date.parse('1900-01-01T00:00:00Z') / 1000 } }), [
      'shelves/classics/books/the-hobbit',
    ]);
  });

  it('updates only the fields named in update_mask', async () => {
    const name = 'shelves/nonfiction/books/spqr';
    const updated = await rpc['UpdateBook']!({
      book: { name, title: 'ignored', rating: { value: 3 } },
      update_mask: { paths: ['rating'] },
    });
    assert.deepEqual(updated['rating'], { value: 3 });
    assert.equal(updated['title'], 'SPQR');
    assert.equal(updated['subtitle'], 'A History of Ancient Rome');
    assert.deepEqual(updated['update_time'], { seconds: String(NOW / 1000), nanos: 0 });
    const bad = await failure(rpc['UpdateBook']!({ book: { name }, update_mask: { paths: ['create_time'] } }));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  });

  it('creates a shelf and a book, and refuses duplicates', async () => {
    const shelf = await rpc['CreateShelf']!({ shelf: { theme: 'Poetry' }, shelf_id: 'poetry' });
    assert.equal(shelf['name'], 'shelves/poetry');
    assert.equal(shelf['book_count'], 0);
    const dup = await failure(rpc['CreateShelf']!({ shelf: { theme: 'Poetry' }, shelf_id: 'poetry' }));
    assert.equal(dup.code, grpc.status.ALREADY_EXISTS);
    const book = await rpc['CreateBook']!({
      parent: 'shelves/poetry',
      book_id: 'leaves-of-grass',
      book: { title: 'Leaves of Grass', author: 'Walt Whitman', genre: 'GENRE_POETRY', isbn13: '9780140421996' },
    });
    assert.equal(book['name'], 'shelves/poetry/books/leaves-of-grass');
    assert.equal(book['isbn13'], '9780140421996');
    assert.deepEqual(book['create_time'], { seconds: String(NOW / 1000), nanos: 0 });
  });

  it('checks a book out once, replacing its shelf position with a loan', async () => {
    const name = 'shelves/classics/books/middlemarch';
    const book = await rpc['CheckoutBook']!({ name, borrower: 'grace', loan_period: { seconds: 7 * 86400 } });
    assert.equal(book['shelf_position'], undefined);
    assert.deepEqual(book['loan'], {
      borrower: 'grace',
      loan_period: { seconds: String(7 * 86400), nanos: 0 },
      due_time: { seconds: String(NOW / 1000 + 7 * 86400), nanos: 0 },
    });
    const again = await failure(rpc['CheckoutBook']!({ name, borrower: 'alan' }));
    assert.equal(again.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(again.details[0]!['@type'], 'type.googleapis.com/google.rpc.PreconditionFailure');
  });

  it('deletes a non-empty shelf only with force', async () => {
    const kept = await failure(rpc['DeleteShelf']!({ name: 'shelves/nonfiction' }));
    assert.equal(kept.code, grpc.status.FAILED_PRECONDITION);
    assert.deepEqual(await rpc['DeleteShelf']!({ name: 'shelves/nonfiction', force: true }), {});
    const gone = await failure(rpc['GetBook']!({ name: 'shelves/nonfiction/books/diary' }));
    assert.equal(gone.code, grpc.status.NOT_FOUND);
  });
});

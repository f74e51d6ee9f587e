// The demo library's state and rules: an in-memory store of shelves and books behind the
// library.v1 API semantics (AIP-style names, paging, update masks, canonical error codes).
// Messages are protobufjs plain objects (`toObject` with longs and enums as strings); the gRPC
// wiring lives in library-backend.ts, so this file knows nothing about the wire.
import { ShelfChanges } from './shelf-watch.js';

/** A google.protobuf.Timestamp or Duration as protobufjs plain objects carry it. */
export interface SecondsNanos {
  seconds: string;
  nanos: number;
}

/** A plain-object message, as decoded by protobufjs. */
export type Message = Record<string, unknown>;

/** A google.rpc error detail before packing into an Any: the full type name and its fields. */
export interface ErrorDetail {
  type: string;
  value: Message;
}

/** A failed call: a canonical gRPC code, a developer message and google.rpc details. */
export class LibraryError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'LibraryError';
  }
}

// google/rpc/code.proto
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;

const ID = '[a-z][a-z0-9-]{0,62}';
const ID_PATTERN = new RegExp(`^${ID}$`);
const SHELF_NAME = new RegExp(`^shelves/(${ID})$`);
const BOOK_NAME = new RegExp(`^shelves/(${ID})/books/(${ID})$`);

const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;
const DEFAULT_LOAN_SECONDS = 14 * 24 * 3600;
const MAX_LOAN_SECONDS = 90 * 24 * 3600;

/** Book fields a client may write; everything else is set by the server. */
const WRITABLE_BOOK_FIELDS = [
  'title', 'subtitle', 'author', 'genre', 'isbn13', 'publish_time', 'rating', 'labels',
  'metadata', 'cover_thumbnail', 'shelf_position',
] as const;
const OUTPUT_ONLY_BOOK_FIELDS = new Set(['name', 'create_time', 'update_time', 'loan']);

function badRequest(field: string, description: string): LibraryError {
  return new LibraryError(INVALID_ARGUMENT, `${field}: ${description}`, [
    { type: 'google.rpc.BadRequest', value: { field_violations: [{ field, description }] } },
  ]);
}

function notFound(resourceType: string, name: string): LibraryError {
  return new LibraryError(NOT_FOUND, `${resourceType} "${name}" not found`, [
    { type: 'google.rpc.ResourceInfo', value: { resource_type: `library.example.com/${resourceType}`, resource_name: name, description: 'no such resource' } },
  ]);
}

function preconditionFailed(subject: string, description: string): LibraryError {
  return new LibraryError(FAILED_PRECONDITION, description, [
    { type: 'google.rpc.PreconditionFailure', value: { violations: [{ type: 'STATE', subject, description }] } },
  ]);
}

function toTimestamp(ms: number): SecondsNanos {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 };
}

function toMillis(t: SecondsNanos): number {
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}

function asTimestamp(value: unknown): SecondsNanos | null {
  return value !== null && typeof value === 'object' ? (value as SecondsNanos) : null;
}

function str(request: Message, field: string): string {
  const value = request[field];
  return typeof value === 'string' ? value : '';
}

function requireName(value: string, field: string, pattern: RegExp, form: string): RegExpExecArray {
  const match = pattern.exec(value);
  if (match === null) {
    throw badRequest(field, value === '' ? 'is required' : `"${value}" is not a valid name; expected "${form}"`);
  }
  return match;
}

function pageSize(request: Message): number {
  const size = Number(request['page_size'] ?? 0);
  if (size < 0) throw badRequest('page_size', `${size} is negative`);
  return size === 0 ? DEFAULT_PAGE_SIZE : Math.min(size, MAX_PAGE_SIZE);
}

// A page token records where the next page starts and which query it belongs to, so a token
// replayed against different filters is rejected rather than silently skipping results.
function encodePageToken(offset: number, query: string): string {
  return Buffer.from(JSON.stringify([offset, query])).toString('base64url');
}

function decodePageToken(token: string, query: string): number {
  if (token === '') return 0;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && Number.isInteger(decoded[0]) && decoded[0] > 0 && decoded[1] === query) {
      return decoded[0] as number;
    }
  } catch {
    // fall through to the error below
  }
  throw badRequest('page_token', 'is not a token from a previous call with the same filters');
}

function paginate<T>(items: readonly T[], request: Message, query: string): { page: T[]; next: string } {
  const start = decodePageToken(str(request, 'page_token'), query);
  const end = start + pageSize(request);
  return { page: items.slice(start, end), next: end < items.length ? encodePageToken(end, query) : '' };
}

function byName(a: Message, b: Message): number {
  return str(a, 'name') < str(b, 'name') ? -1 : 1;
}

function checkBookFields(book: Message, fields: Iterable<string>): void {
  for (const field of fields) {
    if ((field === 'title' || field === 'author') && str(book, field).trim() === '') {
      throw badRequest(`book.${field}`, 'is required');
    }
    if (field === 'isbn13' && book['isbn13'] !== undefined && book['isbn13'] !== '0' && !/^97[89]\d{10}$/.test(String(book['isbn13']))) {
      throw badRequest('book.isbn13', `${String(book['isbn13'])} is not a 13-digit ISBN starting with 978 or 979`);
    }
    if (field === 'rating' && book['rating'] !== null && book['rating'] !== undefined) {
      const stars = Number((book['rating'] as Message)['value'] ?? 0);
      if (!Number.isInteger(stars) || stars < 1 || stars > 5) {
        throw badRequest('book.rating', `${stars} is outside 1..5`);
      }
    }
  }
}

/** The in-memory library; one per backend instance, so tests never share state. */
export class LibraryStore {
  private readonly shelves = new Map<string, Message>();
  private readonly books = new Map<string, Message>();
  /** Cover images by book name: the bytes and media type as uploaded. */
  private readonly covers = new Map<string, { content_type: string; data: Buffer }>();
  private nextId = 1;
  /** WatchShelf's change log and watchers. */
  private readonly changes = new ShelfChanges();

  constructor(private readonly now: () => number = Date.now) {}

  listShelves(request: Message): Message {
    const all = [...this.shelves.values()].sort(byName).map((s) => this.withCount(s));
    const { page, next } = paginate(all, request, 'shelves');
    return { shelves: page, next_page_token: next };
  }

  getShelf(request: Message): Message {
    const name = str(request, 'name');
    requireName(name, 'name', SHELF_NAME, 'shelves/{shelf}');
    return this.withCount(this.shelf(name));
  }

  createShelf(request: Message): Message {
    const input = (request['shelf'] ?? null) as Message | null;
    if (input === null) throw badRequest('shelf', 'is required');
    const theme = str(input, 'theme').trim();
    if (theme === '') throw badRequest('shelf.theme', 'is required');
    const id = this.chooseId(str(request, 'shelf_id'), 'shelf_id', 'shelf', (candidate) => `shelves/${candidate}`, this.shelves);
    const shelf: Message = { name: `shelves/${id}`, theme, book_count: 0, create_time: toTimestamp(this.now()) };
    this.shelves.set(str(shelf, 'name'), shelf);
    return this.withCount(shelf);
  }

  deleteShelf(request: Message): Message {
    const name = str(request, 'name');
    requireName(name, 'name', SHELF_NAME, 'shelves/{shelf}');
    this.shelf(name);
    const books = this.booksOn(name);
    if (books.length > 0 && request['force'] !== true) {
      throw preconditionFailed(name, `shelf "${name}" still holds ${books.length} book(s); set force to delete them too`);
    }
    for (const book of books) {
      this.books.delete(str(book, 'name'));
      this.covers.delete(str(book, 'name'));
      this.changes.record(name, 'SHELF_EVENT_KIND_REMOVED', book, toTimestamp(this.now()));
    }
    this.shelves.delete(name);
    this.changes.shelfDeleted(name, notFound('Shelf', name));
    return {};
  }

  listBooks(request: Message): Message {
    const parent = str(request, 'parent');
    requireName(parent, 'parent', SHELF_NAME, 'shelves/{shelf}');
    this.shelf(parent);
    const text = str(request, 'filter').toLowerCase();
    const genre = str(request, 'genre');
    const after = asTimestamp(request['published_after']);
    const authors = new Set((request['authors'] as string[] | undefined) ?? []);
    const matches = this.booksOn(parent).filter((book) => {
      if (text !== '' && !`${str(book, 'title')}\n${str(book, 'author')}`.toLowerCase().includes(text)) return false;
      if (genre !== '' && genre !== 'GENRE_UNSPECIFIED' && book['genre'] !== genre) return false;
      if (authors.size > 0 && !authors.has(str(book, 'author'))) return false;
      if (after !== null) {
        const published = asTimestamp(book['publish_time']);
        if (published === null || toMillis(published) <= toMillis(after)) return false;
      }
      return true;
    });
    const query = JSON.stringify([parent, text, genre, after, [...authors].sort()]);
    const { page, next } = paginate(matches, request, query);
    return { books: page, next_page_token: next, total_size: matches.length };
  }

  /** LibraryAdminService.ListLoans: every book on loan, in name order. */
  listLoans(): Message {
    return { books: [...this.books.values()].filter((book) => book['loan'] !== undefined).sort(byName) };
  }

  getBook(request: Message): Message {
    const name = str(request, 'name');
    requireName(name, 'name', BOOK_NAME, 'shelves/{shelf}/books/{book}');
    return this.book(name);
  }

  createBook(request: Message): Message {
    const parent = str(request, 'parent');
    requireName(parent, 'parent', SHELF_NAME, 'shelves/{shelf}');
    this.shelf(parent);
    const input = (request['book'] ?? null) as Message | null;
    if (input === null) throw badRequest('book', 'is required');
    checkBookFields(input, WRITABLE_BOOK_FIELDS);
    const id = this.chooseId(str(request, 'book_id'), 'book_id', 'book', (candidate) => `${parent}/books/${candidate}`, this.books);
    const now = toTimestamp(this.now());
    const book: Message = { name: `${parent}/books/${id}`, create_time: now, update_time: now };
    for (const field of WRITABLE_BOOK_FIELDS) if (input[field] !== undefined) book[field] = input[field];
    this.books.set(str(book, 'name'), book);
    this.changes.record(parent, 'SHELF_EVENT_KIND_ADDED', book, now);
    return book;
  }

  updateBook(request: Message): Message {
    const input = (request['book'] ?? null) as Message | null;
    if (input === null) throw badRequest('book', 'is required');
    const name = str(input, 'name');
    requireName(name, 'book.name', BOOK_NAME, 'shelves/{shelf}/books/{book}');
    const existing = this.book(name);
    const mask = ((request['update_mask'] as Message | null)?.['paths'] as string[] | undefined) ?? [];
    // AIP-134: an empty mask means "replace every writable field".
    const paths = mask.length === 0 ? [...WRITABLE_BOOK_FIELDS] : mask;
    for (const path of paths) {
      if (OUTPUT_ONLY_BOOK_FIELDS.has(path)) throw badRequest('update_mask', `"${path}" is output only and cannot be updated`);
      if (!(WRITABLE_BOOK_FIELDS as readonly string[]).includes(path)) throw badRequest('update_mask', `"${path}" is not a field of Book`);
    }
    checkBookFields(input, paths);
    if (paths.includes('shelf_position') && input['shelf_position'] !== undefined && existing['loan'] !== undefined) {
      throw preconditionFailed(name, `book "${name}" is on loan; it has no shelf position until it is returned`);
    }
    const updated: Message = { ...existing, update_time: toTimestamp(this.now()) };
    for (const path of paths) {
      if (input[path] === undefined) delete updated[path];
      else updated[path] = input[path];
    }
    this.books.set(name, updated);
    this.changes.record(shelfOf(name), 'SHELF_EVENT_KIND_CHANGED', updated, updated['update_time'] as SecondsNanos);
    return updated;
  }

  deleteBook(request: Message): Message {
    const name = str(request, 'name');
    requireName(name, 'name', BOOK_NAME, 'shelves/{shelf}/books/{book}');
    const book = this.book(name);
    this.books.delete(name);
    this.covers.delete(name);
    this.changes.record(shelfOf(name), 'SHELF_EVENT_KIND_REMOVED', book, toTimestamp(this.now()));
    return {};
  }

  /** LibraryService.UpdateBookCover: stores the image the HTTP body carried (google.api.HttpBody). */
  updateBookCover(request: Message): Message {
    const name = str(request, 'name');
    requireName(name, 'name', BOOK_NAME, 'shelves/{shelf}/books/{book}');
    this.book(name);
    const cover = (request['cover'] ?? null) as { content_type?: string; data?: Uint8Array } | null;
    const contentType = (cover?.content_type ?? '').trim();
    const data = cover?.data === undefined ? Buffer.alloc(0) : Buffer.from(cover.data);
    if (!/^image\/[a-z0-9.+-]+$/i.test(contentType.split(';', 1)[0]!.trim())) {
      throw badRequest('cover.content_type', `"${contentType}" is not an image type; send the image with Content-Type image/png, image/jpeg, …`);
    }
    if (data.length === 0) throw badRequest('cover.data', 'is empty; send the image as the request body');
    this.covers.set(name, { content_type: contentType, data });
    return { name, content_type: contentType, size_bytes: String(data.length) };
  }

  /** LibraryService.GetBookCover: the image as uploaded. */
  getBookCover(request: Message): Message {
    const name = str(request, 'name');
    requireName(name, 'name', BOOK_NAME, 'shelves/{shelf}/books/{book}');
    this.book(name);
    const cover = this.covers.get(name);
    if (cover === undefined) throw notFound('BookCover', `${name}/cover`);
    return { content_type: cover.content_type, data: cover.data };
  }

  checkoutBook(request: Message): Message {
    const name = str(request, 'name');
    requireName(name, 'name', BOOK_NAME, 'shelves/{shelf}/books/{book}');
    const book = this.book(name);
    const borrower = str(request, 'borrower').trim();
    if (borrower === '') throw badRequest('borrower', 'is required');
    const period = asTimestamp(request['loan_period']) ?? { seconds: String(DEFAULT_LOAN_SECONDS), nanos: 0 };
    const periodMs = toMillis(period);
    if (periodMs <= 0 || periodMs > MAX_LOAN_SECONDS * 1000) {
      throw badRequest('loan_period', `${period.seconds}s is outside (0s, ${MAX_LOAN_SECONDS}s]`);
    }
    if (book['loan'] !== undefined) {
      throw preconditionFailed(name, `book "${name}" is already on loan`);
    }
    const now = this.now();
    const updated: Message = { ...book, update_time: toTimestamp(now) };
    delete updated['shelf_position'];
    updated['loan'] = { borrower, loan_period: period, due_time: toTimestamp(now + periodMs) };
    this.books.set(name, updated);
    this.changes.record(shelfOf(name), 'SHELF_EVENT_KIND_CHANGED', updated, toTimestamp(now));
    return updated;
  }

  /**
   * WatchShelf: sends the shelf's books (or the changes after `since`, else after `resumeFrom`,
   * SSE's Last-Event-ID), then each change, until the returned function is called or the shelf
   * is deleted (`end` with NOT_FOUND). Throws LibraryError when the watch cannot start.
   */
  watchShelf(request: Message, resumeFrom: string, send: (event: Message) => void, end: (error: LibraryError) => void): () => void {
    const name = str(request, 'name');
    requireName(name, 'name', SHELF_NAME, 'shelves/{shelf}');
    this.shelf(name);
    const since = str(request, 'since') || resumeFrom;
    const snapshot = () => this.booksOn(name).map((book) => ({ book, time: (book['update_time'] ?? book['create_time'] ?? toTimestamp(this.now())) as SecondsNanos }));
    return this.changes.watch(name, since, snapshot, send, end);
  }

  /** Adds a shelf as-is (for seeding). */
  putShelf(shelf: Message): void {
    this.shelves.set(str(shelf, 'name'), shelf);
  }

  /** Adds a book as-is (for seeding). */
  putBook(book: Message): void {
    this.books.set(str(book, 'name'), book);
  }

  private shelf(name: string): Message {
    const shelf = this.shelves.get(name);
    if (shelf === undefined) throw notFound('Shelf', name);
    return shelf;
  }

  private book(name: string): Message {
    const book = this.books.get(name);
    if (book === undefined) throw notFound('Book', name);
    return book;
  }

  private booksOn(shelfName: string): Message[] {
    const prefix = `${shelfName}/books/`;
    return [...this.books.values()].filter((b) => str(b, 'name').startsWith(prefix)).sort(byName);
  }

  private withCount(shelf: Message): Message {
    return { ...shelf, book_count: this.booksOn(str(shelf, 'name')).length };
  }

  private chooseId(
    requested: string,
    field: string,
    kind: string,
    nameOf: (id: string) => string,
    existing: ReadonlyMap<string, Message>,
  ): string {
    if (requested !== '') {
      if (!ID_PATTERN.test(requested)) {
        throw badRequest(field, `"${requested}" must be 1-63 lowercase letters, digits or hyphens, starting with a letter`);
      }
      const name = nameOf(requested);
      if (existing.has(name)) {
        throw new LibraryError(ALREADY_EXISTS, `${kind} "${name}" already exists`, [
          { type: 'google.rpc.ResourceInfo', value: { resource_type: `library.example.com/${kind === 'shelf' ? 'Shelf' : 'Book'}`, resource_name: name, description: 'already exists' } },
        ]);
      }
      return requested;
    }
    let id: string;
    do id = `${kind}-${this.nextId++}`;
    while (existing.has(nameOf(id)));
    return id;
  }
}

/** "shelves/a" of "shelves/a/books/b". */
function shelfOf(bookName: string): string {
  return bookName.slice(0, bookName.indexOf('/books/'));
}

const DAY_SECONDS = 24 * 3600;

function at(iso: string): SecondsNanos {
  return toTimestamp(Date.parse(iso));
}

/** A store holding the demo's fixed starting data: two shelves, five books, one on loan. */
export function seededLibraryStore(now: () => number = Date.now): LibraryStore {
  const store = new LibraryStore(now);
  const created = at('2024-01-02T09:00:00Z');
  store.putShelf({ name: 'shelves/classics', theme: 'Classic novels', create_time: created });
  store.putShelf({ name: 'shelves/nonfiction', theme: 'Lives and history', create_time: created });
  const book = (id: string, fields: Message): void => {
    store.putBook({ name: `shelves/${id}`, create_time: created, update_time: created, labels: {}, ...fields });
  };
  book('classics/books/frankenstein', {
    title: 'Frankenstein', subtitle: 'or, The Modern Prometheus', author: 'Mary Shelley',
    genre: 'GENRE_SCIENCE_FICTION', isbn13: '9780141439471', publish_time: at('1818-01-01T00:00:00Z'),
    rating: { value: 5 }, labels: { edition: 'penguin-classics' }, shelf_position: 'A1',
  });
  book('classics/books/middlemarch', {
    title: 'Middlemarch', author: 'George Eliot', genre: 'GENRE_FICTION', isbn13: '9780141439549',
    publish_time: at('1871-12-01T00:00:00Z'), shelf_position: 'A2',
  });
  book('classics/books/the-hobbit', {
    title: 'The Hobbit', author: 'J. R. R. Tolkien', genre: 'GENRE_FANTASY', isbn13: '9780547928227',
    publish_time: at('1937-09-21T00:00:00Z'), rating: { value: 4 },
    loan: { borrower: 'ada', loan_period: { seconds: String(14 * DAY_SECONDS), nanos: 0 }, due_time: at('2024-01-16T09:00:00Z') },
  });
  book('nonfiction/books/spqr', {
    title: 'SPQR', subtitle: 'A History of Ancient Rome', author: 'Mary Beard', genre: 'GENRE_HISTORY',
    isbn13: '9781631492228', publish_time: at('2015-10-20T00:00:00Z'), shelf_position: 'C1',
  });
  book('nonfiction/books/diary', {
    title: 'The Diary of a Young Girl', author: 'Anne Frank', genre: 'GENRE_BIOGRAPHY',
    publish_time: at('1947-06-25T00:00:00Z'), shelf_position: 'C2',
  });
  return store;
}

// WatchShelf's state for the demo store: a numbered log of book changes (bounded, so a cursor
// older than the log cannot resume) and the watchers each change is sent to.
import { LibraryError, type Message, type SecondsNanos } from './library-store.js';

/** ShelfEventKind names, as protobufjs plain objects write enums. */
export type ShelfEventKind = 'SHELF_EVENT_KIND_ADDED' | 'SHELF_EVENT_KIND_CHANGED' | 'SHELF_EVENT_KIND_REMOVED';

interface Change {
  readonly seq: number;
  readonly shelf: string;
  readonly event: Message;
}

interface Watcher {
  readonly shelf: string;
  readonly send: (event: Message) => void;
  readonly end: (error: LibraryError) => void;
}

/** How many changes a watch can resume across. */
const LOG_LIMIT = 1000;
const INVALID_ARGUMENT = 3;
const OUT_OF_RANGE = 11;

/** The change log and the open watches of one store. */
export class ShelfChanges {
  readonly #log: Change[] = [];
  readonly #watchers = new Set<Watcher>();
  #seq = 0;

  /** A book on `shelf` changed: logged, and sent to the shelf's watchers. */
  record(shelf: string, kind: ShelfEventKind, book: Message, time: SecondsNanos): void {
    const seq = ++this.#seq;
    const event: Message = { kind, book: kind === 'SHELF_EVENT_KIND_REMOVED' ? { name: book['name'] } : book, cursor: String(seq), time };
    this.#log.push({ seq, shelf, event });
    if (this.#log.length > LOG_LIMIT) this.#log.shift();
    for (const watcher of this.#watchers) if (watcher.shelf === shelf) watcher.send(event);
  }

  /** The shelf is gone: its watches end with `error` (NOT_FOUND). */
  shelfDeleted(shelf: string, error: LibraryError): void {
    for (const watcher of this.#watchers) {
      if (watcher.shelf !== shelf) continue;
      this.#watchers.delete(watcher);
      watcher.end(error);
    }
  }

  /**
   * Starts a watch of `shelf`: without `since`, an ADDED event per book of `snapshot` (all with
   * the current cursor); with it, the logged changes after it. Then every change until the
   * returned function is called. Throws LibraryError for a cursor it cannot resume from.
   */
  watch(shelf: string, since: string, snapshot: () => Array<{ book: Message; time: SecondsNanos }>, send: Watcher['send'], end: Watcher['end']): () => void {
    if (since === '') {
      const cursor = String(this.#seq);
      for (const { book, time } of snapshot()) send({ kind: 'SHELF_EVENT_KIND_ADDED', book, cursor, time });
    } else {
      const after = /^\d{1,15}$/.test(since) ? Number(since) : NaN;
      if (Number.isNaN(after)) {
        throw new LibraryError(INVALID_ARGUMENT, `since: "${since}" is not a cursor of this library`, [
          { type: 'google.rpc.BadRequest', value: { field_violations: [{ field: 'since', description: 'is not a cursor of this library' }] } },
        ]);
      }
      const oldest = this.#log[0]?.seq ?? this.#seq + 1;
      if (after > this.#seq || after < oldest - 1) {
        throw new LibraryError(OUT_OF_RANGE, `since: cursor ${since} cannot be resumed from (it is unknown or too old); watch again without it`);
      }
      for (const change of this.#log) if (change.seq > after && change.shelf === shelf) send(change.event);
    }
    const watcher: Watcher = { shelf, send, end };
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }
}

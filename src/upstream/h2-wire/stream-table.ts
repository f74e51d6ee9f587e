// The open streams of one connection, by stream id: an open-addressing table in one array that is
// reallocated only when it grows. Not a Map, for the garbage collector's sake: a long-lived Map
// lives in the old generation, and every rehash of a Map with that churn (a set and a delete per
// call) leaves its previous backing table there as garbage that still points at the calls that
// were open, and through each call's promise at its whole HTTP request. Until the next full GC
// those dead tables keep every such request alive through young-generation collections, so the
// requests get copied and promoted: under load (bench GET, 32 connections) ~1.4 MB promoted per
// scavenge, 4–8 ms scavenges and frequent full GCs — the gateway's p99. Here a closed stream's
// slot is cleared in place, so nothing dead points at a live request.
//
// Client stream ids are odd and rise by 2 per stream, so `id >>> 1` spreads them over the slots;
// linear probing handles a long-lived stream still holding the slot a new id maps to.

/** What the table holds: anything with a stream id (odd, > 0). */
interface Keyed {
  readonly id: number;
}

const INITIAL_CAPACITY = 64;

export class StreamTable<T extends Keyed> {
  #slots: Array<T | undefined> = new Array<T | undefined>(INITIAL_CAPACITY).fill(undefined);
  #mask = INITIAL_CAPACITY - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const slots = this.#slots;
    for (let i = (id >>> 1) & this.#mask; ; i = (i + 1) & this.#mask) {
      const entry = slots[i];
      if (entry === undefined || entry.id === id) return entry;
    }
  }

  /** Adds `entry` (its id must not be in the table). */
  add(entry: T): void {
    // at most half full: probes stay short, and a free slot always ends a probe
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    this.#place(entry);
    this.#size++;
  }

  delete(id: number): boolean {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = (id >>> 1) & mask;
    for (;;) {
      const entry = slots[i];
      if (entry === undefined) return false;
      if (entry.id === id) break;
      i = (i + 1) & mask;
    }
    slots[i] = undefined;
    this.#size--;
    // backward shift: entries after the hole that probed past it move up, so no probe stops early
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const entry = slots[j];
      if (entry === undefined) return true;
      const home = (entry.id >>> 1) & mask;
      // `entry` may fill the hole at i when its home slot is not in (i, j] (cyclically)
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        slots[i] = entry;
        slots[j] = undefined;
        i = j;
      }
    }
  }

  /** The entries, in no particular order (a copy: the caller may delete while going through it). */
  values(): T[] {
    const out: T[] = [];
    for (const entry of this.#slots) if (entry !== undefined) out.push(entry);
    return out;
  }

  clear(): void {
    this.#slots.fill(undefined);
    this.#size = 0;
  }

  #place(entry: T): void {
    const slots = this.#slots;
    let i = (entry.id >>> 1) & this.#mask;
    while (slots[i] !== undefined) i = (i + 1) & this.#mask;
    slots[i] = entry;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    this.#mask = this.#slots.length - 1;
    for (const entry of old) if (entry !== undefined) this.#place(entry);
    // the old array is garbage now: cleared, so it pins nothing until the next full GC either
    old.fill(undefined);
  }
}

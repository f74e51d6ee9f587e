// The calls a transport has in flight, on an intrusive list (a call links itself: no allocation
// per call), and the one shared timer that ends those past their deadline — a timer per call
// costs measurable CPU. The timer runs only while calls are in flight and never keeps the
// process alive by itself (the connections do, while they carry calls).

/** A call the sweep can hold: its own list links and its absolute deadline (epoch ms). */
export interface SweptCall<T> {
  prev: T | undefined;
  next: T | undefined;
  readonly deadline: number;
}

/** How often the sweep runs while calls are in flight. */
const SWEEP_INTERVAL_MS = 5;

export class DeadlineSweep<T extends SweptCall<T>> {
  #head: T | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  readonly #expire: (call: T) => void;
  readonly #tick = (): void => this.#expireDue();

  /** `expire` ends a call past its deadline; it must `remove` it (through the call's settling). */
  constructor(expire: (call: T) => void) {
    this.#expire = expire;
  }

  add(call: T): void {
    call.next = this.#head;
    if (this.#head !== undefined) this.#head.prev = call;
    this.#head = call;
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#tick, SWEEP_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  remove(call: T): void {
    if (call.prev === undefined) this.#head = call.next;
    else call.prev.next = call.next;
    if (call.next !== undefined) call.next.prev = call.prev;
    call.prev = call.next = undefined;
  }

  /** Ends every call past its deadline; stops the timer once nothing is in flight. */
  #expireDue(): void {
    if (this.#head === undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = Date.now();
    for (let call: T | undefined = this.#head; call !== undefined; ) {
      const next: T | undefined = call.next;
      if (call.deadline <= now) this.#expire(call);
      call = next;
    }
  }
}

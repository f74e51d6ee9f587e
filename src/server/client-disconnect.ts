// Cancellation when the HTTP client goes away, at the cost of one small object per request
// (an AbortController plus its EventTarget machinery showed up in profiles of the hot path).
import type { CancelSignal } from '../upstream/transport.js';

/** A one-listener cancel signal, fired by `abort()` when the response closes unfinished. */
export class ClientDisconnect implements CancelSignal {
  aborted = false;
  private listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener === listener) this.listener = undefined;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }
}

// Backpressure on a Node stream: after a write that returned false, wait for 'drain' — or for
// the stream's end event, whichever comes first — so a writer neither buffers without bound nor
// waits forever on a stream that closed.
import type { EventEmitter } from 'node:events';

/** True once `stream` emits 'drain', false if it emits `endEvent` first. */
export function drained(stream: EventEmitter, endEvent: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      stream.off(endEvent, onEnd);
      resolve(true);
    };
    const onEnd = () => {
      stream.off('drain', onDrain);
      resolve(false);
    };
    stream.once('drain', onDrain);
    stream.once(endEvent, onEnd);
  });
}

// Writes a streamed reply (a server-streaming method) to the HTTP response: headers at once,
// then each record as the pipeline produces it, in its own chunk (flushed per message). The next
// record is asked for only once the socket has taken the last one (`write()` returned true, or
// 'drain'), so a slow client holds back the upstream stream instead of filling memory here.
// Streams are neither compressed nor given a Content-Length: they are chunked as they go.
import type { ServerResponse } from 'node:http';
import { drained } from '../drained.js';
import type { GatewayReply, ReplyStream } from '../pipeline.js';

/** The streams being written, so a shutdown can end them (`stopAll`). */
export class ActiveStreams {
  readonly #streams = new Set<ReplyStream>();

  /** Ends every stream with its last record (UNAVAILABLE: shutting down) and a clean end. */
  stopAll(): void {
    for (const stream of this.#streams) stream.stop();
  }

  /** Writes `reply` (whose `stream` is set) to `res`; resolves with the body bytes written. */
  async write(res: ServerResponse, reply: GatewayReply, stream: ReplyStream): Promise<number> {
    res.writeHead(reply.statusCode, reply.headers);
    // commit now: the client sees the stream open even before the first record is ready
    res.flushHeaders();
    this.#streams.add(stream);
    let bytes = 0;
    const records = stream[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await records.next();
        if (next.done === true || res.destroyed) break;
        bytes += Buffer.byteLength(next.value);
        if (!res.write(next.value) && !(await drained(res, 'close'))) break;
      }
    } finally {
      this.#streams.delete(stream);
      // the client went away (or the socket failed): end the records, which cancels the upstream call
      await records.return?.();
    }
    if (!res.destroyed) {
      // a raw download that broke off must not look complete: no terminating chunk, the connection cut
      if (stream.incomplete?.() === true) res.destroy();
      else res.end();
    }
    return bytes;
  }
}

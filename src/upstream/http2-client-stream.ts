// The sending half of a client-streaming call on node:http2: request messages are framed and
// written one at a time, each write waiting for the HTTP/2 stream's buffer to drain, so the
// backend's flow-control window paces the writer. The response is read as a unary call's
// (http2-call.ts: one length-prefixed message, then the status). Bidirectional streams write the
// same way (`writeFramed`, http2-bidi-stream.ts).
import type { ClientHttp2Stream } from 'node:http2';
import { drained } from '../drained.js';
import { Code } from '../errors/codes.js';
import { abort, settle, type Http2Call } from './http2-call.js';
import type { ClientStreamCall, UnaryResult } from './transport.js';
import { localFailure, markLocalLimit } from './unary-call.js';

/** A started client-streaming call: `call` is tracked by its transport and attached to `stream`. */
export class Http2ClientStream implements ClientStreamCall {
  constructor(
    private readonly call: Http2Call,
    private readonly stream: ClientHttp2Stream,
    private readonly maxSendMessageBytes: number,
    readonly result: Promise<UnaryResult>,
  ) {}

  write(message: Uint8Array): Promise<boolean> {
    const { call, stream } = this;
    if (call.done || stream.writableEnded) return Promise.resolve(false);
    const length = message.byteLength;
    if (this.maxSendMessageBytes >= 0 && length > this.maxSendMessageBytes) {
      const cause = `${call.owner.target}${call.path}: request message of ${length} bytes exceeds maxSendMessageBytes ${this.maxSendMessageBytes}`;
      settle(call, markLocalLimit(localFailure(Code.RESOURCE_EXHAUSTED, 'Request message too large', cause), 'request'), true);
      return Promise.resolve(false);
    }
    return writeFramed(stream, message, () => call.done);
  }

  end(): void {
    if (!this.call.done && !this.stream.writableEnded) this.stream.end();
  }

  cancel(): void {
    abort(this.call);
  }
}

/**
 * Writes `message` as one gRPC length-prefixed message; resolves true once `stream` can take
 * more (at once, or at 'drain'), false if it closed first or the call is `over()` by then.
 */
export function writeFramed(stream: ClientHttp2Stream, message: Uint8Array, over: () => boolean): Promise<boolean> {
  const length = message.byteLength;
  const frame = Buffer.allocUnsafe(5 + length);
  frame[0] = 0; // not compressed
  frame.writeUInt32BE(length, 1);
  frame.set(message, 5);
  if (stream.write(frame)) return Promise.resolve(true);
  return drained(stream, 'close').then((ready) => ready && !over());
}

// One bidirectional-streaming call on node:http2: the responses are read exactly as a server
// stream's (http2-server-stream.ts: deframing, receive limit, bounded read-ahead, deadline,
// cancellation), the requests are written as a client stream's (http2-client-stream.ts
// `writeFramed`: each write waits for the HTTP/2 stream to drain).
import http2, { type ClientHttp2Stream } from 'node:http2';
import { Code } from '../errors/codes.js';
import type { Http2CallOwner, Http2Connection } from './http2-call.js';
import { writeFramed } from './http2-client-stream.js';
import { startHttp2ServerStream } from './http2-server-stream.js';
import type { BidiStreamCall, UnaryRequest } from './transport.js';
import { localFailure, markLocalLimit } from './unary-call.js';

const { NGHTTP2_NO_ERROR } = http2.constants;

/** Wires `stream` (opened, nothing written yet) to a bidirectional call; `onSettled` as for server streams. */
export function startHttp2BidiStream(
  owner: Http2CallOwner,
  connection: Http2Connection,
  stream: ClientHttp2Stream,
  request: UnaryRequest,
  maxSendMessageBytes: number,
  onSettled: () => void,
): BidiStreamCall {
  const responses = startHttp2ServerStream(owner, connection, stream, request, onSettled);
  const over = (): boolean => responses.ended;
  // The service may finish while the client still writes; the stream then closes only when this
  // side closes too, and the call's status waits for that 'close': once every response has been
  // read, stop sending (RST_STREAM NO_ERROR, as RFC 9113 §8.1 lets a server ask of its client).
  stream.once('end', () => {
    if (!stream.writableEnded && !stream.closed) stream.close(NGHTTP2_NO_ERROR);
  });
  return {
    read: () => responses.read(),
    headers: () => responses.headers(),
    status: () => responses.status(),
    cancel: () => responses.cancel(),
    write(message) {
      if (over() || stream.writableEnded || stream.destroyed) return Promise.resolve(false);
      if (maxSendMessageBytes >= 0 && message.byteLength > maxSendMessageBytes) {
        const cause = `${owner.target}${request.path}: request message of ${message.byteLength} bytes exceeds maxSendMessageBytes ${maxSendMessageBytes}`;
        responses.fail(markLocalLimit(localFailure(Code.RESOURCE_EXHAUSTED, 'Request message too large', cause), 'request'));
        return Promise.resolve(false);
      }
      return writeFramed(stream, message, over);
    },
    end() {
      if (!over() && !stream.writableEnded) stream.end();
    },
  };
}

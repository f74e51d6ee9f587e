// One bidirectional-streaming call over a grpc-js client (the grpc-js half of
// http2-bidi-stream.ts): the responses are read as a server stream's (server-stream-call.ts
// `readResponses`), the requests written one at a time as a client stream's, each write waiting
// for grpc-js's 'drain' when its buffer is full.
import type { Client, ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import { Code } from '../errors/codes.js';
import { failedBidiStream } from './client-stream.js';
import { toGrpcMetadata } from './metadata.js';
import { readResponses } from './server-stream-call.js';
import type { BidiStreamCall, UnaryRequest } from './transport.js';
import { localFailure, markLocalLimit, type UnaryCallLimits } from './unary-call.js';

const serialize = (message: Uint8Array): Buffer =>
  Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
const deserialize = (bytes: Buffer): Buffer => bytes;

/** Starts `request` as a bidirectional stream on `client`; `onSettled` runs once when it is over. */
export function invokeBidiStream(client: Client, target: string, limits: UnaryCallLimits, request: UnaryRequest, onSettled: () => void): BidiStreamCall {
  const { signal, path } = request;
  const failed = (code: number, message: string, cause: string): BidiStreamCall => {
    onSettled();
    return failedBidiStream(localFailure(code, message, `${target}${path}: ${cause}`));
  };
  if (signal?.aborted === true) return failed(Code.CANCELLED, 'Cancelled by the caller', 'aborted before start');
  if (!Number.isFinite(request.deadline)) return failed(Code.INTERNAL, 'Upstream call without a deadline', `deadline ${request.deadline}`);
  let metadata: Metadata;
  try {
    metadata = toGrpcMetadata(request.metadata);
  } catch (error) {
    return failed(Code.INVALID_ARGUMENT, 'Request metadata cannot be sent as gRPC metadata', String(error));
  }
  let call: ClientDuplexStream<Uint8Array, Buffer>;
  try {
    call = client.makeBidiStreamRequest(path, serialize, deserialize, metadata, { deadline: request.deadline });
  } catch (error) {
    // grpc-js throws synchronously only when its channel is already shut down.
    return failed(Code.UNAVAILABLE, 'Upstream channel is closed', String(error));
  }
  const responses = readResponses(call, target, request, onSettled);
  return {
    read: () => responses.read(),
    headers: () => responses.headers(),
    status: () => responses.status(),
    cancel: () => responses.cancel(),
    write(message) {
      if (responses.ended || call.writableEnded) return Promise.resolve(false);
      if (limits.maxSendMessageBytes >= 0 && message.byteLength > limits.maxSendMessageBytes) {
        const cause = `${target}${path}: request message of ${message.byteLength} bytes exceeds maxSendMessageBytes ${limits.maxSendMessageBytes}`;
        responses.fail(markLocalLimit(localFailure(Code.RESOURCE_EXHAUSTED, 'Request message too large', cause), 'request'));
        return Promise.resolve(false);
      }
      if (call.write(message)) return Promise.resolve(true);
      return new Promise((done) => {
        const onDrain = () => {
          call.off('status', onStatus);
          done(!responses.ended);
        };
        const onStatus = () => {
          call.off('drain', onDrain);
          done(false);
        };
        call.once('drain', onDrain);
        call.once('status', onStatus);
      });
    },
    end() {
      if (!responses.ended && !call.writableEnded) call.end();
    },
  };
}

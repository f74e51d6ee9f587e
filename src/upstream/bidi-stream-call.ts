// One bidirectional-streaming call over a grpc-js client (the grpc-js half of
// http2-bidi-stream.ts): the responses are read as a server stream's (server-stream-call.ts
// `readResponses`), the requests written one at a time as a client stream's, each write waiting
// for grpc-js's 'drain' when its buffer is full.
import type { Client, ClientDuplexStream } from '@grpc/grpc-js';
import { Code } from '../errors/codes.js';
import { failedBidiStream } from './client-stream.js';
import { writeStreamMessage } from './client-stream-call.js';
import { readResponses } from './server-stream-call.js';
import type { BidiStreamCall, UnaryRequest } from './transport.js';
import { identityDeserialize, identitySerialize, localFailure, prepareGrpcJsCall, type UnaryCallLimits } from './unary-call.js';

/** Starts `request` as a bidirectional stream on `client`; `onSettled` runs once when it is over. */
export function invokeBidiStream(client: Client, target: string, limits: UnaryCallLimits, request: UnaryRequest, onSettled: () => void): BidiStreamCall {
  const { path } = request;
  const prepared = prepareGrpcJsCall(request, target, limits);
  if (!prepared.ok) {
    onSettled();
    return failedBidiStream(prepared.failure);
  }
  let call: ClientDuplexStream<Uint8Array, Buffer>;
  try {
    call = client.makeBidiStreamRequest(path, identitySerialize, identityDeserialize, prepared.metadata, { deadline: request.deadline });
  } catch (error) {
    // grpc-js throws synchronously only when its channel is already shut down.
    onSettled();
    return failedBidiStream(localFailure(Code.UNAVAILABLE, 'Upstream channel is closed', `${target}${path}: ${String(error)}`));
  }
  const responses = readResponses(call, target, request, onSettled);
  return {
    read: () => responses.read(),
    headers: () => responses.headers(),
    status: () => responses.status(),
    cancel: () => responses.cancel(),
    write: (message) => writeStreamMessage(call, message, limits, `${target}${path}`, () => responses.ended, (failure) => responses.fail(failure)),
    end() {
      if (!responses.ended && !call.writableEnded) call.end();
    },
  };
}

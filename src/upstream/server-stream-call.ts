// One server-streaming call over a grpc-js client (the grpc-js half of unary-call.ts): bytes in,
// messages out through a ServerStreamQueue. grpc-js reads the next message from HTTP/2 only when
// its Readable wants more, so pausing the Readable is what stalls the backend.
import type { Client, ClientDuplexStream, ClientReadableStream, Metadata, StatusObject } from '@grpc/grpc-js';
import { Code } from '../errors/codes.js';
import { clientSafeMessage } from './client-safe-message.js';
import { fromGrpcMetadata, statusDetailsOf } from './metadata.js';
import { ServerStreamQueue } from './server-stream.js';
import type { ServerStreamCall, UnaryRequest } from './transport.js';
import { definedStatus, identityDeserialize, identitySerialize, localFailure, markLocalLimit, prepareGrpcJsCall, type UnaryCallLimits } from './unary-call.js';

/** Starts `request` as a server stream on `client`; `target` only labels `cause` for logs. */
export function invokeServerStream(client: Client, target: string, limits: UnaryCallLimits, request: UnaryRequest, onSettled: () => void): ServerStreamCall {
  const { path } = request;
  const prepared = prepareGrpcJsCall(request, target, limits, request.message);
  if (!prepared.ok) {
    onSettled();
    return ServerStreamQueue.failed(prepared.failure);
  }
  let call: ClientReadableStream<Buffer>;
  try {
    call = client.makeServerStreamRequest(path, identitySerialize, identityDeserialize, request.message, prepared.metadata, { deadline: request.deadline });
  } catch (error) {
    // grpc-js throws synchronously only when its channel is already shut down.
    onSettled();
    return ServerStreamQueue.failed(localFailure(Code.UNAVAILABLE, 'Upstream channel is closed', `${target}${path}: ${String(error)}`));
  }
  return readResponses(call, target, request, onSettled);
}

/**
 * The responses of a started grpc-js call (a server stream's, or a bidirectional one's) as a
 * ServerStreamQueue; `onSettled` runs once when the call is over.
 */
export function readResponses(call: ClientReadableStream<Buffer> | ClientDuplexStream<Uint8Array, Buffer>, target: string, request: UnaryRequest, onSettled: () => void): ServerStreamQueue {
  const { signal, path } = request;
  const queue = new ServerStreamQueue();
  let headersReceived = false;
  let status: StatusObject | undefined;
  let ended = false;
  let settled = false;
  const onAbort = (): void => queue.cancel();
  // grpc-js emits 'status' as soon as the call ends, while messages may still wait in its
  // Readable; the stream is over once both the status and the Readable's 'end' have arrived.
  const settle = (): void => {
    if (settled || status === undefined || !ended) return;
    settled = true;
    signal?.removeEventListener('abort', onAbort);
    const trailers = fromGrpcMetadata(status.metadata);
    if (status.code === Code.OK) {
      queue.end({ ok: true, headers: queue.headers(), trailers });
    } else {
      const { code, details } = definedStatus(status.code, status.details);
      const failure = {
        ok: false as const,
        code,
        message: clientSafeMessage(code, details, target),
        statusDetails: statusDetailsOf(status.metadata),
        headers: queue.headers(),
        trailers,
        cause: `${target}${path}: ${details}`,
      };
      // see unary-call.ts: grpc-js's own receive limit, after the response headers arrived
      const local = code === Code.RESOURCE_EXHAUSTED && headersReceived && /^Received message (larger than max|that decompresses to a size larger than)/.test(details);
      queue.end(local ? markLocalLimit(failure, 'response') : failure);
    }
    onSettled();
  };
  queue.attach({
    pause: () => call.pause(),
    resume: () => call.resume(),
    cancel: () => {
      call.cancel();
      // the cancelled Readable may never be read to its end: the status alone closes the call
      ended = true;
      call.resume();
    },
  });
  call.on('metadata', (received: Metadata) => {
    headersReceived = true;
    queue.setHeaders(fromGrpcMetadata(received));
  });
  call.on('data', (message: Buffer) => queue.push(message));
  call.on('end', () => {
    ended = true;
    settle();
  });
  // failures arrive as 'status' too; without an 'error' listener the Readable would throw
  call.on('error', () => {});
  call.on('status', (received: StatusObject) => {
    status = received;
    settle();
  });
  signal?.addEventListener('abort', onAbort, { once: true });
  return queue;
}

// One client-streaming call over a grpc-js client (the grpc-js half of http2-client-stream.ts):
// messages written one at a time, each write waiting for grpc-js's 'drain' when its buffer is
// full; the one response is read as a unary call's (unary-call.ts `resultOfStatus`).
import type { Client, ClientDuplexStream, ClientWritableStream, Metadata, ServiceError, StatusObject } from '@grpc/grpc-js';
import { drained } from '../drained.js';
import { Code } from '../errors/codes.js';
import { failedClientStream } from './client-stream.js';
import { fromGrpcMetadata } from './metadata.js';
import type { CallFailure, ClientStreamCall, MetadataPairs, UnaryRequest, UnaryResult } from './transport.js';
import { identityDeserialize, identitySerialize, localFailure, markLocalLimit, prepareGrpcJsCall, resultOfStatus, type UnaryCallLimits } from './unary-call.js';

const EMPTY: MetadataPairs = [];

/** Starts `request` as a client stream on `client`; `onSettled` runs once when it is over. */
export function invokeClientStream(client: Client, target: string, limits: UnaryCallLimits, request: UnaryRequest, onSettled: () => void): ClientStreamCall {
  const { signal, path } = request;
  const prepared = prepareGrpcJsCall(request, target, limits);
  if (!prepared.ok) {
    onSettled();
    return failedClientStream(prepared.failure);
  }

  let response: Buffer | undefined;
  let error: ServiceError | undefined;
  let headers = EMPTY;
  let headersReceived = false;
  let settled = false;
  /** cancelled by this side (cancel(), or the caller's signal): CANCELLED stays CANCELLED */
  let cancelled = false;
  /** set when a message broke the send limit: the call was cancelled for it */
  let overLimit: CallFailure | undefined;
  let resolve!: (result: UnaryResult) => void;
  const result = new Promise<UnaryResult>((r) => {
    resolve = r;
  });
  let call: ClientWritableStream<Uint8Array>;
  try {
    call = client.makeClientStreamRequest(path, identitySerialize, identityDeserialize, prepared.metadata, { deadline: request.deadline }, (e, value) => {
      if (e !== null) error = e;
      else response = value;
    });
  } catch (e) {
    // grpc-js throws synchronously only when its channel is already shut down.
    onSettled();
    return failedClientStream(localFailure(Code.UNAVAILABLE, 'Upstream channel is closed', `${target}${path}: ${String(e)}`));
  }
  const onAbort = (): void => {
    cancelled = true;
    call.cancel();
  };
  call.on('metadata', (received: Metadata) => {
    headers = fromGrpcMetadata(received);
    headersReceived = true;
  });
  call.on('status', (status: StatusObject) => {
    settled = true;
    signal?.removeEventListener('abort', onAbort);
    resolve(overLimit ?? resultOfStatus(status, { response, error, headers, headersReceived, cancelledByCaller: cancelled }, target, path));
    onSettled();
  });
  // failures arrive through the callback and 'status'; an unhandled 'error' would throw
  call.on('error', () => {});
  signal?.addEventListener('abort', onAbort, { once: true });

  return {
    result,
    write(message) {
      return writeStreamMessage(call, message, limits, `${target}${path}`, () => settled, (failure) => {
        overLimit = failure;
        call.cancel();
      });
    },
    end() {
      if (!settled && !call.writableEnded) call.end();
    },
    cancel: onAbort,
  };
}

/**
 * Writes one request message of a grpc-js client or bidi stream: false once the call is over
 * (`over()`) or the message breaks maxSendMessageBytes (`overLimit` gets that failure and ends
 * the call), else true as soon as grpc-js can take the next one — after its 'drain' when its
 * buffer is full, false if the call ends first. `label` is `target + path`, for the log cause.
 */
export function writeStreamMessage(
  call: ClientWritableStream<Uint8Array> | ClientDuplexStream<Uint8Array, Buffer>,
  message: Uint8Array,
  limits: UnaryCallLimits,
  label: string,
  over: () => boolean,
  overLimit: (failure: CallFailure) => void,
): Promise<boolean> {
  if (over() || call.writableEnded) return Promise.resolve(false);
  if (limits.maxSendMessageBytes >= 0 && message.byteLength > limits.maxSendMessageBytes) {
    const cause = `${label}: request message of ${message.byteLength} bytes exceeds maxSendMessageBytes ${limits.maxSendMessageBytes}`;
    overLimit(markLocalLimit(localFailure(Code.RESOURCE_EXHAUSTED, 'Request message too large', cause), 'request'));
    return Promise.resolve(false);
  }
  if (call.write(message)) return Promise.resolve(true);
  return drained(call, 'status').then((ready) => ready && !over());
}

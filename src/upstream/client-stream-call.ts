// One client-streaming call over a grpc-js client (the grpc-js half of http2-client-stream.ts):
// messages written one at a time, each write waiting for grpc-js's 'drain' when its buffer is
// full; the one response is read as a unary call's (unary-call.ts `resultOfStatus`).
import type { Client, ClientWritableStream, Metadata, ServiceError, StatusObject } from '@grpc/grpc-js';
import { Code } from '../errors/codes.js';
import { failedClientStream } from './client-stream.js';
import { fromGrpcMetadata, toGrpcMetadata } from './metadata.js';
import type { CallFailure, ClientStreamCall, MetadataPairs, UnaryRequest, UnaryResult } from './transport.js';
import { localFailure, markLocalLimit, resultOfStatus, type UnaryCallLimits } from './unary-call.js';

const serialize = (message: Uint8Array): Buffer =>
  Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
const deserialize = (bytes: Buffer): Buffer => bytes;
const EMPTY: MetadataPairs = [];

/** Starts `request` as a client stream on `client`; `onSettled` runs once when it is over. */
export function invokeClientStream(client: Client, target: string, limits: UnaryCallLimits, request: UnaryRequest, onSettled: () => void): ClientStreamCall {
  const { signal, path } = request;
  const failed = (code: number, message: string, cause: string): ClientStreamCall => {
    onSettled();
    return failedClientStream(localFailure(code, message, `${target}${path}: ${cause}`));
  };
  if (signal?.aborted === true) return failed(Code.CANCELLED, 'Cancelled by the caller', 'aborted before start');
  if (!Number.isFinite(request.deadline)) return failed(Code.INTERNAL, 'Upstream call without a deadline', `deadline ${request.deadline}`);
  let metadata: Metadata;
  try {
    metadata = toGrpcMetadata(request.metadata);
  } catch (error) {
    return failed(Code.INVALID_ARGUMENT, 'Request metadata cannot be sent as gRPC metadata', String(error));
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
    call = client.makeClientStreamRequest(path, serialize, deserialize, metadata, { deadline: request.deadline }, (e, value) => {
      if (e !== null) error = e;
      else response = value;
    });
  } catch (e) {
    // grpc-js throws synchronously only when its channel is already shut down.
    return failed(Code.UNAVAILABLE, 'Upstream channel is closed', String(e));
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
      if (settled || call.writableEnded) return Promise.resolve(false);
      if (limits.maxSendMessageBytes >= 0 && message.byteLength > limits.maxSendMessageBytes) {
        const cause = `${target}${path}: request message of ${message.byteLength} bytes exceeds maxSendMessageBytes ${limits.maxSendMessageBytes}`;
        overLimit = markLocalLimit(localFailure(Code.RESOURCE_EXHAUSTED, 'Request message too large', cause), 'request');
        call.cancel();
        return Promise.resolve(false);
      }
      if (call.write(message)) return Promise.resolve(true);
      return new Promise((done) => {
        const onDrain = () => {
          call.off('status', onStatus);
          done(!settled);
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
      if (!settled && !call.writableEnded) call.end();
    },
    cancel: onAbort,
  };
}

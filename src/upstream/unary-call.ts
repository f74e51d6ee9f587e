// One unary call over a grpc-js client: bytes in, bytes out, deadline and abort wired in, and
// every outcome (including local failures) turned into a UnaryResult rather than an exception.
import type { Client, Metadata, ServiceError, StatusObject } from '@grpc/grpc-js';
import { Code } from '../errors/codes.js';
import { clientSafeMessage } from './client-safe-message.js';
import { fromGrpcMetadata, statusDetailsOf, toGrpcMetadata } from './metadata.js';
import type { MetadataPairs, UnaryRequest, UnaryResult } from './transport.js';

type Failure = Extract<UnaryResult, { ok: false }>;

/** Identity serializer for every grpc-js call: the pipeline encodes protobuf itself. */
export function identitySerialize(message: Uint8Array): Buffer {
  return Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}
/** Identity deserializer for every grpc-js call: the pipeline decodes protobuf itself. */
export function identityDeserialize(bytes: Buffer): Buffer {
  return bytes;
}

const EMPTY: MetadataPairs = [];

const localLimitFailures = new WeakMap<Failure, 'request' | 'response'>();

/**
 * Whether a RESOURCE_EXHAUSTED result came from this gateway's own message-size limits rather
 * than from the upstream: 'response' when the upstream's answer exceeded maxReceiveMessageBytes
 * (the pipeline answers that with a 5xx — the client did nothing wrong, so not 429), 'request'
 * when the encoded request exceeded maxSendMessageBytes.
 */
export function exceededLocalLimit(result: UnaryResult): 'request' | 'response' | undefined {
  return result.ok ? undefined : localLimitFailures.get(result);
}

/** Marks `failure` as caused by one of this gateway's message-size limits (see exceededLocalLimit). */
export function markLocalLimit(failure: Failure, side: 'request' | 'response'): Failure {
  localLimitFailures.set(failure, side);
  return failure;
}

/**
 * grpc-js ends a call with no code and no details when one of its filters rejects with a plain
 * Error (a response message flagged compressed without a grpc-encoding): an upstream protocol
 * error, reported as INTERNAL rather than passed on as `undefined` (which crashed the process).
 */
export function definedStatus(code: number | undefined, details: string | undefined): { code: number; details: string } {
  if (typeof code !== 'number') return { code: Code.INTERNAL, details: details || 'Upstream protocol error (the call ended without a status code)' };
  return { code, details: details ?? '' };
}

/** A failure decided locally, before or without an upstream status. */
export function localFailure(code: number, message: string, cause: string): Failure {
  return { ok: false, code, message, statusDetails: undefined, headers: EMPTY, trailers: EMPTY, cause };
}

/**
 * The checks every grpc-js call makes before it starts, in this order: the caller already gone,
 * no deadline, `message` (a call's one up-front request message, when it has one) over
 * maxSendMessageBytes, metadata gRPC cannot carry. The metadata to send, or the failure.
 */
export function prepareGrpcJsCall(
  request: UnaryRequest,
  target: string,
  limits: UnaryCallLimits,
  message?: Uint8Array,
): { ok: true; metadata: Metadata } | { ok: false; failure: Failure } {
  const { signal, path } = request;
  if (signal?.aborted === true) return { ok: false, failure: localFailure(Code.CANCELLED, 'Cancelled by the caller', `${target}${path}: aborted before start`) };
  if (!Number.isFinite(request.deadline)) {
    // DESIGN §5: every upstream call has a deadline; a missing one is a gateway bug, not a wait forever.
    return { ok: false, failure: localFailure(Code.INTERNAL, 'Upstream call without a deadline', `${target}${path}: deadline ${request.deadline}`) };
  }
  if (message !== undefined && limits.maxSendMessageBytes >= 0 && message.byteLength > limits.maxSendMessageBytes) {
    const cause = `${target}${path}: request of ${message.byteLength} bytes exceeds maxSendMessageBytes ${limits.maxSendMessageBytes}`;
    return { ok: false, failure: markLocalLimit(localFailure(Code.RESOURCE_EXHAUSTED, 'Request message too large', cause), 'request') };
  }
  try {
    return { ok: true, metadata: toGrpcMetadata(request.metadata) };
  } catch (error) {
    // A header value gRPC cannot carry (non-ASCII text, illegal name): the client's input.
    return { ok: false, failure: localFailure(Code.INVALID_ARGUMENT, 'Request metadata cannot be sent as gRPC metadata', `${target}${path}: ${String(error)}`) };
  }
}

/** Limits the call needs to know to classify its own failures. */
export interface UnaryCallLimits {
  readonly maxSendMessageBytes: number;
}

/**
 * Runs `request` on `client`; `target` only labels `cause` for logs. Never rejects.
 */
export function invokeUnary(
  client: Client,
  target: string,
  limits: UnaryCallLimits,
  request: UnaryRequest,
): Promise<UnaryResult> {
  const { signal, path } = request;
  const prepared = prepareGrpcJsCall(request, target, limits, request.message);
  if (!prepared.ok) return Promise.resolve(prepared.failure);
  const metadata = prepared.metadata;

  return new Promise<UnaryResult>((resolve) => {
    let response: Buffer | undefined;
    let error: ServiceError | undefined;
    let headers = EMPTY;
    let headersReceived = false;
    let call: ReturnType<Client['makeUnaryRequest']>;
    const onAbort = (): void => call.cancel();
    try {
      call = client.makeUnaryRequest(path, identitySerialize, identityDeserialize, request.message, metadata, { deadline: request.deadline }, (e, value) => {
        // grpc-js calls back just before it emits 'status' (which carries the trailers).
        if (e !== null) error = e;
        else response = value;
      });
    } catch (e) {
      // grpc-js throws synchronously only when its channel is already shut down.
      resolve(localFailure(Code.UNAVAILABLE, 'Upstream channel is closed', `${target}${path}: ${String(e)}`));
      return;
    }
    call.on('metadata', (received: Metadata) => {
      headers = fromGrpcMetadata(received);
      headersReceived = true;
    });
    call.on('status', (status: StatusObject) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(resultOfStatus(status, { response, error, headers, headersReceived, cancelledByCaller: signal?.aborted === true }, target, path));
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a grpc-js call with one response (unary or client-streaming) has seen by its 'status'. */
export interface OneResponseCall {
  readonly response: Buffer | undefined;
  readonly error: ServiceError | undefined;
  readonly headers: MetadataPairs;
  readonly headersReceived: boolean;
  /** the gateway cancelled it (its client went away), as opposed to a CANCELLED from the server */
  readonly cancelledByCaller: boolean;
}

/** The UnaryResult of a grpc-js call that ended with `status`. */
export function resultOfStatus(status: StatusObject, seen: OneResponseCall, target: string, path: string): UnaryResult {
  const { response, error, headers, headersReceived } = seen;
  const trailers = fromGrpcMetadata(status.metadata);
  if (error === undefined && response !== undefined) return { ok: true, message: response, headers, trailers };
  let { code, details } = definedStatus(error?.code ?? status.code, error?.details ?? status.details);
  if (code === Code.CANCELLED && !seen.cancelledByCaller) {
    // Not our cancellation: grpc-js reports a server's RST_STREAM CANCEL (a backend killed or
    // force-stopped mid-call) as CANCELLED. For the HTTP client that is an upstream outage,
    // not a 499 it never asked for; UNAVAILABLE also lets an idempotent call be retried
    // elsewhere, as the node:http2 transport does for a connection lost under a call.
    code = Code.UNAVAILABLE;
    details = `upstream cancelled the call (${details})`;
  }
  const failure: Failure = {
    ok: false,
    code,
    message: clientSafeMessage(code, details, target),
    statusDetails: statusDetailsOf(status.metadata),
    headers,
    trailers,
    cause: `${target}${path}: ${details}`,
  };
  // grpc-js reports its receive limit as RESOURCE_EXHAUSTED after the response headers
  // arrived; an upstream rejecting our request for size answers trailers-only.
  if (code === Code.RESOURCE_EXHAUSTED && headersReceived && /^Received message (larger than max|that decompresses to a size larger than)/.test(details)) {
    localLimitFailures.set(failure, 'response');
  }
  return failure;
}

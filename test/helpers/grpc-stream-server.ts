// Test helper: a real grpc-js server on 127.0.0.1:0 with raw-bytes unary, server-streaming and
// client-streaming handlers (grpc-server.ts has unary only), and a writer that honours the
// stream's backpressure.
import * as grpc from '@grpc/grpc-js';
import type { RawHandler } from './grpc-server.js';

/** A started server: where it listens and how to stop it. */
export interface RunningStreamingServer {
  readonly port: number;
  readonly target: string;
  close(): Promise<void>;
}

/** A server-streaming handler over raw bytes; it owns `call` (write, end, emit errors). */
export type RawStreamHandler = (request: Buffer, call: grpc.ServerWritableStream<Buffer, Buffer>) => void | Promise<void>;

/** A client-streaming handler over raw bytes: reads `call`, answers through `callback`. */
export type RawClientStreamHandler = (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void;

const identity = (b: Buffer) => b;

/** A method definition whose messages stay raw bytes (the test encodes and decodes them). */
export function rawMethod(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream, responseStream, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

/** Starts a server with server-streaming `streams`, unary `handlers` and `clientStreams`, keyed by gRPC path. */
export async function startStreamingGrpcServer(
  streams: Record<string, RawStreamHandler>,
  handlers: Record<string, RawHandler> = {},
  clientStreams: Record<string, RawClientStreamHandler> = {},
): Promise<RunningStreamingServer> {
  const server = new grpc.Server();
  const services = new Map<string, { definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>>; implementation: grpc.UntypedServiceImplementation }>();
  const add = (path: string, responseStream: boolean, implementation: grpc.UntypedHandleCall, requestStream = false) => {
    const [, service, method] = path.split('/') as [string, string, string];
    const entry = services.get(service) ?? { definition: {}, implementation: {} };
    entry.definition[method] = rawMethod(path, requestStream, responseStream);
    entry.implementation[method] = implementation;
    services.set(service, entry);
  };
  for (const [path, handler] of Object.entries(streams)) {
    add(path, true, (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      Promise.resolve()
        .then(() => handler(call.request, call))
        .catch((error: unknown) => call.emit('error', error));
    });
  }
  for (const [path, handler] of Object.entries(handlers)) {
    add(path, false, (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      Promise.resolve()
        .then(() => handler(call.request, call))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(error as grpc.ServiceError),
        );
    });
  }
  for (const [path, handler] of Object.entries(clientStreams)) add(path, false, handler as grpc.UntypedHandleCall, true);
  for (const { definition, implementation } of services.values()) server.addService(definition, implementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
  return {
    port: bound,
    target: `127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}

/**
 * Writes `message` and waits while the call's buffer is full (grpc-js `write` returned false),
 * as a well-behaved backend does. Resolves false when the call was cancelled meanwhile.
 */
export function writeWithBackpressure(call: grpc.ServerWritableStream<Buffer, Buffer>, message: Buffer): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  if (call.write(message)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onDrain = () => {
      call.off('cancelled', onCancel);
      resolve(true);
    };
    const onCancel = () => {
      call.off('drain', onDrain);
      resolve(false);
    };
    call.once('drain', onDrain);
    call.once('cancelled', onCancel);
  });
}

/** A grpc-js error with a code, as a handler emits it. */
export function grpcError(code: grpc.status, details: string, metadata?: grpc.Metadata): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: metadata ?? new grpc.Metadata() });
}

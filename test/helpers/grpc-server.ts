// Test helper: a real grpc-js server on 127.0.0.1:0 whose handlers see raw request bytes.
import * as grpc from '@grpc/grpc-js';

/** A unary handler over raw bytes; throw a ServiceError-like object to fail the call. */
export type RawHandler = (request: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => Buffer | Promise<Buffer>;

export interface RunningGrpcServer {
  readonly port: number;
  readonly target: string;
  close(): Promise<void>;
  /** Stops at once, as a crashed process would: connections and calls in flight are cut (startRawGrpcServer's servers). */
  kill?(): void;
}

const identity = (b: Buffer) => b;

/** Starts a server with `handlers` keyed by gRPC path ('/pkg.Service/Method'), on `port` (0: any free port), plaintext unless `credentials` say otherwise. */
export async function startRawGrpcServer(
  handlers: Record<string, RawHandler>,
  port = 0,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<RunningGrpcServer> {
  const server = new grpc.Server();
  const byService = new Map<string, Record<string, RawHandler>>();
  for (const [path, handler] of Object.entries(handlers)) {
    const [, service, method] = path.split('/');
    const methods = byService.get(service!) ?? {};
    methods[method!] = handler;
    byService.set(service!, methods);
  }
  for (const [service, methods] of byService) {
    const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(methods)) {
      definition[method] = {
        path: `/${service}/${method}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      };
      implementation[method] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        Promise.resolve()
          .then(() => handler(call.request, call))
          .then(
            (response) => callback(null, response),
            (error: unknown) => callback(error as grpc.ServiceError),
          );
      };
    }
    server.addService(definition, implementation);
  }
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port: bound,
    target: `127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 1000).unref();
      }),
    kill: () => server.forceShutdown(),
  };
}

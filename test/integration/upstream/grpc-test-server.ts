// A real grpc-js server on 127.0.0.1 port 0 for the upstream tests. Methods are registered with
// identity serializers, so no protos are needed: each handler sees and answers raw bytes.
import { EventEmitter, once } from 'node:events';
import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

type Handler = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void;

/** What the server saw, for assertions. */
export interface TestServer {
  port: number;
  target: string;
  /** metadata of every call received, in order */
  received: Metadata[];
  /** peer addresses ('127.0.0.1:port') of every call received */
  peers: string[];
  /** emits 'cancelled' with the method path when a call is cancelled by the client */
  events: EventEmitter;
  close(): Promise<void>;
}

const identity = (bytes: Buffer): Buffer => bytes;

/** Starts a server whose service `test.Echo` has the given methods (name → handler). */
export async function startTestServer(methods: Record<string, Handler>): Promise<TestServer> {
  const server = new Server({ 'grpc.max_send_message_length': -1 });
  const received: Metadata[] = [];
  const peers: string[] = [];
  const events = new EventEmitter();
  const definition: Record<string, ServiceDefinition[string]> = {};
  const implementation: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(methods)) {
    const path = `/test.Echo/${name}`;
    definition[name] = {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    implementation[name] = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      received.push(call.metadata);
      peers.push(call.getPeer());
      call.on('cancelled', () => events.emit('cancelled', path));
      handler(call, callback);
    };
  }
  server.addService(definition as ServiceDefinition, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    port,
    target: `127.0.0.1:${port}`,
    received,
    peers,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** Resolves when the server reports a cancelled call. */
export async function nextCancellation(server: TestServer): Promise<string> {
  const [path] = (await once(server.events, 'cancelled')) as [string];
  return path;
}

export { status };

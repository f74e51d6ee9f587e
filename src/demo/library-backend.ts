// The demo upstream: a real gRPC server (grpc-js) for library.v1.LibraryService (and the
// staff-only LibraryAdminService, which `npm start` serves behind authentication) over the
// in-memory LibraryStore. Integration tests, the e2e demo and the benchmarks put the gateway
// in front of it. Run directly: `node --import tsx src/demo/library-backend.ts` (PORT env,
// default 50051).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { bundledProtosDir } from '../package-paths.js';
import { LibraryError, seededLibraryStore, type LibraryStore, type Message } from './library-store.js';

/** Fully-qualified name of the demo service. */
export const LIBRARY_SERVICE = 'library.v1.LibraryService';

/** The demo proto, relative to the protos directory. */
export const LIBRARY_PROTO = 'library/v1/library.proto';

/** The demo's staff-only service and its proto (every method needs a credential). */
export const LIBRARY_ADMIN_SERVICE = 'library.v1.LibraryAdminService';
export const LIBRARY_ADMIN_PROTO = 'library/v1/library_admin.proto';

/** Loads the demo proto and what it imports from `protos/`, as a resolved protobufjs Root. */
export function loadLibraryRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(bundledProtosDir, target));
  root.loadSync([LIBRARY_PROTO, LIBRARY_ADMIN_PROTO, 'google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
  root.resolveAll();
  return root;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true };

function codec(type: protobuf.Type): { serialize: (value: Message) => Buffer; deserialize: (bytes: Buffer) => Message } {
  return {
    serialize: (value) => Buffer.from(type.encode(type.fromObject(value)).finish()),
    deserialize: (bytes) => type.toObject(type.decode(bytes), TO_OBJECT),
  };
}

/**
 * A grpc-js service definition for LibraryService whose messages are protobufjs plain objects
 * (snake_case keys, int64 and enums as strings). Serves both `Server.addService` and
 * `makeGenericClientConstructor`.
 */
export function libraryServiceDefinition(root: protobuf.Root = loadLibraryRoot(), serviceName = LIBRARY_SERVICE): grpc.ServiceDefinition {
  const service = root.lookupService(serviceName);
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = codec(method.resolvedRequestType!);
    const response = codec(method.resolvedResponseType!);
    definition[method.name] = {
      path: `/${serviceName}/${method.name}`,
      originalName: method.name,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
    };
  }
  return definition;
}

// Builds the error grpc-js sends: status, message, and the google.rpc.Status (details packed
// as Any) in the `grpc-status-details-bin` trailer, where gRPC's rich error model puts it.
function toServiceError(root: protobuf.Root, error: LibraryError): Partial<grpc.ServiceError> {
  const Status = root.lookupType('google.rpc.Status');
  const details = error.details.map((detail) => {
    const type = root.lookupType(detail.type);
    return { type_url: `type.googleapis.com/${detail.type}`, value: type.encode(type.fromObject(detail.value)).finish() };
  });
  const metadata = new grpc.Metadata();
  const status = Status.encode(Status.fromObject({ code: error.code, message: error.message, details })).finish();
  metadata.set('grpc-status-details-bin', Buffer.from(status));
  return { code: error.code, details: error.message, metadata };
}

type Handler = (request: Message, metadata: grpc.Metadata) => Message;

function handlers(store: LibraryStore): Record<string, Handler> {
  return {
    ListShelves: (r) => store.listShelves(r),
    GetShelf: (r) => store.getShelf(r),
    CreateShelf: (r) => store.createShelf(r),
    DeleteShelf: (r) => store.deleteShelf(r),
    ListBooks: (r) => store.listBooks(r),
    GetBook: (r) => store.getBook(r),
    CreateBook: (r) => store.createBook(r),
    UpdateBook: (r) => store.updateBook(r),
    DeleteBook: (r) => store.deleteBook(r),
    CheckoutBook: (r) => store.checkoutBook(r),
    UpdateBookCover: (r) => store.updateBookCover(r),
    GetBookCover: (r) => store.getBookCover(r),
  };
}

/** The staff-only methods; they trust the identity metadata the gateway sets (and strips from clients). */
function adminHandlers(store: LibraryStore): Record<string, Handler> {
  const words = (metadata: grpc.Metadata, name: string): string[] => String(metadata.get(name)[0] ?? '').split(' ').filter((word) => word !== '');
  return {
    GetCaller: (_request, metadata) => ({ subject: String(metadata.get('x-user-id')[0] ?? ''), scopes: words(metadata, 'x-user-scopes'), roles: words(metadata, 'x-user-roles') }),
    ListLoans: () => store.listLoans(),
  };
}

/** A server-streaming method: writes to `call` until it ends it. */
type StreamHandler = (request: Message, call: grpc.ServerWritableStream<Message, Message>, fail: (error: LibraryError) => void) => void;

function streamHandlers(store: LibraryStore): Record<string, StreamHandler> {
  return {
    WatchShelf: (request, call, fail) => {
      const lastEventId = String(call.metadata.get('last-event-id')[0] ?? '');
      // runs until the client cancels (or its deadline passes), or the shelf is deleted
      const stop = store.watchShelf(request, lastEventId, (event) => call.write(event), fail);
      call.on('cancelled', stop);
    },
  };
}

/**
 * ImportBooks (client streaming): each message adds one book as it arrives; the first error
 * answers at once (the books before it stay), later messages are ignored.
 */
function importBooks(root: protobuf.Root, store: LibraryStore): grpc.handleClientStreamingCall<Message, Message> {
  return (call, callback) => {
    const books: Message[] = [];
    let failed = false;
    call.on('data', (request: Message) => {
      if (failed) return;
      try {
        books.push(store.createBook({ parent: request['parent'], book: request['book'], book_id: '' }));
      } catch (error) {
        failed = true;
        callback(error instanceof LibraryError ? toServiceError(root, error) : { code: grpc.status.INTERNAL, details: 'internal error' });
      }
    });
    call.on('end', () => {
      if (!failed) callback(null, { books });
    });
  };
}

function streamImplementation(root: protobuf.Root, methods: Record<string, StreamHandler>): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, handle] of Object.entries(methods)) {
    impl[name] = ((call: grpc.ServerWritableStream<Message, Message>) => {
      const fail = (error: unknown): void => {
        call.emit('error', error instanceof LibraryError ? toServiceError(root, error) : { code: grpc.status.INTERNAL, details: 'internal error' });
      };
      try {
        handle(call.request, call, fail);
      } catch (error) {
        fail(error);
      }
    }) as grpc.handleServerStreamingCall<Message, Message>;
  }
  return impl;
}

function implementation(root: protobuf.Root, methods: Record<string, Handler>): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, handle] of Object.entries(methods)) {
    impl[name] = ((call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      try {
        callback(null, handle(call.request, call.metadata));
      } catch (error) {
        if (error instanceof LibraryError) callback(toServiceError(root, error));
        else callback({ code: grpc.status.INTERNAL, details: 'internal error' });
      }
    }) as grpc.handleUnaryCall<Message, Message>;
  }
  return impl;
}

/** Options for {@link startLibraryBackend}. */
export interface LibraryBackendOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; loopback by default. */
  host?: string;
  /** Clock for create/update times and loan due dates (tests pin it). */
  now?: () => number;
}

/** A running demo backend. */
export interface LibraryBackend {
  /** The bound port. */
  port: number;
  /** Stops accepting calls, lets running ones finish briefly, then closes. */
  close(): Promise<void>;
}

/** Starts a LibraryService (and LibraryAdminService) gRPC server with the seeded in-memory library. */
export async function startLibraryBackend(options: LibraryBackendOptions = {}): Promise<LibraryBackend> {
  const { port = 0, host = '127.0.0.1', now = Date.now } = options;
  const root = loadLibraryRoot();
  const server = new grpc.Server();
  const store = seededLibraryStore(now);
  server.addService(libraryServiceDefinition(root), { ...implementation(root, handlers(store)), ...streamImplementation(root, streamHandlers(store)), ImportBooks: importBooks(root, store) });
  server.addService(libraryServiceDefinition(root, LIBRARY_ADMIN_SERVICE), implementation(root, adminHandlers(store)));
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const host = process.env['HOST'] ?? '127.0.0.1';
  const backend = await startLibraryBackend({ port: Number(process.env['PORT'] ?? 50051), host });
  console.log(`library backend (${LIBRARY_SERVICE}) listening on ${host}:${backend.port}`);
  const stop = (): void => void backend.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

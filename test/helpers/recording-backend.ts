// Test helper: a real grpc-js echo.v1.EchoService backend that records every call that reaches
// it (path, metadata, decoded request), so hostile-input tests can assert what did NOT arrive.
// The echoed id steers it: "slow-<ms>" answers after <ms>, "big-<n>" answers with ~n bytes,
// "kill" stops the whole server mid-call; Fail answers the status code given in `code`.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { loadTestRoot } from './proto-root.js';
import { startRawGrpcServer, type RunningGrpcServer } from './grpc-server.js';

/** One call as the backend saw it. */
export interface Arrival {
  readonly path: string;
  /** Metadata keys and values (binary values base64). */
  readonly metadata: Record<string, string[]>;
  readonly request: Record<string, unknown>;
}

export interface RecordingBackend {
  readonly server: RunningGrpcServer;
  readonly arrivals: Arrival[];
  readonly EchoMessage: protobuf.Type;
  /** Calls that are hanging or slow, still unanswered. */
  pending: number;
}

let echoRoot: protobuf.Root | undefined;
/** echo.proto loaded with protobufjs (proto field names kept). */
export function echoTypes(): { EchoMessage: protobuf.Type } {
  if (echoRoot === undefined) {
    echoRoot = loadTestRoot('echo/v1/echo.proto');
  }
  return { EchoMessage: echoRoot.lookupType('echo.v1.EchoMessage') };
}

function metadataOf(metadata: grpc.Metadata): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    out[key] = (values as Array<string | Buffer>).map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the backend on `port` (0: any free port). */
export async function startRecordingBackend(port = 0): Promise<RecordingBackend> {
  const { EchoMessage } = echoTypes();
  const arrivals: Arrival[] = [];
  const backend: { server?: RunningGrpcServer; pending: number } = { pending: 0 };
  const record = (path: string, request: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
    const decoded = EchoMessage.toObject(EchoMessage.decode(request), { longs: String, enums: String, bytes: String }) as Record<string, unknown>;
    arrivals.push({ path, metadata: metadataOf(call.metadata), request: decoded });
    return decoded;
  };
  const server = await startRawGrpcServer(
    {
      '/echo.v1.EchoService/Echo': async (request, call) => {
        const decoded = record('/echo.v1.EchoService/Echo', request, call);
        const id = String(decoded['id'] ?? '');
        if (id.startsWith('slow-')) {
          backend.pending++;
          await sleep(Number(id.slice(5)));
          backend.pending--;
        } else if (id.startsWith('big-')) {
          return Buffer.from(EchoMessage.encode({ id, words: ['x'.repeat(Number(id.slice(4)))] }).finish());
        } else if (id === 'kill') {
          setImmediate(() => backend.server?.kill?.());
          return new Promise<Buffer>(() => {});
        }
        return request;
      },
      '/echo.v1.EchoService/Fail': (request, call) => {
        const { code } = record('/echo.v1.EchoService/Fail', request, call) as { code?: number };
        throw Object.assign(new Error('internal detail: /srv/app/handler.ts:42 failed'), { code: code ?? 2, details: 'echo failed on purpose' });
      },
      '/echo.v1.EchoService/Hang': (request, call) => {
        record('/echo.v1.EchoService/Hang', request, call);
        backend.pending++;
        return new Promise<Buffer>(() => {
          call.on('cancelled', () => backend.pending--);
        });
      },
    },
    port,
  );
  backend.server = server;
  return Object.assign(backend as { pending: number }, { server, arrivals, EchoMessage });
}

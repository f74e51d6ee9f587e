// Test helper: the real grpc-js backend of stream/v1/relay.proto. `Gather` records every message
// the moment it arrives (so a test can prove the gateway forwarded a line before the client sent
// the next) and stops reading at a message "hold" until released; `Upload` digests a raw upload
// (recording each HttpBody as an arrival "<content_type> <bytes>");
// `Chat` echoes each message at once, fails at "fail", ends at "bye".
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { grpcError, rawMethod } from './grpc-stream-server.js';
import { loadTestRoot } from './proto-root.js';

/** The proto file, relative to testProtosDir. */
export const RELAY_PROTO = 'stream/v1/relay.proto';

/** A Note as the backend received it. */
export interface Arrival {
  readonly channel: string;
  readonly text: string;
}

/** The running backend and what the tests observe of it. */
export interface RelayBackend {
  readonly target: string;
  /** Every Note that `Gather` and `Chat` received, and every `Upload` message, in order. */
  readonly arrivals: Arrival[];
  /** Resolves once `arrivals` holds more than `count` entries. */
  arrived(count: number): Promise<void>;
  /** Resolves when the next call is cancelled by its client. */
  cancelled(): Promise<void>;
  /** Lets a `Gather` held at "hold" read on. */
  release(): void;
  close(): Promise<void>;
}

/** Joined texts up to this many notes; a larger stream reports its count and bytes only. */
const MAX_JOINED = 100;

/** Starts the relay backend on 127.0.0.1:0. */
export async function startRelayBackend(): Promise<RelayBackend> {
  const root = loadTestRoot([RELAY_PROTO], {});
  const Note = root.lookupType('stream.v1.Note');
  const GatherSummary = root.lookupType('stream.v1.GatherSummary');
  const UploadSummary = root.lookupType('stream.v1.UploadSummary');
  const HttpBody = root.lookupType('google.api.HttpBody');
  const arrivals: Arrival[] = [];
  let waiters: Array<() => void> = [];
  const cancellations: Array<() => void> = [];
  const releases: Array<() => void> = [];
  const noteCancellation = (call: grpc.ServerReadableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>) => call.on('cancelled', () => cancellations.splice(0).forEach((resolve) => resolve()));
  const record = (bytes: Buffer): Arrival => arrive(Note.toObject(Note.decode(bytes)) as Partial<Arrival>);
  const arrive = ({ channel = '', text = '' }: Partial<Arrival>): Arrival => {
    const arrival = { channel, text };
    arrivals.push(arrival);
    const ready = waiters;
    waiters = [];
    ready.forEach((wake) => wake());
    return arrival;
  };

  const gather = (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    noteCancellation(call);
    const texts: string[] = [];
    let bytes = 0;
    call.on('data', (message: Buffer) => {
      const { text } = record(message);
      texts.push(text);
      bytes += message.length;
      if (text === 'hold') {
        // stop reading: grpc-js then stops taking DATA, and HTTP/2 flow control stalls the gateway
        call.pause();
        releases.push(() => call.resume());
      }
    });
    call.on('end', () => {
      const joined = texts.length <= MAX_JOINED ? texts.join('+') : '';
      callback(null, Buffer.from(GatherSummary.encode({ count: texts.length, texts: joined, bytes }).finish()));
    });
  };

  const upload = (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    noteCancellation(call);
    const hash = createHash('sha256');
    const summary = { bytes: 0, messages: 0, contentType: '', maxMessageBytes: 0, laterContentTypes: 0 };
    call.on('data', (message: Buffer) => {
      const body = HttpBody.toObject(HttpBody.decode(message)) as { contentType?: string; data?: Uint8Array };
      const data = body.data ?? new Uint8Array(0);
      arrive({ channel: 'upload', text: `${body.contentType ?? ''} ${data.byteLength}` });
      if (summary.messages === 0) summary.contentType = body.contentType ?? '';
      else if ((body.contentType ?? '') !== '') summary.laterContentTypes++;
      summary.messages++;
      summary.bytes += data.byteLength;
      summary.maxMessageBytes = Math.max(summary.maxMessageBytes, data.byteLength);
      hash.update(data);
    });
    call.on('end', () => callback(null, Buffer.from(UploadSummary.encode({ ...summary, sha256: hash.digest('hex') }).finish())));
  };

  const chat = (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    noteCancellation(call);
    call.on('error', () => {});
    call.on('data', (message: Buffer) => {
      const { channel, text } = record(message);
      if (text === 'fail') {
        call.emit('error', grpcError(grpc.status.ABORTED, `chat failed at "${text}"`));
        return;
      }
      call.write(Buffer.from(Note.encode({ channel, text: `echo:${text}` }).finish()));
      if (text === 'bye') call.end();
    });
    call.on('end', () => {
      if (!call.writableEnded) call.end();
    });
  };

  const server = new grpc.Server();
  const method = (name: string, requestStream: boolean, responseStream: boolean) => rawMethod(`/stream.v1.RelayService/${name}`, requestStream, responseStream);
  server.addService(
    { Gather: method('Gather', true, false), Upload: method('Upload', true, false), Chat: method('Chat', true, true) },
    { Gather: gather, Upload: upload, Chat: chat } as grpc.UntypedServiceImplementation,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    target: `127.0.0.1:${port}`,
    arrivals,
    arrived: (count) =>
      new Promise<void>((resolve) => {
        const check = () => (arrivals.length > count ? resolve() : waiters.push(check));
        check();
      }),
    cancelled: () => new Promise<void>((resolve) => cancellations.push(resolve)),
    release: () => releases.splice(0).forEach((resume) => resume()),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}

// Test helper: the real grpc-js backend of stream/v1/ticker.proto, as the stream tests drive it:
// server-streaming `Tick` sends `count` ticks, optionally `interval_ms` apart, failing with
// `fail_code` after `fail_after`, gated by the test, endless, or a flood written with
// backpressure; client-streaming `Collect` joins the names of the ticks it receives.
import * as grpc from '@grpc/grpc-js';
import { loadTestRoot } from './proto-root.js';
import { grpcError, startStreamingGrpcServer, writeWithBackpressure, type RunningStreamingServer } from './grpc-stream-server.js';

/** The proto file, relative to testProtosDir. */
export const TICKER_PROTO = 'stream/v1/ticker.proto';

interface TickRequestFields {
  name: string;
  count: number;
  intervalMs: number;
  failAfter: number;
  failCode: number;
  mode: number;
  paddingBytes: number;
}

/** The running backend and what the tests observe of it. */
export interface TickerBackend extends RunningStreamingServer {
  /** Metadata of every call, in order. */
  readonly seenMetadata: grpc.Metadata[];
  /** Resolves when the next call is cancelled by its client. */
  cancelled(): Promise<void>;
  /** Lets a MODE_GATED call send its next tick; undefined while no call waits. */
  releaseGate(): boolean;
  /** Ticks a MODE_FLOOD call has written so far. */
  floodWritten(): number;
}

/** Starts the ticker backend on 127.0.0.1:0. */
export async function startTickerBackend(): Promise<TickerBackend> {
  const root = loadTestRoot([TICKER_PROTO], {});
  const TickRequest = root.lookupType('stream.v1.TickRequest');
  const Tick = root.lookupType('stream.v1.Tick');
  const tick = (name: string, seq: number, padding = 0): Buffer =>
    Buffer.from(Tick.encode({ name, seq, cursor: `c-${seq}`, value: `v${seq}`, padding: Buffer.alloc(padding, 7) }).finish());
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const seenMetadata: grpc.Metadata[] = [];
  const cancellations: Array<() => void> = [];
  let gate: (() => void) | undefined;
  let flood = 0;
  const server = await startStreamingGrpcServer({
    '/stream.v1.TickerService/Tick': async (bytes, call) => {
      seenMetadata.push(call.metadata);
      call.on('cancelled', () => cancellations.splice(0).forEach((resolve) => resolve()));
      const request = TickRequest.toObject(TickRequest.decode(bytes), { defaults: true }) as TickRequestFields;
      const head = new grpc.Metadata();
      head.set('x-ticker', 'on');
      call.sendMetadata(head);
      if (request.mode === 2) {
        call.write(tick(request.name, 0));
        return; // never ends by itself
      }
      if (request.mode === 3) {
        flood = 0;
        for (let seq = 0; seq < request.count; seq++) {
          if (!(await writeWithBackpressure(call, tick(request.name, seq, request.paddingBytes)))) return;
          flood = seq + 1;
        }
        call.end();
        return;
      }
      for (let seq = 0; seq < request.count; seq++) {
        if (request.failCode !== 0 && seq === request.failAfter) break;
        if (seq > 0 && request.mode === 1) await new Promise<void>((resolve) => (gate = resolve));
        if (seq > 0 && request.intervalMs > 0) await pause(request.intervalMs);
        if (call.cancelled) return;
        await writeWithBackpressure(call, tick(request.name, seq));
      }
      if (request.failCode !== 0) {
        call.emit('error', grpcError(request.failCode, `ticker failed after ${request.failAfter}`));
        return;
      }
      const trailers = new grpc.Metadata();
      trailers.set('x-ticks', String(request.count));
      call.end(trailers);
    },
  }, {}, {
    // joins the names of the ticks it receives; a tick named "fail" fails the call
    '/stream.v1.TickerService/Collect': (call, callback) => {
      seenMetadata.push(call.metadata);
      call.on('cancelled', () => cancellations.splice(0).forEach((resolve) => resolve()));
      const names: string[] = [];
      call.on('data', (bytes: Buffer) => {
        const { name } = Tick.toObject(Tick.decode(bytes)) as { name?: string };
        names.push(name ?? '');
      });
      call.on('end', () => {
        if (names.includes('fail')) callback(grpcError(grpc.status.FAILED_PRECONDITION, `collected a failing tick at ${names.indexOf('fail') + 1}`));
        else callback(null, Buffer.from(TickRequest.encode({ name: names.join('+'), count: names.length }).finish()));
      });
    },
  });
  return Object.assign(server, {
    seenMetadata,
    cancelled: () => new Promise<void>((resolve) => cancellations.push(resolve)),
    releaseGate: () => {
      const open = gate;
      gate = undefined;
      open?.();
      return open !== undefined;
    },
    floodWritten: () => flood,
  });
}

// Test helper: a raw node:http2 server that answers gRPC server-streaming calls by hand, so a test
// can break the protocol at a chosen point of a stream — after some good messages, or before the
// first: a reset (RST_STREAM), a GOAWAY, a stream that ends without trailers, a length prefix that
// promises more bytes than come, the compressed flag without a grpc-encoding, or a message over
// the gateway's size limit. grpc-js cannot be made to do any of these.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

/** The ways a stream breaks, after its good messages. */
export const STREAM_FAULTS = ['rst', 'goaway', 'no-trailers', 'truncated', 'compressed', 'oversized'] as const;
export type StreamFault = (typeof STREAM_FAULTS)[number];

/** What to answer one call with: `messages` in order, then `fault` (none: a clean OK end). */
export interface FaultPlan {
  readonly messages: readonly Buffer[];
  readonly fault: StreamFault | undefined;
  /** The message sent for `oversized`. */
  readonly oversized: Buffer;
  /**
   * The fault waits for this (the test resolves it once its HTTP client has the good messages),
   * so it comes mid-stream, not in the same read as the messages before it.
   */
  readonly release?: Promise<void> | undefined;
}

export interface FaultyStreamUpstream {
  readonly port: number;
  readonly target: string;
  close(): Promise<void>;
}

/** A gRPC length-prefixed message (PROTOCOL-HTTP2.md), with its compressed flag. */
export function grpcFrame(message: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Starts the server on 127.0.0.1:0; `plan` decides each call's answer from its path and request message. */
export async function startFaultyStreamUpstream(plan: (path: string, request: Buffer) => FaultPlan): Promise<FaultyStreamUpstream> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => answer(stream, plan(String(headers[':path']), Buffer.concat(chunks).subarray(5))));
    stream.on('error', () => {}); // resets from the gateway's side are expected
  });
  server.on('sessionError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    target: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function answer(stream: http2.ServerHttp2Stream, plan: FaultPlan): void {
  const fault = plan.fault;
  const endsWithTrailers = fault !== 'rst' && fault !== 'goaway' && fault !== 'no-trailers';
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: endsWithTrailers });
  if (endsWithTrailers) stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  for (const message of plan.messages) stream.write(grpcFrame(message));
  void (plan.release ?? Promise.resolve()).then(() => {
    if (!stream.destroyed) breakStream(stream, plan);
  });
}

/** Ends `stream` the way `plan.fault` says. */
function breakStream(stream: http2.ServerHttp2Stream, plan: FaultPlan): void {
  switch (plan.fault) {
    case undefined:
    case 'no-trailers':
      stream.end();
      return;
    case 'rst':
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    case 'goaway':
      stream.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR);
      setImmediate(() => stream.session?.destroy());
      return;
    case 'truncated': {
      // declares 100 bytes more than follow, then ends the stream
      const lying = grpcFrame(Buffer.alloc(10, 1));
      lying.writeUInt32BE(110, 1);
      stream.end(lying);
      return;
    }
    case 'compressed':
      stream.end(grpcFrame(plan.messages[0] ?? Buffer.alloc(0), true));
      return;
    case 'oversized':
      stream.end(grpcFrame(plan.oversized));
  }
}

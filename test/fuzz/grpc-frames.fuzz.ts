// Fuzz target: the gRPC length-prefixed message readers — the node:http2 transport's unary reader
// (http2-call.ts, fed through its real stream listeners on a stand-in stream), the wire
// transport's (h2-wire/wire-call.ts, fed as its connection would) and the streaming
// MessageDeframer (http2-server-stream.ts). Random frames (flags, declared lengths that
// lie, sizes around the receive limit), random byte corruptions and random chunkings. Invariants:
// nothing throws; the deframer delivers exactly the messages a plain sequential reading finds and
// stops at the first compressed flag or over-limit length; the unary reader resolves exactly once,
// with the message only when the stream holds exactly one complete, uncompressed, within-limit
// message and a status, refuses an over-limit message as a local RESOURCE_EXHAUSTED 'response'
// limit, and never puts the upstream address in the client's message.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ClientHttp2Stream } from 'node:http2';
import fc from 'fast-check';
import { Code } from '../../src/errors/codes.js';
import { WireCall } from '../../src/upstream/h2-wire/wire-call.js';
import type { WireConnection } from '../../src/upstream/h2-wire/wire-connection.js';
import { attachStream, Http2Call, type Http2CallOwner, type Http2Connection } from '../../src/upstream/http2-call.js';
import { MessageDeframer } from '../../src/upstream/http2-server-stream.js';
import type { UnaryResult } from '../../src/upstream/transport.js';
import { exceededLocalLimit } from '../../src/upstream/unary-call.js';
import type { FuzzTarget } from './fuzz-target.js';

const TARGET = '10.1.2.3:50051';

interface FrameInput {
  frames: Array<{ flag: number; declared: number | 'true'; payload: number }>;
  corruptions: Array<[at: number, byte: number]>;
  cuts: number[];
  max: number;
  trailers: boolean;
}

const arbitrary: fc.Arbitrary<FrameInput> = fc.record({
  frames: fc.array(
    fc.record({
      flag: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) }),
      declared: fc.oneof({ weight: 6, arbitrary: fc.constant('true' as const) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 15, 16, 17, 0x7fffffff, 0xffffffff) }, { weight: 1, arbitrary: fc.nat({ max: 40 }) }),
      payload: fc.nat({ max: 24 }),
    }),
    { maxLength: 4 },
  ),
  corruptions: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 2 }),
  cuts: fc.array(fc.nat({ max: 120 }), { maxLength: 6 }),
  max: fc.constantFrom(-1, 0, 4, 16, 100),
  trailers: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

function bytesOf(input: FrameInput): Buffer {
  const parts: Buffer[] = [];
  input.frames.forEach((frame, f) => {
    const prefix = Buffer.alloc(5);
    prefix[0] = frame.flag;
    prefix.writeUInt32BE(frame.declared === 'true' ? frame.payload : frame.declared, 1);
    parts.push(prefix, Buffer.alloc(frame.payload, (f * 37 + 11) & 0xff));
  });
  const bytes = Buffer.concat(parts);
  for (const [at, byte] of input.corruptions) if (bytes.length > 0) bytes[at % bytes.length] = byte;
  return bytes;
}

function chunksOf(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

/** The reference: a plain sequential reading of the whole byte string. */
function readSequentially(bytes: Buffer, max: number): { messages: Buffer[]; problem: 'compressed' | number | undefined; rest: number } {
  const messages: Buffer[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length - at < 5) return { messages, problem: undefined, rest: bytes.length - at };
    if (bytes[at] !== 0) return { messages, problem: 'compressed', rest: bytes.length - at };
    const length = bytes.readUInt32BE(at + 1);
    if (max >= 0 && length > max) return { messages, problem: length, rest: bytes.length - at };
    if (bytes.length - at - 5 < length) return { messages, problem: undefined, rest: bytes.length - at };
    messages.push(bytes.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
}

function checkDeframer(bytes: Buffer, chunks: Buffer[], max: number): void {
  const expected = readSequentially(bytes, max);
  const deframer = new MessageDeframer(max);
  const delivered: Buffer[] = [];
  let problem: 'compressed' | number | undefined;
  for (const chunk of chunks) {
    problem = deframer.push(Buffer.from(chunk), (m) => delivered.push(Buffer.from(m)));
    if (problem !== undefined) break;
  }
  assert.deepEqual(delivered, expected.messages);
  assert.equal(problem, expected.problem);
  if (problem === undefined) assert.equal(deframer.partialBytes, expected.rest);
}

/** A ClientHttp2Stream as far as the unary call's listeners use it. */
class StandInStream extends EventEmitter {
  closed = false;
  rstCode: number | undefined = undefined;
  close(code: number): void {
    this.closed = true;
    this.rstCode = code;
  }
}

function runUnary(chunks: Buffer[], max: number, trailers: boolean): UnaryResult[] {
  const results: UnaryResult[] = [];
  const owner: Http2CallOwner = { target: TARGET, maxReceiveMessageBytes: max, callSettled: () => {}, connectionLost: () => {} };
  const connection = { session: { destroyed: false }, inFlight: 1, connected: true, lost: false, streamsOpened: 1 } as unknown as Http2Connection;
  const call = new Http2Call(owner, connection, '/pkg.Svc/Method', Date.now() + 60_000, undefined, (r) => results.push(r));
  const stream = new StandInStream();
  attachStream(call, stream as unknown as ClientHttp2Stream);
  stream.emit('response', { ':status': 200, 'content-type': 'application/grpc' });
  for (const chunk of chunks) stream.emit('data', Buffer.from(chunk));
  if (trailers) stream.emit('trailers', { 'grpc-status': '0' });
  stream.closed = true;
  stream.emit('close');
  return results;
}

/** The same through the wire transport's call (h2-wire/wire-call.ts), fed as its connection would. */
function runWireUnary(chunks: Buffer[], max: number, trailers: boolean): UnaryResult[] {
  const results: UnaryResult[] = [];
  const owner = { target: TARGET, maxReceiveMessageBytes: max, callSettled: () => {} };
  const connection = { cancel: () => {} } as unknown as WireConnection;
  const call = new WireCall(owner, connection, '/pkg.Svc/Method', Buffer.alloc(0), undefined, new Uint8Array(), Date.now() + 60_000, undefined, (r) => results.push(r));
  call.onHeaders([':status', '200', 'content-type', 'application/grpc'], false);
  for (const chunk of chunks) call.onData(Buffer.from(chunk), false);
  if (trailers) call.onHeaders(['grpc-status', '0'], true);
  else call.onData(Buffer.alloc(0), true);
  return results;
}

function checkUnary(bytes: Buffer, chunks: Buffer[], max: number, trailers: boolean, run: typeof runUnary): void {
  const results = run(chunks, max, trailers);
  assert.equal(results.length, 1, 'a unary call resolves exactly once');
  const result = results[0]!;
  if (!result.ok) {
    assert.ok(!result.message.includes(TARGET), `the client's message names the upstream: ${result.message}`);
    assert.ok(result.code !== Code.OK);
  }
  const flag = bytes[0];
  const length = bytes.length >= 5 ? bytes.readUInt32BE(1) : -1;
  if (bytes.length >= 5 && flag === 0 && max >= 0 && length > max) {
    assert.ok(!result.ok && result.code === Code.RESOURCE_EXHAUSTED && exceededLocalLimit(result) === 'response', `over-limit ${length} > ${max}: ${JSON.stringify(result)}`);
    return;
  }
  const exactlyOne = bytes.length >= 5 && flag === 0 && bytes.length === 5 + length;
  if (exactlyOne && trailers) {
    assert.ok(result.ok, `one complete message: ${JSON.stringify(result)}`);
    assert.deepEqual(Buffer.from(result.message), bytes.subarray(5));
  } else {
    assert.ok(!result.ok, `${bytes.toString('hex')} (trailers ${trailers}) must fail`);
    assert.notEqual(exceededLocalLimit(result), 'response');
  }
}

export const grpcFramesTarget: FuzzTarget<FrameInput> = {
  name: 'grpc-frames',
  arbitrary,
  check(input) {
    const bytes = bytesOf(input);
    const chunks = chunksOf(bytes, input.cuts);
    checkDeframer(bytes, chunks, input.max);
    checkUnary(bytes, chunks, input.max, input.trailers, runUnary);
    checkUnary(bytes, chunks, input.max, input.trailers, runWireUnary);
  },
};

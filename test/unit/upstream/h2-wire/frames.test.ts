// HTTP/2 framing for the wire transport: the reader yields the same frames however the byte
// stream is split (at every byte boundary, and one byte at a time), refuses frames over its size
// limit, and the writer sends a turn's frames in one write.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, Flag, FrameReader, FrameType, FrameWriter, Setting, unpad } from '../../../../src/upstream/h2-wire/frames.js';

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: string;
}

/** A byte stream of varied frames, as FrameWriter writes them. */
function sampleStream(): Buffer {
  const writes: Buffer[] = [];
  const writer = new FrameWriter((bytes) => writes.push(Buffer.from(bytes)));
  writer.settings([
    [Setting.INITIAL_WINDOW_SIZE, 1 << 20],
    [Setting.MAX_CONCURRENT_STREAMS, 100],
  ]);
  writer.settingsAck(); // empty payload
  writer.frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x88, 0x5f, 0x10]));
  writer.data(1, false, Buffer.from([0, 0, 0, 0, 3]), Buffer.from('abc'), 0, 3);
  writer.data(3, true, undefined, Buffer.alloc(300, 7), 0, 300);
  writer.frame(FrameType.DATA, Flag.END_STREAM, 5); // empty DATA that only ends the stream
  writer.windowUpdate(0, 65_535);
  writer.rstStream(7, ErrorCode.CANCEL);
  writer.ping(false, Buffer.from('12345678'));
  writer.goaway(9, ErrorCode.NO_ERROR);
  writer.flush();
  assert.equal(writes.length, 1, 'one write for the whole batch');
  return writes[0] as Buffer;
}

function readAll(chunks: Buffer[], maxFrameBytes = 16_384): { frames: Frame[]; problem: string | undefined } {
  const frames: Frame[] = [];
  const reader = new FrameReader(maxFrameBytes, (type, flags, streamId, payload) => {
    frames.push({ type, flags, streamId, payload: payload.toString('hex') });
  });
  let problem: string | undefined;
  for (const chunk of chunks) problem ??= reader.push(chunk);
  return { frames, problem };
}

describe('HTTP/2 frame reader', () => {
  const stream = sampleStream();
  const expected = readAll([stream]).frames;

  it('reads the frames the writer wrote', () => {
    assert.deepEqual(
      expected.map((frame) => [frame.type, frame.flags, frame.streamId]),
      [
        [FrameType.SETTINGS, 0, 0],
        [FrameType.SETTINGS, Flag.ACK, 0],
        [FrameType.HEADERS, Flag.END_HEADERS, 1],
        [FrameType.DATA, 0, 1],
        [FrameType.DATA, Flag.END_STREAM, 3],
        [FrameType.DATA, Flag.END_STREAM, 5],
        [FrameType.WINDOW_UPDATE, 0, 0],
        [FrameType.RST_STREAM, 0, 7],
        [FrameType.PING, 0, 0],
        [FrameType.GOAWAY, 0, 0],
      ],
    );
    assert.equal(expected[0]?.payload, '000400100000' + '000300000064');
    assert.equal(expected[3]?.payload, '0000000003616263');
    assert.equal(expected[4]?.payload, '07'.repeat(300));
    assert.equal(expected[5]?.payload, '');
    assert.equal(expected[6]?.payload, '0000ffff');
    assert.equal(expected[9]?.payload, '0000000900000000');
  });

  it('yields the same frames when the stream is split at any byte boundary', () => {
    for (let at = 1; at < stream.length; at++) {
      const { frames, problem } = readAll([stream.subarray(0, at), stream.subarray(at)]);
      assert.equal(problem, undefined);
      assert.deepEqual(frames, expected, `split at ${at}`);
    }
  });

  it('yields the same frames from one byte at a time, and from three-way splits', () => {
    const bytes = Array.from(stream, (byte) => Buffer.of(byte));
    assert.deepEqual(readAll(bytes).frames, expected);
    for (let a = 1; a < stream.length; a += 7) {
      for (let b = a + 1; b < stream.length; b += 11) {
        const { frames } = readAll([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
        assert.deepEqual(frames, expected, `split at ${a} and ${b}`);
      }
    }
  });

  it('refuses a frame larger than its limit, whole or split', () => {
    const header = Buffer.from([0x00, 0x40, 0x01, FrameType.DATA, 0, 0, 0, 0, 1]); // 16,385 bytes
    assert.match(readAll([header]).problem ?? '', /16385 bytes exceeds 16384/);
    assert.match(readAll([header.subarray(0, 4), header.subarray(4)]).problem ?? '', /exceeds/);
    assert.equal(readAll([header], 1 << 20).problem, undefined);
  });

  it('stops delivering frames once stopped', () => {
    const frames: number[] = [];
    const reader = new FrameReader(16_384, (type) => {
      frames.push(type);
      reader.stop();
    });
    reader.push(stream);
    assert.deepEqual(frames, [FrameType.SETTINGS]);
  });
});

describe('HTTP/2 frame writer', () => {
  it('joins the frames of one event-loop turn into one write', async () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter((bytes) => writes.push(bytes));
    for (let stream = 1; stream < 200; stream += 2) writer.data(stream, true, undefined, Buffer.alloc(100), 0, 100);
    assert.equal(writes.length, 0, 'nothing written before the turn ends');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writes.length, 1);
    assert.equal(writes[0]?.length, 100 * (9 + 100));
    writer.ping(true, Buffer.alloc(8));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writes.length, 2, 'the next turn is its own write');
  });
});

describe('HTTP/2 frame padding (RFC 9113 §6.1, §6.2)', () => {
  it('strips PADDED padding and HEADERS priority fields; refuses padding longer than the payload', () => {
    const data = Buffer.from([2, 0x61, 0x62, 0, 0]); // pad length 2, 'ab', 2 bytes of padding
    assert.equal(unpad(Flag.PADDED, data, 0)?.toString(), 'ab');
    assert.equal(unpad(0, data, 0), data, 'unpadded: the payload itself');
    const headers = Buffer.from([1, 0, 0, 0, 3, 16, 0x88, 0]); // pad 1, priority (5 bytes), block 0x88
    assert.deepEqual(unpad(Flag.PADDED | Flag.PRIORITY, headers, 5), Buffer.from([0x88]));
    assert.deepEqual(unpad(Flag.PRIORITY, Buffer.from([0, 0, 0, 3, 16, 0x88]), 5), Buffer.from([0x88]));
    assert.equal(unpad(Flag.PADDED, Buffer.from([5, 1, 2]), 0), undefined);
    assert.equal(unpad(Flag.PADDED, Buffer.alloc(0), 0), undefined);
    assert.equal(unpad(Flag.PRIORITY, Buffer.from([0, 0]), 5), undefined);
  });
});

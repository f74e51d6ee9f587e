import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStatusDetails } from '../../../src/upstream/status-details.js';

// Hand-assembled google.rpc.Status bytes: field 1 code (varint), 2 message, 3 details (Any).
const any = [0x0a, 0x03, 0x61, 0x2f, 0x62, 0x12, 0x02, 0x01, 0x02]; // type_url "a/b", value 01 02
const valid = [0x08, 0x05, 0x12, 0x02, 0x68, 0x69, 0x1a, any.length, ...any];

describe('decodeStatusDetails', () => {
  it('decodes code, message and encoded details', () => {
    const status = decodeStatusDetails(new Uint8Array(valid));
    assert.ok(status !== undefined);
    assert.equal(status.code, 5);
    assert.equal(status.message, 'hi');
    assert.equal(status.details.length, 1);
    assert.equal(status.details[0]?.typeUrl, 'a/b');
    assert.deepEqual([...(status.details[0]?.value ?? [])], [1, 2]);
  });

  it('decodes an empty message as an all-default status', () => {
    assert.deepEqual(decodeStatusDetails(new Uint8Array(0)), { code: 0, message: '', details: [] });
  });

  it('decodes a negative int32 code and skips unknown fields', () => {
    const negative = [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const unknown = [0x20, 0x07, 0x2a, 0x01, 0x00, 0x35, 1, 2, 3, 4]; // field 4 varint, 5 bytes, 6 fixed32
    const status = decodeStatusDetails(new Uint8Array([...negative, ...unknown, 0x12, 0x01, 0x78]));
    assert.deepEqual(status, { code: -1, message: 'x', details: [] });
  });

  it('reads a Buffer as well as a Uint8Array', () => {
    assert.equal(decodeStatusDetails(Buffer.from(valid))?.message, 'hi');
  });

  const malformed: ReadonlyArray<readonly [string, number[]]> = [
    ['truncated varint', [0x08, 0x80]],
    ['truncated length', [0x12, 0x05, 0x68]],
    ['length past the end', [0x12, 0x7f]],
    ['field number 0', [0x00, 0x01]],
    ['code with the wrong wire type', [0x0a, 0x01, 0x00]],
    ['message with the wrong wire type', [0x10, 0x01]],
    ['details with the wrong wire type', [0x18, 0x01]],
    ['wire type 7', [0x27, 0x00]],
    ['end-group without start', [0x24]],
    ['malformed Any inside details', [0x1a, 0x02, 0x08, 0x80]],
    ['Any with a wrong wire type for type_url', [0x1a, 0x02, 0x08, 0x01]],
    ['a lone tag byte', [0x12]],
    ['varint longer than 10 bytes', [0x08, ...Array<number>(11).fill(0xff), 0x01]],
  ];
  for (const [name, bytes] of malformed) {
    it(`returns undefined for ${name}`, () => {
      assert.equal(decodeStatusDetails(new Uint8Array(bytes)), undefined);
    });
  }

  it('never throws on random bytes (fixed seed)', () => {
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % 256;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: 1 + (random() % 40) }, random);
      const status = decodeStatusDetails(bytes);
      if (status !== undefined) assert.equal(typeof status.message, 'string');
    }
  });
});

// Fuzz target: the wire transport's HPACK decoder (h2-wire/hpack-decoder.ts), which reads header
// blocks an upstream sends. A reference encoder written here from RFC 7541 (integers, raw and
// Huffman strings, indexed fields, the three literal kinds, table size updates) and a model of
// the dynamic table produce random sequences of header blocks on one connection. Invariants: the
// decoder gives back exactly the fields encoded, block after block, with its table in step with
// the model; and the same blocks, corrupted (bytes flipped, cut, inserted), give fields or an
// error string — never a throw — and never a table over its limit.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HpackDecoder } from '../../src/upstream/h2-wire/hpack-decoder.js';
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from '../../src/upstream/h2-wire/hpack-static-table.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from '../../src/upstream/h2-wire/huffman-table.js';
import type { FuzzTarget } from './fuzz-target.js';

const LIMIT = 256; // a small table, so eviction happens often

type Op =
  | { kind: 'indexed'; ref: number }
  | { kind: 'literal'; indexing: 'incremental' | 'without' | 'never'; nameRef: number; name: string; value: string; huffman: boolean }
  | { kind: 'size'; size: number };

interface HpackInput {
  blocks: Op[][];
  corruption: Array<[at: number, kind: number, byte: number]>;
}

const latin1 = fc.array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0x61, max: 0x7a }) }, { weight: 2, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }), { maxLength: 40 }).map((codes) => String.fromCharCode(...codes));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('indexed' as const), ref: fc.integer({ min: 1, max: STATIC_TABLE_LENGTH + 8 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('literal' as const),
      indexing: fc.constantFrom('incremental' as const, 'incremental' as const, 'without' as const, 'never' as const),
      nameRef: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: STATIC_TABLE_LENGTH + 8 })),
      name: latin1,
      value: fc.oneof(latin1, fc.constant('x'.repeat(300))),
      huffman: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('size' as const), size: fc.integer({ min: 0, max: LIMIT }) }) },
);
const arbitrary: fc.Arbitrary<HpackInput> = fc.record({
  blocks: fc.array(fc.array(op, { maxLength: 8 }), { minLength: 1, maxLength: 5 }),
  corruption: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.nat({ max: 255 })), { maxLength: 3 }),
});

/** RFC 7541 §5.1. */
function integer(out: number[], value: number, prefixBits: number, firstByteHigh: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByteHigh | value);
    return;
  }
  out.push(firstByteHigh | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

/** RFC 7541 §5.2, Huffman per Appendix B (padded with the EOS prefix, all ones). */
function string(out: number[], text: string, huffman: boolean): void {
  const octets = Buffer.from(text, 'latin1');
  if (!huffman) {
    integer(out, octets.length, 7, 0);
    out.push(...octets);
    return;
  }
  const bits: number[] = [];
  for (const octet of octets) {
    const code = HUFFMAN_CODES[octet]!;
    for (let i = HUFFMAN_LENGTHS[octet]! - 1; i >= 0; i--) bits.push(Math.floor(code / 2 ** i) % 2);
  }
  while (bits.length % 8 !== 0) bits.push(1);
  const bytes: number[] = [];
  for (let i = 0; i < bits.length; i += 8) bytes.push(bits.slice(i, i + 8).reduce((acc, bit) => acc * 2 + bit, 0));
  integer(out, bytes.length, 7, 0x80);
  out.push(...bytes);
}

/** The dynamic table as RFC 7541 §4 describes it, newest first. */
class TableModel {
  entries: Array<[string, string]> = [];
  max = LIMIT;
  get bytes(): number {
    return this.entries.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);
  }
  at(index: number): [string, string] | undefined {
    return index <= STATIC_TABLE_LENGTH ? (STATIC_TABLE[index] as [string, string]) : this.entries[index - STATIC_TABLE_LENGTH - 1];
  }
  add(name: string, value: string): void {
    this.entries.unshift([name, value]);
    this.evict();
  }
  resize(size: number): void {
    this.max = size;
    this.evict();
  }
  private evict(): void {
    while (this.bytes > this.max) this.entries.pop();
  }
}

/** Encodes `ops` as one block against `model` (updated as the decoder must update its table); refs out of range are skipped. */
function encodeBlock(ops: Op[], model: TableModel): { bytes: Buffer; fields: string[] } {
  const out: number[] = [];
  const fields: string[] = [];
  let sawField = false;
  for (const o of ops) {
    if (o.kind === 'size') {
      if (sawField) continue; // §4.2: only at the start of a block
      integer(out, o.size, 5, 0x20);
      model.resize(o.size);
    } else if (o.kind === 'indexed') {
      const entry = model.at(o.ref);
      if (entry === undefined) continue;
      integer(out, o.ref, 7, 0x80);
      fields.push(entry[0], entry[1]);
      sawField = true;
    } else {
      const named = o.nameRef === 0 ? undefined : model.at(o.nameRef);
      const name = named === undefined ? o.name : named[0];
      const [prefixBits, high] = o.indexing === 'incremental' ? [6, 0x40] : o.indexing === 'without' ? [4, 0x00] : [4, 0x10];
      integer(out, named === undefined ? 0 : o.nameRef, prefixBits, high);
      if (named === undefined) string(out, name, o.huffman);
      string(out, o.value, !o.huffman);
      fields.push(name, o.value);
      if (o.indexing === 'incremental') model.add(name, o.value);
      sawField = true;
    }
  }
  return { bytes: Buffer.from(out), fields };
}

function corrupt(bytes: Buffer, edits: HpackInput['corruption']): Buffer {
  let b = Buffer.from(bytes);
  for (const [at, kind, byte] of edits) {
    const i = at % (b.length + 1);
    if (kind === 0 && i < b.length) b[i] = byte;
    else if (kind === 1) b = b.subarray(0, i);
    else b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
  }
  return b;
}

export const hpackTarget: FuzzTarget<HpackInput> = {
  name: 'hpack',
  arbitrary,
  check({ blocks, corruption }) {
    const model = new TableModel();
    const decoder = new HpackDecoder(LIMIT);
    const broken = new HpackDecoder(LIMIT);
    let brokenFailed = false;
    for (const ops of blocks) {
      const { bytes, fields } = encodeBlock(ops, model);
      const out: string[] = [];
      const problem = decoder.decode(bytes, 0, bytes.length, out);
      assert.equal(problem, undefined, `block ${bytes.toString('hex')}: ${problem}`);
      assert.deepEqual(out, fields, `block ${bytes.toString('hex')}`);
      assert.equal(decoder.tableLength, model.entries.length);
      assert.equal(decoder.tableBytes, model.bytes);
      for (let i = 0; i < model.entries.length; i++) assert.deepEqual(decoder.dynamicEntry(i + 1), model.entries[i]);
      // The same block corrupted, on a decoder of its own: an answer, never a throw.
      if (brokenFailed) continue;
      const bad = corruption.length === 0 ? bytes : corrupt(bytes, corruption);
      const badOut: string[] = [];
      const badProblem = broken.decode(bad, 0, bad.length, badOut);
      assert.ok(badProblem === undefined || typeof badProblem === 'string');
      assert.ok(broken.tableBytes <= LIMIT, `table at ${broken.tableBytes} bytes`);
      assert.equal(badOut.length % 2, 0);
      // After an error the connection ends (COMPRESSION_ERROR): later blocks are not decoded.
      if (badProblem !== undefined) brokenFailed = true;
    }
  },
};

// Fuzz target: the protobuf → JSON response encoder (json-response-encoder.ts), the part of the
// gateway that reads what an upstream sends. Inputs: valid encodings of the codec test messages,
// byte-mutated (flips, insertions, cuts, duplicated ranges), and random bytes. Invariants: the
// encoder returns text that JSON.parse accepts or throws an Error (the pipeline turns that into a
// 502) — it never hangs or throws a non-Error; and when @bufbuild/protobuf reads the same bytes
// as a message and prints it, we print the same JSON for its well-formed re-encoding.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromBinary, toBinary, toJson, type DescMessage } from '@bufbuild/protobuf';
import { parseJson } from '../../src/transcode/json/json-parser.js';
import { canonical, codecOf, strict } from '../unit/json/fixture.js';
import type { FuzzTarget } from './fuzz-target.js';
import { bufRegistry, normalized, SEEDS } from './json-decoder.fuzz.js';

const TYPES = ['Scalars', 'Book', 'Wkt'] as const;
type TypeName = (typeof TYPES)[number];

const valid: Record<TypeName, Buffer[]> = {
  Scalars: SEEDS.Scalars.map((text) => Buffer.from(codecOf('Scalars').encodeToBytes(parseJson(text), strict))),
  Book: SEEDS.Book.map((text) => Buffer.from(codecOf('Book').encodeToBytes(parseJson(text), strict))),
  Wkt: SEEDS.Wkt.map((text) => Buffer.from(codecOf('Wkt').encodeToBytes(parseJson(text), strict))),
};

type Edit = [at: number, kind: number, byte: number, length: number];

const arbitrary = fc.constantFrom(...TYPES).chain((type) =>
  fc.record({
    type: fc.constant(type),
    seed: fc.nat({ max: valid[type].length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.nat({ max: 255 }), fc.nat({ max: 12 })), { maxLength: 3 }),
    random: fc.oneof({ weight: 5, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')) }),
  }),
);

function bytesOf(type: TypeName, seed: number, edits: Edit[], random: string): Buffer {
  if (random !== '') return Buffer.from(random, 'base64');
  let bytes = Buffer.from(valid[type][seed]!);
  for (const [at, kind, byte, length] of edits) {
    const i = at % (bytes.length + 1);
    if (kind === 0) bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
    else if (kind === 1) bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1 + (length % 4))]);
    else if (kind === 2 && i < bytes.length) bytes[i] = byte;
    else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i, i + length), bytes.subarray(i)]);
  }
  return bytes;
}

export const jsonEncoderTarget: FuzzTarget<{ type: TypeName; seed: number; edits: Edit[]; random: string }> = {
  name: 'json-encoder',
  arbitrary,
  check({ type, seed, edits, random }) {
    const bytes = bytesOf(type, seed, edits, random);
    let ours: string | undefined;
    try {
      ours = codecOf(type).toJson(bytes, canonical);
    } catch (error) {
      assert.ok(error instanceof Error, `${type} ${bytes.toString('hex')} threw a non-Error: ${String(error)}`);
    }
    if (ours !== undefined) JSON.parse(ours);
    const reg = bufRegistry();
    const schema = reg.getMessage(`protogate.test.json.${type}`) as DescMessage;
    let theirs: unknown;
    let wellFormed: Uint8Array;
    try {
      const message = fromBinary(schema, bytes) as { any?: unknown };
      // An Any's value is copied as opaque bytes into the re-encoding, so mutated bytes there stay
      // malformed: the Any is left out of the comparison (the decoder target covers Any).
      if (type === 'Wkt') message.any = undefined;
      theirs = toJson(schema, message as never, { registry: reg });
      // Unknown fields are copied as read too (an 11-byte varint included): left out.
      wellFormed = toBinary(schema, message as never, { writeUnknownFields: false });
    } catch {
      return; // the reference cannot read or print it either; refusing is all we ask
    }
    // Mutated bytes are compared through their re-encoding, well-formed by construction: on the
    // raw bytes the references are laxer than the protobuf spec — @bufbuild/protobuf (like
    // protobufjs) lets a field run past the end of its enclosing message or map entry, and reads a
    // map field sent with the wrong wire type as an entry, where we skip it as unknown (as protobuf's
    // C++ parser does).
    let again: string;
    try {
      again = codecOf(type).toJson(wellFormed, canonical);
    } catch (error) {
      assert.fail(`${type} ${Buffer.from(wellFormed).toString('hex')} (well-formed): we throw ${String(error)}; @bufbuild/protobuf prints ${JSON.stringify(theirs)}`);
    }
    assert.deepEqual(normalized(JSON.parse(again)), normalized(theirs), `${type} ${Buffer.from(wellFormed).toString('hex')}`);
  },
};

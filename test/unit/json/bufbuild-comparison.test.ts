// Differential test against @bufbuild/protobuf (a fully conformant proto3 JSON implementation):
// random messages from a fixed seed, compared in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { createFileRegistry, fromBinary, fromJson, toBinary, toJson, type JsonValue as BufJson } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { parseJson } from '../../../src/transcode/json/json-parser.js';
import { canonical, codecOf, fixtureDir, root, strict } from './fixture.js';

function buildDescriptorSet(): Uint8Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'protogate-json-'));
  try {
    const out = path.join(dir, 'set.binpb');
    const buf = path.resolve(fixtureDir, '../../../../node_modules/.bin/buf');
    const r = spawnSync(buf, ['build', fixtureDir, '-o', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, `buf build failed: ${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Small deterministic PRNG (xorshift32) so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const rand = prng(20240611);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const chance = (p: number): boolean => rand() < p;
const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('').replace(/^0+(?=\d)/, '');

const scalarValues: Record<string, () => unknown> = {
  int32: () => pick([0, 1, -1, 2147483647, -2147483648, Math.floor(rand() * 1e6) - 5e5, '123']),
  sint32: () => pick([0, -1, 2147483647, -2147483648, Math.floor(rand() * 1e6) - 5e5]),
  sfixed32: () => pick([0, -1, 2147483647, -2147483648, 77]),
  uint32: () => pick([0, 1, 4294967295, Math.floor(rand() * 4294967295)]),
  fixed32: () => pick([0, 1, 4294967295, Math.floor(rand() * 4294967295)]),
  int64: () => pick(['0', '-1', '9223372036854775807', '-9223372036854775808', `-${digits(12)}`, digits(18), 12345]),
  sint64: () => pick(['0', '-1', '9223372036854775807', '-9223372036854775808', `-${digits(17)}`]),
  sfixed64: () => pick(['0', '-1', '9223372036854775807', '-9223372036854775808', digits(10)]),
  uint64: () => pick(['0', '18446744073709551615', digits(19), digits(5)]),
  fixed64: () => pick(['0', '18446744073709551615', digits(19), '4294967296']),
  float: () => pick([0.1, 1.5, -2.25, 3.4028234663852886e38, 1e-45, 'Infinity', '-Infinity', 'NaN', Math.fround(rand() * 1e6)]),
  double: () => pick([0.1, -2.5, 1.7976931348623157e308, 5e-324, 'NaN', '-Infinity', rand() * 1e12 - 5e11, 1e21]),
  bool: () => chance(0.5),
  string: () => Array.from({ length: Math.floor(rand() * 6) }, () => pick(['a', 'Z', 'é', '😀', '"', '\\', '\n', '\u2028', '\u0001', ' '])).join(''),
  bytes: () => Buffer.from(Array.from({ length: Math.floor(rand() * 7) }, () => Math.floor(rand() * 256))).toString('base64'),
};

const mapKeys: Record<string, () => string> = {
  string: () => pick(['', 'a', 'key', 'é😀', '__proto__']),
  int64: () => pick(['0', '-9223372036854775808', '9223372036854775807', digits(6)]),
  uint32: () => pick(['0', '4294967295', digits(4)]),
  bool: () => pick(['true', 'false']),
};

function randomStruct(depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 3); i > 0; i--) out[pick(['a', 'b', 'c d', ''])] = randomValue(depth + 1);
  return out;
}

function randomValue(depth: number): unknown {
  const k = Math.floor(rand() * (depth > 2 ? 4 : 6));
  const kinds = [
    () => null,
    () => rand() * 100 - 50,
    () => scalarValues['string']!(),
    () => chance(0.5),
    () => randomStruct(depth),
    () => [randomValue(depth + 1)],
  ];
  return kinds[k]!();
}

function wellKnown(name: string, depth: number): unknown {
  switch (name) {
    case 'google.protobuf.Timestamp': {
      const ms = Math.floor(rand() * 253402300799000) - (chance(0.3) ? 62135596800000 : 0);
      const base = new Date(Math.max(ms, -62135596800000)).toISOString().slice(0, 19);
      return `${base}${pick(['', '.5', '.123456', '.000000001'])}Z`;
    }
    case 'google.protobuf.Duration':
      return `${pick(['', '-'])}${digits(Math.ceil(rand() * 11))}${pick(['', '.5', '.000001', '.123456789'])}s`;
    case 'google.protobuf.FieldMask':
      return pick(['', 'a', 'fooBar', 'fooBar.bazQux,x']);
    case 'google.protobuf.Struct':
      return randomStruct(depth);
    case 'google.protobuf.Value':
      return randomValue(depth);
    case 'google.protobuf.ListValue':
      return [randomValue(depth), randomValue(depth)];
    case 'google.protobuf.Any':
      return chance(0.5)
        ? { '@type': 'type.googleapis.com/protogate.test.json.Scalars', ...(randomMessage(root.lookupType('protogate.test.json.Scalars'), depth + 1) as object) }
        : { '@type': 'type.googleapis.com/google.protobuf.Duration', value: wellKnown('google.protobuf.Duration', depth) };
    case 'google.protobuf.Empty':
      return {};
    default: {
      const wrapped = name.replace('google.protobuf.', '').replace('Value', '').toLowerCase();
      return scalarValues[wrapped]!();
    }
  }
}

function randomMessage(type: protobuf.Type, depth: number): unknown {
  const out: Record<string, unknown> = {};
  const usedOneofs = new Set<string>();
  for (const f of type.fieldsArray) {
    if (!chance(depth > 2 ? 0.15 : 0.5)) continue;
    if (f.partOf && !f.partOf.name.startsWith('_')) {
      if (usedOneofs.has(f.partOf.name)) continue;
      usedOneofs.add(f.partOf.name);
    }
    const key = chance(0.5) ? f.name : (f as unknown as { json_name_for_test: string }).json_name_for_test;
    const one = (): unknown => {
      const t = f.resolvedType;
      if (t instanceof protobuf.Type) {
        const full = t.fullName.slice(1);
        if (full.startsWith('google.protobuf.')) return wellKnown(full, depth);
        return depth > 3 ? {} : randomMessage(t, depth + 1);
      }
      if (t instanceof protobuf.Enum) {
        if (t.fullName === '.google.protobuf.NullValue') return null;
        return chance(0.7) ? pick(Object.keys(t.values)) : pick([0, 1, 2, 99]);
      }
      return scalarValues[f.type]!();
    };
    if (f.map) {
      const entries: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 3); i > 0; i--) entries[mapKeys[(f as unknown as { keyType: string }).keyType]!()] = one();
      out[key] = entries;
    } else if (f.repeated) {
      out[key] = Array.from({ length: Math.floor(rand() * 4) }, one);
    } else {
      out[key] = one();
    }
  }
  return out;
}

/** Float fields may print shorter (shortest float32 form vs. the widened double): compare as float32. */
function floatsAsFloat32(v: unknown, key = ''): unknown {
  if (typeof v === 'number' && key === 'flt') return Math.fround(v);
  if (Array.isArray(v)) return v.map((x) => floatsAsFloat32(x, key));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, floatsAsFloat32(x, k)]));
  }
  return v;
}

test('agrees with @bufbuild/protobuf on random messages (fixed seed)', () => {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, buildDescriptorSet()));
  // json names for the generator: the proto name or protoc's lowerCamel form.
  for (const t of ['Scalars', 'Book', 'Wkt']) {
    for (const f of root.lookupType(`protogate.test.json.${t}`).fieldsArray) {
      const schemaField = registry.getMessage(`protogate.test.json.${t}`)!.fields.find((x) => x.name === f.name)!;
      (f as unknown as { json_name_for_test: string }).json_name_for_test = schemaField.jsonName;
    }
  }
  let compared = 0;
  for (const name of ['Scalars', 'Book', 'Wkt']) {
    const schema = registry.getMessage(`protogate.test.json.${name}`)!;
    const codec = codecOf(name);
    const type = root.lookupType(`protogate.test.json.${name}`);
    for (let i = 0; i < 300; i++) {
      const input = randomMessage(type, 0) as BufJson;
      const message = fromJson(schema, input, { registry });
      const theirs = toJson(schema, message, { registry });
      // binary from bufbuild → our JSON must equal bufbuild's JSON.
      const ours = JSON.parse(codec.toJson(toBinary(schema, message), canonical));
      assert.deepEqual(floatsAsFloat32(ours), floatsAsFloat32(theirs), `toJson of ${name} ${JSON.stringify(input)}`);
      // bufbuild's JSON (and the raw input) → our protobuf → bufbuild reads the same message.
      for (const json of [JSON.stringify(theirs), JSON.stringify(input)]) {
        const back = fromBinary(schema, codec.encodeToBytes(parseJson(json), strict));
        assert.deepEqual(floatsAsFloat32(toJson(schema, back, { registry })), floatsAsFloat32(theirs), `encode of ${name} ${json}`);
      }
      compared++;
    }
  }
  assert.equal(compared, 900);
});

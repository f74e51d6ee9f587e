import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { parseJson } from '../../../src/transcode/json/json-parser.js';
import { canonical, codecOf, lenient, roundTrip, strict, withDefaults } from './fixture.js';

function rejects(name: string, json: string, reason: string, field: string, read = strict): void {
  const codec = codecOf(name);
  assert.throws(
    () => codec.encodeToBytes(parseJson(json), read),
    (e: unknown) => {
      assert.ok(e instanceof GatewayError, String(e));
      assert.equal(e.reason, reason, `${json}: ${e.message}`);
      const violation = (e.details[0] as unknown as { fieldViolations: { field: string }[] }).fieldViolations[0];
      assert.equal(violation?.field, field, `${json}: ${e.message}`);
      return true;
    },
    json,
  );
}

test('scalars: accepted inputs and canonical output', () => {
  const cases: [string, unknown][] = [
    ['{"i32": 1e5}', { i32: 100000 }],
    ['{"i32": "-2147483648"}', { i32: -2147483648 }],
    ['{"i32": 100000.000}', { i32: 100000 }],
    ['{"i64": 9223372036854775807}', { i64: '9223372036854775807' }],
    ['{"i64": "-9223372036854775808"}', { i64: '-9223372036854775808' }],
    ['{"u64": "18446744073709551615"}', { u64: '18446744073709551615' }],
    ['{"s64": "-1234567890123456789"}', { s64: '-1234567890123456789' }],
    ['{"f64": "18446744073709551615", "sf64": -1}', { f64: '18446744073709551615', sf64: '-1' }],
    ['{"u32": 4294967295, "f32": 4294967295, "s32": -5, "sf32": -7}', { u32: 4294967295, f32: 4294967295, s32: -5, sf32: -7 }],
    ['{"flt": 0.1, "dbl": 0.1}', { flt: 0.1, dbl: 0.1 }],
    ['{"flt": "NaN", "dbl": "-Infinity"}', { flt: 'NaN', dbl: '-Infinity' }],
    ['{"flt": "3.4028234663852886e38"}', { flt: 3.4028235e38 }],
    ['{"dbl": "1.5"}', { dbl: 1.5 }],
    ['{"flag": true, "text": "é😀"}', { flag: true, text: 'é😀' }],
    ['{"data": "-_8"}', { data: '+/8=' }],
    ['{"data": "+/8="}', { data: '+/8=' }],
    ['{"color": "COLOR_RED"}', { color: 'COLOR_RED' }],
    ['{"color": 2}', { color: 'COLOR_GREEN' }],
    ['{"color": 7}', { color: 7 }],
    ['{"i32": 0, "text": "", "color": "COLOR_UNSPECIFIED", "i64": null}', {}],
  ];
  for (const [json, expected] of cases) assert.deepEqual(roundTrip('Scalars', json), expected, json);
});

test('scalars: rejected inputs name the field and the rule', () => {
  rejects('Scalars', '{"i32": 2147483648}', 'PG_BAD_FIELD_VALUE', 'i32');
  rejects('Scalars', '{"i32": 1.5}', 'PG_BAD_FIELD_VALUE', 'i32');
  rejects('Scalars', '{"i32": "12x"}', 'PG_BAD_FIELD_VALUE', 'i32');
  rejects('Scalars', '{"u32": -1}', 'PG_BAD_FIELD_VALUE', 'u32');
  rejects('Scalars', '{"i64": "9223372036854775808"}', 'PG_BAD_FIELD_VALUE', 'i64');
  rejects('Scalars', '{"u64": -1}', 'PG_BAD_FIELD_VALUE', 'u64');
  rejects('Scalars', '{"flt": 3.5e38}', 'PG_BAD_FIELD_VALUE', 'flt');
  rejects('Scalars', '{"dbl": 1e400}', 'PG_BAD_FIELD_VALUE', 'dbl');
  rejects('Scalars', '{"dbl": "nan"}', 'PG_BAD_FIELD_VALUE', 'dbl');
  rejects('Scalars', '{"flag": "true"}', 'PG_BAD_FIELD_VALUE', 'flag');
  rejects('Scalars', '{"text": 1}', 'PG_BAD_FIELD_VALUE', 'text');
  rejects('Scalars', '{"data": "a*b"}', 'PG_BAD_FIELD_VALUE', 'data');
  rejects('Scalars', '{"color": "PURPLE"}', 'PG_BAD_FIELD_VALUE', 'color');
  rejects('Scalars', '{"nope": 1}', 'PG_UNKNOWN_FIELD', 'nope');
  assert.throws(() => codecOf('Scalars').encodeToBytes(parseJson('{"i32": "12x"}'), strict), {
    message: 'field "i32": "12x" is not an int32',
  });
});

test('ignoreUnknownFields drops unknown fields and unknown enum names', () => {
  assert.deepEqual(roundTrip('Scalars', '{"nope": 1, "color": "PURPLE", "i32": 3}', lenient), { i32: 3 });
  assert.deepEqual(roundTrip('Book', '{"colors": ["COLOR_RED", "X"], "flags": {"true": "X", "false": 2}}', lenient), {
    colors: ['COLOR_RED'],
    flags: { false: 'COLOR_GREEN' },
  });
});

test('names: json names, proto names, json_name; duplicates are rejected', () => {
  assert.deepEqual(roundTrip('Book', '{"book_id": "a", "pages": 3}'), { bookId: 'a', pages: 3 });
  assert.deepEqual(roundTrip('Book', '{"bookId": "a", "page_count": 3}'), { bookId: 'a', pages: 3 });
  rejects('Book', '{"bookId": "a", "book_id": "b"}', 'PG_BAD_JSON', 'bookId');
  rejects('Book', '{"pageCount": 3}', 'PG_UNKNOWN_FIELD', 'pageCount');
});

test('optional and oneof: presence kept, conflicts rejected', () => {
  assert.deepEqual(roundTrip('Book', '{"edition": 0}'), { edition: 0 });
  assert.deepEqual(roundTrip('Book', '{"isbn": ""}'), { isbn: '' });
  assert.deepEqual(roundTrip('Book', '{"nothing": null}'), { nothing: null });
  assert.deepEqual(roundTrip('Book', '{"isbn": null, "catalogueNumber": "7"}'), { catalogueNumber: '7' });
  assert.deepEqual(roundTrip('Book', '{"details": {}}'), { details: {} });
  rejects('Book', '{"isbn": "x", "catalogue_number": 1}', 'PG_ONEOF_CONFLICT', 'catalogue_number');
  rejects('Book', '{"isbn": "x", "nothing": null}', 'PG_ONEOF_CONFLICT', 'nothing');
});

test('maps: every key type, nested paths in errors', () => {
  const json = '{"counts": {"a": 1, "": 0}, "byId": {"-5": "x", "9223372036854775807": "y"}, "flags": {"true": 1}, "children": {"4294967295": {"bookId": "c"}}}';
  assert.deepEqual(roundTrip('Book', json), {
    counts: { a: 1, '': 0 },
    byId: { '-5': 'x', '9223372036854775807': 'y' },
    flags: { true: 'COLOR_RED' },
    children: { '4294967295': { bookId: 'c' } },
  });
  rejects('Book', '{"byId": {"x": "y"}}', 'PG_BAD_FIELD_VALUE', 'byId');
  rejects('Book', '{"flags": {"yes": 1}}', 'PG_BAD_FIELD_VALUE', 'flags');
  rejects('Book', '{"counts": {"a": null}}', 'PG_BAD_FIELD_VALUE', 'counts');
  rejects('Book', '{"children": {"1": {"pages": "x"}}}', 'PG_BAD_FIELD_VALUE', 'children["1"].pages');
  rejects('Book', '{"parent": {"parent": {"nope": 1}}}', 'PG_UNKNOWN_FIELD', 'parent.parent.nope');
  rejects('Book', '{"many": [{}, {"i32": true}]}', 'PG_BAD_FIELD_VALUE', 'many[1].i32');
  rejects('Book', '{"tags": "x"}', 'PG_BAD_FIELD_VALUE', 'tags');
  rejects('Book', '{"tags": [null]}', 'PG_BAD_FIELD_VALUE', 'tags');
});

test('recursive messages and repeated fields', () => {
  const json = '{"parent": {"parent": {"bookId": "root", "bigNumbers": ["1", 2, "-9223372036854775808"]}}, "colors": ["COLOR_GREEN", 0, 5]}';
  assert.deepEqual(roundTrip('Book', json), {
    parent: { parent: { bookId: 'root', bigNumbers: ['1', '2', '-9223372036854775808'] } },
    colors: ['COLOR_GREEN', 'COLOR_UNSPECIFIED', 5],
  });
});

test('emitDefaults and enumsAsInts', () => {
  const codec = codecOf('Book');
  const bytes = codec.encodeToBytes(parseJson('{"colors": ["COLOR_RED"]}'), strict);
  assert.deepEqual(JSON.parse(codec.toJson(bytes, withDefaults)), {
    bookId: '', pages: 0, tags: [], bigNumbers: [], counts: {}, byId: {}, flags: {}, children: {}, parent: null,
    scalars: null, colors: ['COLOR_RED'], many: [],
  });
  assert.equal(codec.toJson(bytes, { emitDefaults: false, enumsAsInts: true }), '{"colors":[1]}');
  const scalars = codecOf('Scalars').toJson(new Uint8Array(0), withDefaults);
  assert.equal(scalars, '{"i32":0,"i64":"0","u32":0,"u64":"0","s32":0,"s64":"0","f32":0,"f64":"0","sf32":0,"sf64":"0","flt":0,"dbl":0,"flag":false,"text":"","data":"","color":"COLOR_UNSPECIFIED"}');
});

test('fieldToJson selects one field', () => {
  const codec = codecOf('Book');
  const bytes = codec.encodeToBytes(parseJson('{"tags": ["a"], "scalars": {"i32": 1}}'), strict);
  assert.equal(codec.fieldToJson(bytes, 'scalars', canonical), '{"i32":1}');
  assert.equal(codec.fieldToJson(bytes, 'tags', canonical), '["a"]');
  assert.equal(codec.fieldToJson(bytes, 'parent', canonical), 'null');
  assert.equal(codec.fieldToJson(bytes, 'book_id', canonical), '""');
});

test('binary input: float printing, merges, oneof last wins, malformed input', () => {
  const w = protobuf.Writer.create();
  w.uint32((11 << 3) | 5).float(0.1); // flt
  w.uint32((12 << 3) | 1).double(-0);
  assert.equal(codecOf('Scalars').toJson(w.finish(), canonical), '{"flt":0.1,"dbl":-0}');
  const b = protobuf.Writer.create();
  b.uint32((15 << 3) | 2).bytes(new Uint8Array([8, 1])); // scalars.i32 = 1
  b.uint32((15 << 3) | 2).bytes(new Uint8Array([16, 2])); // scalars.i64 = 2 (merged)
  b.uint32((11 << 3) | 2).string('isbn');
  b.uint32((12 << 3) | 0).uint32(9); // catalogue_number wins
  b.uint32((99 << 3) | 0).uint32(1); // unknown field, skipped
  assert.equal(codecOf('Book').toJson(b.finish(), canonical), '{"catalogueNumber":"9","scalars":{"i32":1,"i64":"2"}}');
  assert.throws(() => codecOf('Book').toJson(new Uint8Array([0x0a, 5, 1]), canonical));
  assert.throws(() => codecOf('Book').toJson(new Uint8Array([0x0a, 2, 0xc3, 0x28]), canonical), /UTF-8/);
  assert.throws(() => codecOf('Book').toJson(new Uint8Array([0x0f]), canonical), /wire type/);
});

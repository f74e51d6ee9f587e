import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { parseJson } from '../../../src/transcode/json/json-parser.js';
import { canonical, codecOf, registry, roundTrip, strict } from './fixture.js';

test('well-known types round-trip in their special JSON forms', () => {
  const cases: [string, unknown][] = [
    ['{"createdAt": "1972-01-01T10:00:20.021Z"}', { createdAt: '1972-01-01T10:00:20.021Z' }],
    ['{"createdAt": "0001-01-01T00:00:00Z"}', { createdAt: '0001-01-01T00:00:00Z' }],
    ['{"createdAt": "9999-12-31T23:59:59.999999999Z"}', { createdAt: '9999-12-31T23:59:59.999999999Z' }],
    ['{"createdAt": "1970-01-01T02:00:00.1+02:00"}', { createdAt: '1970-01-01T00:00:00.100Z' }],
    ['{"createdAt": "1970-01-01T00:00:00.000001-00:30"}', { createdAt: '1970-01-01T00:30:00.000001Z' }],
    ['{"ttl": "1.5s"}', { ttl: '1.500s' }],
    ['{"ttl": "-0.000000001s"}', { ttl: '-0.000000001s' }],
    ['{"ttl": "315576000000s"}', { ttl: '315576000000s' }],
    ['{"ttl": "0s"}', { ttl: '0s' }],
    ['{"updateMask": "bookId,parent.pageCount"}', { updateMask: 'bookId,parent.pageCount' }],
    ['{"updateMask": ""}', { updateMask: '' }],
    ['{"meta": {"a": [1, "x", null, true, {"b": {}}]}}', { meta: { a: [1, 'x', null, true, { b: {} }] } }],
    ['{"value": null}', { value: null }],
    ['{"value": 1.5}', { value: 1.5 }],
    ['{"list": [[], {}]}', { list: [[], {}] }],
    ['{"values": {"k": null}}', { values: { k: null } }],
    ['{"empty": {}}', { empty: {} }],
    ['{"nullValue": null}', {}],
    ['{"i32": 0, "i64": "-5", "u64": 18446744073709551615, "flag": false, "text": "", "data": "AQ==", "dbl": "NaN", "flt": 1.5, "u32": 7}',
      { i32: 0, i64: '-5', u64: '18446744073709551615', flag: false, text: '', data: 'AQ==', dbl: 'NaN', flt: 1.5, u32: 7 }],
    ['{"i32": null}', {}],
    ['{"times": ["2020-02-29T00:00:00Z"]}', { times: ['2020-02-29T00:00:00Z'] }],
  ];
  for (const [json, expected] of cases) assert.deepEqual(roundTrip('Wkt', json), expected, json);
});

test('Any: regular messages inline, special well-known types under "value"', () => {
  const cases: [string, unknown][] = [
    ['{"any": {}}', { any: {} }],
    ['{"any": {"@type": "type.googleapis.com/protogate.test.json.Book", "bookId": "x", "isbn": "1"}}',
      { any: { '@type': 'type.googleapis.com/protogate.test.json.Book', bookId: 'x', isbn: '1' } }],
    ['{"any": {"bookId": "x", "@type": "type.googleapis.com/protogate.test.json.Book"}}',
      { any: { '@type': 'type.googleapis.com/protogate.test.json.Book', bookId: 'x' } }],
    ['{"any": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"}}',
      { any: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' } }],
    ['{"any": {"@type": "type.googleapis.com/google.protobuf.Value", "value": {"a": null}}}',
      { any: { '@type': 'type.googleapis.com/google.protobuf.Value', value: { a: null } } }],
    ['{"any": {"@type": "x/google.protobuf.Any", "value": {"@type": "x/google.protobuf.Int64Value", "value": "3"}}}',
      { any: { '@type': 'x/google.protobuf.Any', value: { '@type': 'x/google.protobuf.Int64Value', value: '3' } } }],
    ['{"any": {"@type": "x/google.protobuf.Empty"}}', { any: { '@type': 'x/google.protobuf.Empty' } }],
  ];
  for (const [json, expected] of cases) assert.deepEqual(roundTrip('Wkt', json), expected, json);
});

test('well-known types reject malformed values', () => {
  const bad: [string, string][] = [
    ['{"createdAt": "1970-01-01t00:00:00Z"}', 'createdAt'],
    ['{"createdAt": "1970-01-01T00:00:00z"}', 'createdAt'],
    ['{"createdAt": "2021-02-29T00:00:00Z"}', 'createdAt'],
    ['{"createdAt": "0000-12-31T23:59:59Z"}', 'createdAt'],
    ['{"createdAt": "0001-01-01T00:00:00+01:00"}', 'createdAt'],
    ['{"createdAt": "1970-01-01T00:00:00.0000000001Z"}', 'createdAt'],
    ['{"ttl": "1"}', 'ttl'],
    ['{"ttl": "315576000001s"}', 'ttl'],
    ['{"ttl": 1}', 'ttl'],
    ['{"updateMask": "book_id"}', 'updateMask'],
    ['{"meta": []}', 'meta'],
    ['{"list": {}}', 'list'],
    ['{"any": {"@type": "x/nope.Missing"}}', 'any.@type'],
    ['{"any": {"bookId": "x"}}', 'any'],
    ['{"i32": "x"}', 'i32'],
    ['{"u64": -1}', 'u64'],
    ['{"nullValue": "x"}', 'nullValue'],
  ];
  for (const [json, field] of bad) {
    assert.throws(
      () => codecOf('Wkt').encodeToBytes(parseJson(json), strict),
      (e: unknown) => e instanceof GatewayError && (e.details[0] as unknown as { fieldViolations: { field: string }[] }).fieldViolations[0]?.field === field,
      json,
    );
  }
});

test('well-known types without a JSON form fail to print', () => {
  const duration = registry.codec('google.protobuf.Duration');
  const w = protobuf.Writer.create();
  w.uint32(8).int64(1).uint32(16).int32(-1);
  assert.throws(() => duration.toJson(w.finish(), canonical), /sign/);
  const mask = registry.codec('.google.protobuf.FieldMask');
  assert.throws(() => mask.toJson(protobuf.Writer.create().uint32(10).string('fooBar').finish(), canonical));
  assert.throws(() => mask.toJson(protobuf.Writer.create().uint32(10).string('foo__bar').finish(), canonical));
  assert.equal(mask.toJson(protobuf.Writer.create().uint32(10).string('foo_bar.baz').finish(), canonical), '"fooBar.baz"');
});

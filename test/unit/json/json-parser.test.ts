import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { JsonNumber, parseJson } from '../../../src/transcode/json/json-parser.js';

test('parses RFC 8259 values', () => {
  const cases: [string, unknown][] = [
    ['null', null],
    ['true', true],
    [' [1, -2.5e3, "x\\u00e9\\ud83d\\ude00"] ', [1, -2500, 'xé😀']],
    ['{"a":{"b":[]}}', { a: { b: [] } }],
    ['"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\/\b\f\n\r\t'],
  ];
  for (const [text, expected] of cases) assert.deepEqual(JSON.parse(JSON.stringify(parseJson(text))), expected, text);
});

test('objects have a null prototype; "__proto__" is data', () => {
  const v = parseJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), null);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('keeps lexemes of numbers a double cannot hold', () => {
  const v = parseJson('[9223372036854775807, 1e400, 1.00000000000000001, 12]') as unknown[];
  assert.deepEqual(v[0], new JsonNumber('9223372036854775807'));
  assert.deepEqual(v[1], new JsonNumber('1e400'));
  assert.deepEqual(v[2], new JsonNumber('1.00000000000000001'));
  assert.equal(v[3], 12);
});

test('rejects invalid JSON with PG_BAD_JSON and an offset', () => {
  const bad = [
    '', '{', '[1,]', '{"a":1,}', '01', '-01', '+1', '1.', '.5', 'NaN', 'Infinity', '[1] x', '// c\n1', "'a'",
    '"\\ud800"', '"\\udc00x"', '"\\ud800\\u0041"', '"a\u0001"', '{"a":1,"a":2}', '"\\x"', 'tru', '{1:2}',
  ];
  for (const text of bad) {
    assert.throws(() => parseJson(text), (e: unknown) => e instanceof GatewayError && e.reason === 'PG_BAD_JSON', text);
  }
  assert.throws(() => parseJson('[1,]'), /offset 3/);
});

test('rejects invalid UTF-8 and lone surrogates in raw strings', () => {
  assert.throws(() => parseJson(new Uint8Array([0x22, 0xc3, 0x28, 0x22])), /UTF-8/);
  assert.throws(() => parseJson('"\ud800"'), /surrogate/);
  assert.equal(parseJson(new TextEncoder().encode('"é"')), 'é');
});

test('enforces the depth limit', () => {
  assert.doesNotThrow(() => parseJson('[[[]]]', { maxDepth: 3 }));
  assert.throws(() => parseJson('[[[[]]]]', { maxDepth: 3 }), /deeper than 3/);
  assert.throws(() => parseJson('['.repeat(101) + ']'.repeat(101)), /deeper than 100/);
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseGrpcTimeout } from '../../../src/upstream/grpc-timeout.js';

// PROTOCOL-HTTP2.md: grpc-timeout = 1–8 ASCII digits followed by one of H M S m u n.
const cases: ReadonlyArray<readonly [string, number | undefined]> = [
  ['1H', 3_600_000],
  ['2M', 120_000],
  ['5S', 5000],
  ['100m', 100],
  ['0m', 0],
  ['00000001S', 1000], // leading zeros count towards the 8 digits
  ['99999999m', 99_999_999],
  ['99999999H', 99_999_999 * 3_600_000],
  ['1000u', 1],
  ['1500u', 2], // sub-ms rounds up
  ['1u', 1],
  ['0u', 0],
  ['1n', 1],
  ['1000000n', 1],
  ['2500000n', 3],
  ['', undefined],
  ['S', undefined],
  ['10', undefined],
  ['100ms', undefined],
  ['100 m', undefined],
  [' 100m', undefined],
  ['100m ', undefined],
  ['-1S', undefined],
  ['+1S', undefined],
  ['1.5S', undefined],
  ['123456789S', undefined], // 9 digits
  ['1s', undefined], // units are case-sensitive: 's' is not a unit
  ['1h', undefined],
  ['1x', undefined],
  ['١S', undefined], // non-ASCII digit
];

describe('parseGrpcTimeout', () => {
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${expected}`, () => {
      assert.equal(parseGrpcTimeout(value), expected);
    });
  }
});

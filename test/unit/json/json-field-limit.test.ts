// The parser's field-count bound (json.maxFields): members and elements across the document.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { parseJson } from '../../../src/transcode/json/json-parser.js';

describe('parseJson maxFields', () => {
  const cases: Array<[json: string, fields: number]> = [
    ['{}', 0],
    ['[]', 0],
    ['"x"', 0],
    ['{"a":1}', 1],
    ['[1,2,3]', 3],
    ['{"a":[1,2],"b":{"c":null}}', 5], // a, b, two elements, c
    ['[[],[[]],{}]', 4],
  ];
  for (const [json, fields] of cases) {
    it(`${json} has ${fields}`, () => {
      assert.doesNotThrow(() => parseJson(json, { maxFields: fields }));
      if (fields > 0) {
        assert.throws(
          () => parseJson(json, { maxFields: fields - 1 }),
          (error: unknown) => error instanceof GatewayError && error.reason === 'PG_BAD_JSON' && /more than \d+ object members and array elements \(limit json\.maxFields\)/.test(error.message),
        );
      }
    });
  }

  it('stops early: the error comes before the rest of a huge array is read', () => {
    // everything after the limit is invalid JSON; a parser that read on would report that instead
    const text = `[${'1,'.repeat(10)}${'x'.repeat(1000)}]`;
    assert.throws(() => parseJson(text, { maxFields: 5 }), /json\.maxFields/);
  });

  it('has no limit unless asked', () => {
    assert.equal((parseJson(`[${Array(200_000).fill(0).join(',')}]`) as unknown[]).length, 200_000);
  });
});

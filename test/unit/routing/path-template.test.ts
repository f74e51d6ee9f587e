import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PathTemplate } from '../../../src/routing/path-template.js';
import { parsePathTemplate, templateShapeKey } from '../../../src/routing/path-template.js';
import { seededRandom } from '../../helpers/seeded-random.js';

function parse(source: string): PathTemplate {
  const result = parsePathTemplate(source);
  if (!result.ok) assert.fail(`${source}: ${result.message} at ${result.offset}`);
  return result.template;
}

/** Compact rendering of segments: literal text, `*`, `**`. */
function shape(t: PathTemplate): string {
  return t.segments.map((s) => (s.kind === 'literal' ? s.value : s.kind === 'wildcard' ? '*' : '**')).join('/');
}

describe('parsePathTemplate accepts', () => {
  const cases: Array<{
    source: string;
    segments: string;
    verb?: string;
    variables?: Array<[path: string, start: number, end: number, multi: boolean]>;
  }> = [
    { source: '/v1', segments: 'v1' },
    { source: '/v1/shelves', segments: 'v1/shelves' },
    { source: '/v1/*', segments: 'v1/*' },
    { source: '/v1/**', segments: 'v1/**' },
    { source: '/**', segments: '**' },
    { source: '/v1/{name}', segments: 'v1/*', variables: [['name', 1, 2, false]] },
    { source: '/v1/{name=*}', segments: 'v1/*', variables: [['name', 1, 2, false]] },
    { source: '/v1/{name=shelf}', segments: 'v1/shelf', variables: [['name', 1, 2, false]] },
    { source: '/v1/{book.name=shelves/*}', segments: 'v1/shelves/*', variables: [['book.name', 1, 3, true]] },
    { source: '/v1/{name=**}', segments: 'v1/**', variables: [['name', 1, 2, true]] },
    {
      source: '/v1/{parent=shelves/*}/books/{book_id}',
      segments: 'v1/shelves/*/books/*',
      variables: [
        ['parent', 1, 3, true],
        ['book_id', 4, 5, false],
      ],
    },
    { source: '/v1/{name=shelves/**}/books', segments: 'v1/shelves/**/books', variables: [['name', 1, 3, true]] },
    { source: '/v1/{name=**}/foo/bar', segments: 'v1/**/foo/bar', variables: [['name', 1, 2, true]] },
    { source: '/v1/**/x/{y=lit}', segments: 'v1/**/x/lit', variables: [['y', 3, 4, false]] },
    { source: '/v1/x:verb', segments: 'v1/x', verb: 'verb' },
    { source: '/v1/{name}:cancel', segments: 'v1/*', verb: 'cancel', variables: [['name', 1, 2, false]] },
    { source: '/v1/**:batchGet', segments: 'v1/**', verb: 'batchGet' },
    {
      source: '/v1/{name=projects/*/secrets/*/versions/*}:access',
      segments: 'v1/projects/*/secrets/*/versions/*',
      verb: 'access',
      variables: [['name', 1, 7, true]],
    },
    { source: "/v1/a-b.c_d~e!$&'()+,;=@", segments: "v1/a-b.c_d~e!$&'()+,;=@" },
    { source: '/v1/caf%C3%A9', segments: 'v1/café' },
    { source: '/v1/a%2Fb', segments: 'v1/a/b' },
    { source: '/v1/{_x.y_1.Z}', segments: 'v1/*', variables: [['_x.y_1.Z', 1, 2, false]] },
  ];
  for (const c of cases) {
    it(c.source, () => {
      const t = parse(c.source);
      assert.equal(t.source, c.source);
      assert.equal(shape(t), c.segments);
      assert.equal(t.verb, c.verb);
      assert.deepEqual(
        t.variables.map((v) => [v.fieldPath.join('.'), v.startSegment, v.endSegment, v.multiSegment]),
        c.variables ?? [],
      );
    });
  }
});

describe('parsePathTemplate rejects', () => {
  const cases: Array<[source: string, offset: number, message: RegExp]> = [
    ['', 0, /empty/],
    ['v1/x', 0, /must begin with "\/"/],
    ['/', 1, /empty segment/],
    ['/v1/', 4, /empty segment/],
    ['/v1//x', 4, /empty segment/],
    ['/:verb', 1, /empty segment/],
    ['/v1/x:', 6, /empty custom verb/],
    ['/v1/x:a:b', 7, /verb must be the last/],
    ['/v1/x:a/b', 7, /unexpected "\/"/],
    ['/v1/{name', 4, /unbalanced "\{"/],
    ['/v1/{name=*', 4, /unbalanced "\{"/],
    ['/v1/{name=*/x', 4, /unbalanced "\{"/],
    ['/v1/name}', 8, /unbalanced "\}"/],
    ['/v1/}', 4, /unbalanced "\}"/],
    ['/v1/{a={b}}', 7, /nested variables/],
    ['/v1/{a=x/{b}}', 9, /nested variables/],
    ['/v1/{}', 5, /field name/],
    ['/v1/{1a}', 5, /field name/],
    ['/v1/{a.}', 7, /field name/],
    ['/v1/{a..b}', 7, /field name/],
    ['/v1/{a-b}', 6, /expected "\}"/],
    ['/v1/{a=}', 7, /empty segment/],
    ['/v1/{a}/{a}', 9, /"a" appears more than once/],
    ['/v1/{a.b}/x/{a.b=**}', 13, /"a.b" appears more than once/],
    ['/v1/**/*', 7, /only literal segments may follow "\*\*"/],
    ['/v1/**/**', 7, /only literal segments may follow/],
    ['/v1/{a=**}/{b}', 11, /only literal segments may follow/],
    ['/v1/**/x/{b=*}', 12, /only literal segments may follow/],
    ['/v1/***', 4, /whole segment/],
    ['/v1/a*', 5, /whole segment/],
    ['/v1/*a', 4, /whole segment/],
    ['/v1/a{b}', 5, /variable must be a whole segment/],
    ['/v1/a b', 5, /" " is not allowed/],
    ['/v1/a?b', 5, /"\?" is not allowed/],
    ['/v1/a#b', 5, /"#" is not allowed/],
    ['/v1/é', 4, /"é" is not allowed/],
    ['/v1/%zz', 4, /malformed percent/],
    ['/v1/%4', 4, /malformed percent/],
    ['/v1/ab%', 6, /malformed percent/],
    ['/v1/%C3', 4, /UTF-8/],
    ['/v1/%FF%FE', 4, /UTF-8/],
    ['/v1/x:a b', 7, /not allowed in a verb/],
  ];
  for (const [source, offset, message] of cases) {
    it(JSON.stringify(source), () => {
      const result = parsePathTemplate(source);
      assert.equal(result.ok, false, `${source} should be rejected`);
      if (result.ok) return;
      assert.match(result.message, message);
      assert.equal(result.offset, offset, `offset for ${source}: ${result.message}`);
    });
  }
});

describe('templateShapeKey', () => {
  const same: Array<[string, string]> = [
    ['/v1/{a}', '/v1/*'],
    ['/v1/{a}', '/v1/{b=*}'],
    ['/v1/{a=shelves/*}/books', '/v1/shelves/{b}/books'],
    ['/v1/{a=**}', '/v1/**'],
    ['/v1/%61bc', '/v1/abc'],
    ['/v1/{x}:go', '/v1/*:go'],
  ];
  const different: Array<[string, string]> = [
    ['/v1/*', '/v1/**'],
    ['/v1/*', '/v1/x'],
    ['/v1/{a}', '/v1/{a}:go'],
    ['/v1/{a}:go', '/v1/{a}:stop'],
    ['/v1/%2A', '/v1/*'],
    ['/v1/a/b', '/v1/a%2Fb'],
    ['/v1/x', '/v1/x/y'],
  ];
  for (const [a, b] of same) {
    it(`${a} ≡ ${b}`, () => assert.equal(templateShapeKey(parse(a)), templateShapeKey(parse(b))));
  }
  for (const [a, b] of different) {
    it(`${a} ≢ ${b}`, () => assert.notEqual(templateShapeKey(parse(a)), templateShapeKey(parse(b))));
  }
});

describe('parsePathTemplate fuzz (fixed seed)', () => {
  it('never throws on random input; every accepted template is self-consistent', () => {
    const random = seededRandom(0x5eed);
    const alphabet = ['/', '/', '/', '{', '}', '=', '*', '**', ':', '.', 'a', 'b', 'v1', '_', '%', '2F', 'zz', '%C3%A9', ' ', '1', 'é', '\u0000'];
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      let source = random() < 0.9 ? '/' : '';
      const length = Math.floor(random() * 14);
      for (let i = 0; i < length; i++) source += alphabet[Math.floor(random() * alphabet.length)];
      const result = parsePathTemplate(source);
      assert.equal(typeof result.ok, 'boolean');
      if (!result.ok) {
        assert.ok(result.offset >= 0 && result.offset <= source.length, `offset in range for ${source}`);
        assert.ok(result.message.length > 0);
        continue;
      }
      accepted++;
      const t = result.template;
      assert.ok(t.segments.length > 0);
      for (const v of t.variables) {
        assert.ok(v.startSegment < v.endSegment && v.endSegment <= t.segments.length, source);
      }
      // The shape key is stable: parsing again gives the same key.
      const again = parsePathTemplate(source);
      assert.ok(again.ok);
      assert.equal(templateShapeKey(again.template), templateShapeKey(t));
    }
    assert.ok(accepted > 100, `fuzz should also produce valid templates (got ${accepted})`);
  });
});

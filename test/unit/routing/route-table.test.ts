import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePathTemplate } from '../../../src/routing/path-template.js';
import type { MatchResult } from '../../../src/routing/route-table.js';
import { RouteTable } from '../../../src/routing/route-table.js';
import { seededRandom } from '../../helpers/seeded-random.js';

/** Builds a table whose routes are named "METHOD template". */
function table(rules: ReadonlyArray<readonly [method: string, template: string]>): RouteTable<string> {
  const t = new RouteTable<string>();
  for (const [method, source] of rules) {
    const parsed = parsePathTemplate(source);
    if (!parsed.ok) assert.fail(`${source}: ${parsed.message}`);
    t.add(method, parsed.template, `${method} ${source}`);
  }
  return t;
}

/** Renders a result compactly: "route name=value …", "405 A,B", "404", "400". */
function render(result: MatchResult<string>): string {
  switch (result.kind) {
    case 'found':
      return [result.route, ...result.bindings.map(([path, value]) => `${path.join('.')}=${value}`)].join(' ');
    case 'method-not-allowed':
      return `405 ${result.allow.join(',')}`;
    case 'not-found':
      return '404';
    case 'bad-path':
      return '400';
  }
}

type Case = readonly [method: string, path: string, expected: string];

function check(rules: ReadonlyArray<readonly [string, string]>, cases: readonly Case[]): void {
  // Registration order must never matter: run every case against the rules forwards and reversed.
  const tables = [table(rules), table([...rules].reverse())];
  for (const [method, path, expected] of cases) {
    it(`${method} ${path} → ${expected}`, () => {
      for (const t of tables) assert.equal(render(t.match(method, path)), expected);
    });
  }
}

describe('specificity: literal > * > **, never registration order', () => {
  check(
    [
      ['GET', '/v1/shelves/{shelf}'],
      ['GET', '/v1/shelves/special'],
      ['GET', '/v1/{name=**}'],
      ['GET', '/v1/*/books'],
      ['GET', '/v1/shelves/books'],
    ],
    [
      ['GET', '/v1/shelves/special', 'GET /v1/shelves/special'],
      ['GET', '/v1/shelves/other', 'GET /v1/shelves/{shelf} shelf=other'],
      ['GET', '/v1/shelves/books', 'GET /v1/shelves/books'],
      ['GET', '/v1/x/books', 'GET /v1/*/books'],
      ['GET', '/v1/x/y/z', 'GET /v1/{name=**} name=x/y/z'],
      ['GET', '/v1/shelves', 'GET /v1/{name=**} name=shelves'],
      ['GET', '/v1', 'GET /v1/{name=**} name='],
    ],
  );
});

describe('backtracking', () => {
  check(
    [
      ['GET', '/a/b/c'],
      ['GET', '/a/*/d'],
      ['GET', '/a/**'],
      ['GET', '/x/{p}/y/z'],
      ['GET', '/x/lit/y/{q}'],
      ['POST', '/m/lit'],
      ['GET', '/m/{v}'],
    ],
    [
      // literal b matches, c fails at depth 3 → back to `*`.
      ['GET', '/a/b/d', 'GET /a/*/d'],
      // neither b/c nor */d → `**`.
      ['GET', '/a/b/e', 'GET /a/**'],
      ['GET', '/a/b/c', 'GET /a/b/c'],
      ['GET', '/a/b/c/d', 'GET /a/**'],
      ['GET', '/x/lit/y/z', 'GET /x/lit/y/{q} q=z'],
      ['GET', '/x/other/y/z', 'GET /x/{p}/y/z p=other'],
      // the literal branch only has POST: GET backtracks to `{v}`.
      ['GET', '/m/lit', 'GET /m/{v} v=lit'],
      ['POST', '/m/lit', 'POST /m/lit'],
      ['POST', '/m/other', '405 GET'],
    ],
  );
});

describe('** followed by literals (Envoy: only literals may follow **)', () => {
  check(
    [
      ['GET', '/v1/{name=shelves/**}/books'],
      ['GET', '/v1/{name=shelves/**}/books/count'],
      ['GET', '/v1/{name=**}/foo'],
      ['GET', '/v1/{name=**}:get'],
      ['GET', '/r/{x=**}/a'],
      ['GET', '/r/{x=**}/a/a'],
      ['GET', '/s/**/t/{leaf=u}'],
    ],
    [
      ['GET', '/v1/shelves/1/books', 'GET /v1/{name=shelves/**}/books name=shelves/1'],
      ['GET', '/v1/shelves/1/2/3/books', 'GET /v1/{name=shelves/**}/books name=shelves/1/2/3'],
      ['GET', '/v1/shelves/books', 'GET /v1/{name=shelves/**}/books name=shelves'],
      ['GET', '/v1/shelves/books/books', 'GET /v1/{name=shelves/**}/books name=shelves/books'],
      ['GET', '/v1/shelves/1/books/count', 'GET /v1/{name=shelves/**}/books/count name=shelves/1'],
      ['GET', '/v1/shelves/1/books/other', '404'],
      ['GET', '/v1/a/b/foo', 'GET /v1/{name=**}/foo name=a/b'],
      ['GET', '/v1/foo', 'GET /v1/{name=**}/foo name='],
      ['GET', '/v1/a/b:get', 'GET /v1/{name=**}:get name=a/b'],
      // `**` takes as few segments as possible, so literals win the earlier segments.
      ['GET', '/r/a/a', 'GET /r/{x=**}/a/a x='],
      ['GET', '/r/z/a', 'GET /r/{x=**}/a x=z'],
      ['GET', '/r/a/a/a', 'GET /r/{x=**}/a/a x=a'],
      ['GET', '/s/1/2/t/u', 'GET /s/**/t/{leaf=u} leaf=u'],
      ['GET', '/s/t/u', 'GET /s/**/t/{leaf=u} leaf=u'],
    ],
  );
});

describe('custom verbs', () => {
  check(
    [
      ['GET', '/v1/{name=projects/*/secrets/*/versions/*}'],
      ['GET', '/v1/{name=projects/*/secrets/*/versions/*}:access'],
      ['POST', '/v1/{name=operations/*}:cancel'],
      ['GET', '/v1/files/{file}'],
      ['GET', '/v1/static:list'],
    ],
    [
      ['GET', '/v1/projects/p/secrets/s/versions/2:access', 'GET /v1/{name=projects/*/secrets/*/versions/*}:access name=projects/p/secrets/s/versions/2'],
      ['GET', '/v1/projects/p/secrets/s/versions/2', 'GET /v1/{name=projects/*/secrets/*/versions/*} name=projects/p/secrets/s/versions/2'],
      ['POST', '/v1/operations/op1:cancel', 'POST /v1/{name=operations/*}:cancel name=operations/op1'],
      ['GET', '/v1/operations/op1:cancel', '405 POST'],
      // a route with a verb never matches a request without one, and vice versa.
      ['POST', '/v1/operations/op1', '404'],
      ['GET', '/v1/static', '404'],
      ['GET', '/v1/static:list', 'GET /v1/static:list'],
      // an undeclared verb stays part of the segment.
      ['GET', '/v1/files/a:b', 'GET /v1/files/{file} file=a:b'],
      ['GET', '/v1/files/a:b:c', 'GET /v1/files/{file} file=a:b:c'],
      // a declared verb splits (Envoy); the client encodes the colon to keep it in the value.
      ['GET', '/v1/files/a:cancel', '404'],
      ['GET', '/v1/files/a%3Acancel', 'GET /v1/files/{file} file=a:cancel'],
      // ':' before the last '/' is never a verb.
      ['GET', '/v1/projects/p:access/secrets/s/versions/2', 'GET /v1/{name=projects/*/secrets/*/versions/*} name=projects/p:access/secrets/s/versions/2'],
      ['GET', '/v1/projects/p/secrets/s/versions/:access', '404'],
    ],
  );
});

describe('percent-decoding', () => {
  check(
    [
      ['GET', '/one/{v}'],
      ['GET', '/many/{v=**}'],
      ['GET', '/two/{v=a/*}'],
      ['GET', '/lit/a b/{v}'.replace(' ', '%20')],
      ['GET', '/slash/a%2Fb'],
      ['GET', '/plus/a+b'],
    ],
    [
      ['GET', '/one/a%2Fb', 'GET /one/{v} v=a/b'],
      ['GET', '/one/a%2fb', 'GET /one/{v} v=a/b'],
      ['GET', '/one/a%252Fb', 'GET /one/{v} v=a%2Fb'],
      ['GET', '/one/a+b', 'GET /one/{v} v=a+b'],
      ['GET', '/one/a%2Bb', 'GET /one/{v} v=a+b'],
      ['GET', '/one/a%20b', 'GET /one/{v} v=a b'],
      ['GET', '/one/caf%C3%A9', 'GET /one/{v} v=café'],
      ['GET', '/one/%F0%9F%98%80', 'GET /one/{v} v=😀'],
      ['GET', '/one/%E2%82%AC%3A%3F', 'GET /one/{v} v=€:?'],
      ['GET', '/many/a%2Fb/c', 'GET /many/{v=**} v=a%2Fb/c'],
      ['GET', '/many/a%2fb/c', 'GET /many/{v=**} v=a%2fb/c'],
      ['GET', '/many/a%252Fb', 'GET /many/{v=**} v=a%2Fb'],
      ['GET', '/many/caf%C3%A9/%20x', 'GET /many/{v=**} v=café/ x'],
      ['GET', '/many/a+b', 'GET /many/{v=**} v=a+b'],
      // a single segment through `**` is still a multi-segment variable.
      ['GET', '/many/x%2Fy', 'GET /many/{v=**} v=x%2Fy'],
      ['GET', '/two/a/x%2Fy', 'GET /two/{v=a/*} v=a/x%2Fy'],
      // literals compare with the decoded segment.
      ['GET', '/two/%61/x', 'GET /two/{v=a/*} v=a/x'],
      ['GET', '/lit/a%20b/1', 'GET /lit/a%20b/{v} v=1'],
      // %2F never separates segments: it is part of one segment, matching a literal a%2Fb.
      ['GET', '/slash/a%2Fb', 'GET /slash/a%2Fb'],
      ['GET', '/slash/a%2fb', 'GET /slash/a%2Fb'],
      ['GET', '/slash/a/b', '404'],
      ['GET', '/plus/a+b', 'GET /plus/a+b'],
      ['GET', '/plus/a%2Bb', 'GET /plus/a+b'],
      ['GET', '/plus/a%20b', '404'],
      // malformed escapes and bytes that are not UTF-8.
      ['GET', '/one/%zz', '400'],
      ['GET', '/one/%4', '400'],
      ['GET', '/one/ab%', '400'],
      ['GET', '/one/%C3', '400'],
      ['GET', '/one/%C3%28', '400'],
      ['GET', '/one/%ED%A0%80', '400'],
      ['GET', '/one/%C0%AF', '400'],
      ['GET', '/unknown/%zz', '400'],
    ],
  );
});

describe('404, 405 and odd paths', () => {
  check(
    [
      ['GET', '/v1/books/{id}'],
      ['DELETE', '/v1/books/{id}'],
      ['PATCH', '/v1/{name=books/*}'],
      ['HEAD', '/v1/books/{id}'],
      ['OPTIONS', '/v1/**'],
      ['PURGE', '/cache/{key}'],
    ],
    [
      ['GET', '/v1/books/1', 'GET /v1/books/{id} id=1'],
      ['PATCH', '/v1/books/1', 'PATCH /v1/{name=books/*} name=books/1'],
      ['HEAD', '/v1/books/1', 'HEAD /v1/books/{id} id=1'],
      ['PURGE', '/cache/k', 'PURGE /cache/{key} key=k'],
      ['OPTIONS', '/v1/books/1', 'OPTIONS /v1/**'],
      ['POST', '/v1/books/1', '405 DELETE,GET,HEAD,OPTIONS,PATCH'],
      ['PUT', '/v1/anything/at/all', '405 OPTIONS'],
      ['GET', '/cache/k', '405 PURGE'],
      ['get', '/v1/books/1', '405 DELETE,GET,HEAD,OPTIONS,PATCH'],
      ['GET', '/v2/books/1', '404'],
      ['GET', '/v1/books/1/', '404'],
      ['GET', '/v1//books/1', '404'],
      ['GET', '//v1/books/1', '404'],
      ['GET', '/', '404'],
      ['GET', '', '400'],
      ['GET', 'v1/books/1', '400'],
      ['GET', '*', '400'],
    ],
  );
  it('"/" matches a lone ** template', () => {
    assert.equal(render(table([['GET', '/{rest=**}']]).match('GET', '/')), 'GET /{rest=**} rest=');
  });
  it('allow is sorted and unique across several matching templates', () => {
    const t = table([
      ['POST', '/a/{x}'],
      ['POST', '/a/b'],
      ['DELETE', '/a/**'],
      ['POST', '/**'],
    ]);
    assert.deepEqual(t.match('GET', '/a/b'), { kind: 'method-not-allowed', allow: ['DELETE', 'POST'] });
  });
});

describe('RouteTable.add', () => {
  const duplicates: Array<[string, string]> = [
    ['/v1/{a}', '/v1/{b}'],
    ['/v1/{a}', '/v1/*'],
    ['/v1/{a=*}', '/v1/{b}'],
    ['/v1/{name=shelves/*}', '/v1/shelves/{shelf}'],
    ['/v1/{a=**}', '/v1/**'],
    ['/v1/abc', '/v1/%61bc'],
    ['/v1/{a}:go', '/v1/{b}:go'],
  ];
  for (const [first, second] of duplicates) {
    it(`rejects ${first} then ${second} under the same method`, () => {
      const t = table([['GET', first]]);
      const parsed = parsePathTemplate(second);
      assert.ok(parsed.ok);
      assert.throws(() => t.add('GET', parsed.template, 'dup'), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /duplicates/);
        assert.ok(err.message.includes(first) && err.message.includes(second), err.message);
        return true;
      });
      // the same template under another method is fine.
      t.add('POST', parsed.template, 'post');
    });
  }
  const distinct: Array<[string, string]> = [
    ['/v1/*', '/v1/**'],
    ['/v1/{a}', '/v1/{a}:go'],
    ['/v1/{a}:go', '/v1/{a}:stop'],
    ['/v1/x', '/v1/{a}'],
  ];
  for (const [first, second] of distinct) {
    it(`accepts ${first} and ${second} together`, () => {
      table([
        ['GET', first],
        ['GET', second],
      ]);
    });
  }
  it('rejects a method that is not an HTTP token', () => {
    const parsed = parsePathTemplate('/x');
    assert.ok(parsed.ok);
    for (const method of ['', 'GE T', 'GET\n', 'GÉT']) {
      assert.throws(() => new RouteTable<string>().add(method, parsed.template, 'x'), /not a valid HTTP method/);
    }
  });
});

describe('RouteTable.match fuzz (fixed seed)', () => {
  it('never throws on random paths, and found routes bind every variable', () => {
    const t = table([
      ['GET', '/v1/{name=shelves/*}/books/{book}'],
      ['GET', '/v1/{name=shelves/**}/books'],
      ['POST', '/v1/shelves/{shelf}:move'],
      ['GET', '/v1/**:list'],
      ['DELETE', '/v1/{a}/{b}/{c}'],
      ['GET', '/{x=**}/z'],
      ['PUT', '/a/b'],
    ]);
    const random = seededRandom(0xface);
    const alphabet = ['/', '/', 'v1', 'shelves', 'books', 'a', 'b', 'z', ':', ':move', ':list', '%', '%2F', '%2f', '%25', '%C3%A9', '%C3', 'zz', '+', '.', '..', ' ', 'é', '?'];
    const methods = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH'];
    const counts = new Map<string, number>();
    for (let n = 0; n < 20_000; n++) {
      let path = random() < 0.95 ? '/' : '';
      const length = Math.floor(random() * 12);
      for (let i = 0; i < length; i++) path += alphabet[Math.floor(random() * alphabet.length)];
      const method = methods[Math.floor(random() * methods.length)]!;
      const result = t.match(method, path);
      counts.set(result.kind, (counts.get(result.kind) ?? 0) + 1);
      if (result.kind === 'found') {
        const declared = result.route.slice(result.route.indexOf(' ') + 1).match(/\{/g)?.length ?? 0;
        assert.equal(result.bindings.length, declared, `${method} ${path}`);
        assert.ok(result.route.startsWith(`${method} `), `${method} ${path} → ${result.route}`);
      } else if (result.kind === 'method-not-allowed') {
        assert.ok(result.allow.length > 0 && !result.allow.includes(method));
      }
    }
    for (const kind of ['found', 'not-found', 'bad-path', 'method-not-allowed']) {
      assert.ok((counts.get(kind) ?? 0) > 0, `fuzz should reach ${kind}: ${JSON.stringify([...counts])}`);
    }
  });
});

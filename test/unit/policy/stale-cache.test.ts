// The stale cache's bounds (entries, bytes per entry, bytes in all, age), the request
// Cache-Control directives it obeys, and the ETag / If-None-Match comparison.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entityTag, noneMatchHits } from '../../../src/policy/entity-tag.js';
import { cacheKey } from '../../../src/policy/get-caching.js';
import { StaleCache, clientCacheDirectives, type StaleEntry } from '../../../src/policy/stale-cache.js';

const entry = (body: string, storedAt = 0): StaleEntry => ({ body, headers: {}, etag: '', storedAt, bytes: Buffer.byteLength(body) });
const options = { maxEntries: 3, maxBodyBytes: 10, maxTotalBytes: 20, maxStaleMs: 1000 };

describe('StaleCache', () => {
  it('evicts the least recently used entry past maxEntries; a lookup counts as a use', () => {
    const cache = new StaleCache(options);
    cache.store('a', entry('1'));
    cache.store('b', entry('2'));
    cache.store('c', entry('3'));
    assert.ok(cache.lookup('a', 0));
    cache.store('d', entry('4'));
    assert.equal(cache.size, 3);
    assert.equal(cache.lookup('b', 0), undefined, 'b was the least recently used');
    assert.ok(cache.lookup('a', 0) && cache.lookup('c', 0) && cache.lookup('d', 0));
  });

  it('keeps no body over maxBodyBytes (and drops the older answer of that key), and stays under maxTotalBytes', () => {
    const cache = new StaleCache(options);
    cache.store('a', entry('small'));
    cache.store('a', entry('x'.repeat(11)));
    assert.equal(cache.lookup('a', 0), undefined);
    assert.equal(cache.bytes, 0);
    cache.store('b', entry('x'.repeat(10)));
    cache.store('c', entry('y'.repeat(10)));
    cache.store('d', entry('z'.repeat(5)));
    assert.equal(cache.bytes, 15);
    assert.equal(cache.lookup('b', 0), undefined);
    assert.equal(cache.lookup('c', 0)?.body, 'y'.repeat(10));
  });

  it('replaces an entry and counts its bytes once', () => {
    const cache = new StaleCache(options);
    cache.store('a', entry('12345'));
    cache.store('a', entry('123'));
    assert.equal(cache.bytes, 3);
    assert.equal(cache.size, 1);
  });

  it('never returns an entry older than maxStale (and drops it), nor older than the asked age', () => {
    const cache = new StaleCache(options);
    cache.store('a', entry('1', 1000));
    assert.ok(cache.lookup('a', 2000), 'exactly maxStale old');
    assert.equal(cache.lookup('a', 1500, 400), undefined, 'the client asked for at most 400 ms');
    assert.equal(cache.size, 1);
    assert.equal(cache.lookup('a', 2001), undefined);
    assert.equal(cache.size, 0);
  });
});

describe('clientCacheDirectives', () => {
  const cases: Array<[string | undefined, string | undefined, { noStore: boolean; noCache: boolean; maxStaleMs: number }]> = [
    [undefined, undefined, { noStore: false, noCache: false, maxStaleMs: Infinity }],
    ['no-cache', undefined, { noStore: false, noCache: true, maxStaleMs: Infinity }],
    ['max-age=0, No-Store', undefined, { noStore: true, noCache: false, maxStaleMs: Infinity }],
    ['max-stale=30', undefined, { noStore: false, noCache: false, maxStaleMs: 30_000 }],
    ['max-stale="5"', undefined, { noStore: false, noCache: false, maxStaleMs: 5_000 }],
    ['max-stale', undefined, { noStore: false, noCache: false, maxStaleMs: Infinity }],
    ['max-stale=-1, max-stale=abc', undefined, { noStore: false, noCache: false, maxStaleMs: Infinity }],
    [undefined, 'no-cache', { noStore: false, noCache: true, maxStaleMs: Infinity }],
    // RFC 9111 §5.4: Pragma is ignored when Cache-Control is present
    ['max-stale=10', 'no-cache', { noStore: false, noCache: false, maxStaleMs: 10_000 }],
    [undefined, 'x-no-cache-please', { noStore: false, noCache: false, maxStaleMs: Infinity }],
  ];
  for (const [cacheControl, pragma, expected] of cases) {
    it(`Cache-Control ${cacheControl ?? '(none)'}, Pragma ${pragma ?? '(none)'}`, () => {
      assert.deepEqual({ ...clientCacheDirectives(cacheControl, pragma) }, expected);
    });
  }
});

describe('entity tags', () => {
  it('are weak, stable, and differ between bodies', () => {
    const tag = entityTag('{"a":1}');
    assert.match(tag, /^W\/"[A-Za-z0-9_-]{22}"$/);
    assert.equal(entityTag('{"a":1}'), tag);
    assert.notEqual(entityTag('{"a":2}'), tag);
  });

  it('If-None-Match compares weakly, accepts lists and *, and ignores other tags', () => {
    const tag = entityTag('body');
    const opaque = tag.slice(2);
    assert.equal(noneMatchHits(tag, tag), true);
    assert.equal(noneMatchHits(opaque, tag), true);
    assert.equal(noneMatchHits(`"x", W/"y" ,${tag}`, tag), true);
    assert.equal(noneMatchHits(['"x"', opaque], tag), true);
    assert.equal(noneMatchHits('*', tag), true);
    assert.equal(noneMatchHits('"x"', tag), false);
    assert.equal(noneMatchHits(undefined, tag), false);
    assert.equal(noneMatchHits('', tag), false);
  });
});

describe('cacheKey', () => {
  it('is the URL for public routes and puts the principal, length-prefixed, in front otherwise', () => {
    assert.equal(cacheKey('/v1/a', '', undefined), '/v1/a');
    assert.equal(cacheKey('/v1/a', 'x=1', undefined), '/v1/a?x=1');
    assert.equal(cacheKey('/v1/a', 'x=1', 'bob'), '3:bob/v1/a?x=1');
    assert.notEqual(cacheKey('/a', '', 'b/'), cacheKey('/', '', 'b/a'));
  });
});

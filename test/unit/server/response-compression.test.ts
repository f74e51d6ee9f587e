// Accept-Encoding negotiation (RFC 9110 §12.5.3) and the compressor's output, table-driven.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { compressibleType, ASYNC_COMPRESSION_BYTES, createResponseCompressor, negotiateEncoding, parseAcceptEncoding } from '../../../src/server/response-compression.js';

describe('negotiateEncoding', () => {
  const both = ['br', 'gzip'] as const;
  const cases: Array<[header: string, offered: ReadonlyArray<'br' | 'gzip'>, expected: 'br' | 'gzip' | undefined]> = [
    ['gzip, deflate, br, zstd', both, 'br'], // a browser: equal weights, the server's order decides
    ['gzip, deflate, br, zstd', ['gzip', 'br'], 'gzip'],
    ['gzip', both, 'gzip'],
    ['br;q=0.5, gzip;q=0.8', both, 'gzip'],
    ['br;q=1.0, gzip;q=0.999', both, 'br'],
    ['br;q=0, gzip', both, 'gzip'], // q=0 refuses br
    ['br;q=0, gzip;q=0', both, undefined],
    ['*', both, 'br'],
    ['*;q=0.1, br;q=0', both, 'gzip'], // gzip takes the weight of *
    ['*;q=0', both, undefined],
    ['identity', both, undefined], // only identity is acceptable
    ['identity;q=0', both, undefined], // nothing we offer is acceptable: sent as it is
    ['deflate', both, undefined],
    ['x-gzip', both, 'gzip'], // RFC 9110 §8.4.1.3
    ['GZIP', both, 'gzip'], // codings are case-insensitive
    ['br;q=2, gzip', both, 'gzip'], // malformed q drops the entry
    ['br;q=0.1234, gzip;q=0.1', both, 'gzip'], // more than three decimals is malformed
    ['br;level=5;q=0.3, gzip;q=0.2', both, 'br'], // other parameters are ignored
    [' , ,br ,', both, 'br'],
    ['br', ['gzip'], undefined], // br not offered
  ];
  for (const [header, offered, expected] of cases) {
    it(`${JSON.stringify(header)} offered [${offered.join(', ')}] → ${expected ?? 'identity'}`, () => {
      assert.equal(negotiateEncoding(header, offered), expected);
    });
  }

  it('keeps the higher weight of a coding listed twice', () => {
    assert.deepEqual([...parseAcceptEncoding('gzip;q=0.2, gzip;q=0.7')], [['gzip', 0.7]]);
  });
});

describe('createResponseCompressor', () => {
  const config = { enabled: true, minBytes: 1024, encodings: ['br', 'gzip'] as Array<'br' | 'gzip'>, brotliQuality: 4, gzipLevel: 6 };

  it('is undefined when disabled or when no coding is offered', () => {
    assert.equal(createResponseCompressor({ ...config, enabled: false }), undefined);
    assert.equal(createResponseCompressor({ ...config, encodings: [] }), undefined);
  });

  it('answers without Accept-Encoding (or an empty one) with identity', () => {
    const compressor = createResponseCompressor(config)!;
    assert.equal(compressor.negotiate(undefined), undefined);
    assert.equal(compressor.negotiate(''), undefined);
    assert.equal(compressor.negotiate('gzip'), 'gzip');
    assert.equal(compressor.negotiate('gzip'), 'gzip'); // cached answer is the same
  });

  it('compresses small bodies synchronously and large ones asynchronously; both decompress to the input', async () => {
    const compressor = createResponseCompressor(config)!;
    const small = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ id: i, title: `book ${i}` })) });
    const large = JSON.stringify({ items: Array.from({ length: 3000 }, (_, i) => ({ id: i, title: `book ${i}` })) });
    assert.ok(Buffer.byteLength(small) < ASYNC_COMPRESSION_BYTES && Buffer.byteLength(large) >= ASYNC_COMPRESSION_BYTES);
    const smallBr = compressor.compress(small, 'br');
    assert.ok(Buffer.isBuffer(smallBr));
    assert.equal(zlib.brotliDecompressSync(smallBr).toString(), small);
    const largeGzip = compressor.compress(large, 'gzip');
    assert.ok(largeGzip instanceof Promise);
    const gz = await largeGzip;
    assert.equal(zlib.gunzipSync(gz).toString(), large);
    assert.ok(gz.length < Buffer.byteLength(large) / 4, `gzip of repetitive JSON should shrink it: ${gz.length}`);
  });
});

describe('compressibleType', () => {
  it('compresses JSON (no type set) and text-like media, not binary media', () => {
    for (const type of [undefined, 'application/json', 'text/csv; charset=utf-8', 'TEXT/HTML', 'application/problem+json', 'application/atom+xml', 'image/svg+xml', 'application/x-ndjson']) {
      assert.equal(compressibleType(type), true, String(type));
    }
    for (const type of ['image/png', 'image/jpeg', 'application/octet-stream', 'application/zip', 'video/mp4', 'application/pdf']) {
      assert.equal(compressibleType(type), false, type);
    }
  });
});

// Response compression cost per reply, to choose brotli's quality and the size above which
// src/server/response-compression.ts compresses off the event loop (ASYNC_COMPRESSION_BYTES).
// For JSON bodies of several sizes: µs per synchronous call (= event-loop time blocked),
// ratio, and the wall time of the asynchronous call (thread-pool hop included), one at a time.
// Run: node --import tsx bench/response-compression.bench.ts
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const SIZES = [1024, 4 * 1024, 16 * 1024, 32 * 1024, 64 * 1024, 256 * 1024];

/** A list response as the demo backend answers it, cut to about `bytes`. */
function jsonBody(bytes: number): string {
  const items = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const item = { name: `shelves/${i % 7}/books/${i}`, title: `The Book of ${i * 7919}`, author: `Author ${i % 113}`, pages: 100 + (i % 400), read: i % 3 === 0 };
    items.push(item);
    size += JSON.stringify(item).length + 1;
  }
  return JSON.stringify({ books: items, nextPageToken: 'token' });
}

const brotli = (quality: number, size: number): zlib.BrotliOptions => ({
  params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});

const codecs: Array<{ name: string; sync: (b: Buffer) => Buffer; async: (b: Buffer) => Promise<Buffer> }> = [
  { name: 'gzip -6', sync: (b) => zlib.gzipSync(b, { level: 6 }), async: (b) => promisify(zlib.gzip)(b, { level: 6 }) },
  { name: 'gzip -1', sync: (b) => zlib.gzipSync(b, { level: 1 }), async: (b) => promisify(zlib.gzip)(b, { level: 1 }) },
  { name: 'br q4', sync: (b) => zlib.brotliCompressSync(b, brotli(4, b.length)), async: (b) => promisify(zlib.brotliCompress)(b, brotli(4, b.length)) },
  { name: 'br q5', sync: (b) => zlib.brotliCompressSync(b, brotli(5, b.length)), async: (b) => promisify(zlib.brotliCompress)(b, brotli(5, b.length)) },
  { name: 'br q11', sync: (b) => zlib.brotliCompressSync(b, brotli(11, b.length)), async: (b) => promisify(zlib.brotliCompress)(b, brotli(11, b.length)) },
];

function perCallUs(fn: () => unknown, budgetMs: number): number {
  for (let i = 0; i < 5; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < budgetMs) {
    fn();
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}

async function perAsyncCallUs(fn: () => Promise<unknown>, budgetMs: number): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < budgetMs) {
    await fn();
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}

console.log('size     codec    sync µs (loop blocked)  async µs (wall)  ratio');
for (const size of SIZES) {
  const body = Buffer.from(jsonBody(size));
  for (const codec of codecs) {
    const budget = codec.name === 'br q11' ? 300 : 400;
    const sync = perCallUs(() => codec.sync(body), budget);
    const async = await perAsyncCallUs(() => codec.async(body), budget);
    const ratio = codec.sync(body).length / body.length;
    console.log(
      `${String(Math.round(body.length / 1024)).padStart(4)} KB  ${codec.name.padEnd(8)} ${sync.toFixed(1).padStart(10)}              ${async.toFixed(1).padStart(10)}      ${ratio.toFixed(3)}`,
    );
  }
}

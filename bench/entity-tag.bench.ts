// What an ETag costs per GET answer (src/policy/entity-tag.ts): hashing proto3 JSON bodies of
// typical sizes, plus the If-None-Match check. Prints ns per answer and per KiB.
import { entityTag, noneMatchHits } from '../src/policy/entity-tag.js';

for (const bytes of [100, 1024, 16 * 1024, 256 * 1024]) {
  const items = Array.from({ length: Math.ceil(bytes / 24) }, (_, i) => ({ id: `book-${i}`, pages: i }));
  const body = JSON.stringify({ items }).slice(0, bytes);
  const rounds = Math.max(200, Math.floor(20_000_000 / bytes));
  let sink = 0;
  for (let i = 0; i < rounds / 10; i++) sink += entityTag(body).length;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const tag = entityTag(body);
    if (noneMatchHits('W/"not-it"', tag)) sink++;
  }
  const ns = Number(process.hrtime.bigint() - started) / rounds;
  console.log(`etag ${String(bytes).padStart(6)} B body: ${(ns / 1000).toFixed(2)} µs per answer, ${(ns / (bytes / 1024) / 1000).toFixed(2)} µs per KiB (sink ${sink % 10})`);
}

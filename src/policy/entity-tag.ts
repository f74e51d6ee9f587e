// ETag and If-None-Match for GET answers (RFC 9110 §8.8.3, §13.1.2): the pipeline tags every 200
// JSON answer of a GET route and answers 304 when the client already holds that representation.
//
// The tag is weak (`W/"…"`): the HTTP adapter may compress the body by Accept-Encoding
// (response-compression.ts), and a strong tag would then name two different byte sequences (nginx
// weakens its ETags when it gzips for the same reason). If-None-Match compares weakly anyway.
//
// Cost (bench/entity-tag.bench.ts; Node 20 on the shared 2-core dev machine): 0.7–1.4 µs for a
// 100 B body, 1.2–2.9 µs for 1 KiB, 8.6–15 µs for 16 KiB, 0.7–0.8 µs per KiB beyond — idle vs
// loaded. SHA-256 was the fastest of the three tried here (sha1 0.9/1.4/9.0 µs, md5
// 1.2/1.8/18.6 µs, idle). Over the ~1 µs/KiB budget for small bodies, so config `etag` (default
// true) can turn it off. The one-shot `crypto.hash` (Node ≥ 20.12) halves the small-body cost
// against createHash().update().digest() (0.5 vs 1.2 µs for the 330 B bench item): no Hash
// object per call.
import { hash } from 'node:crypto';

/** The weak entity tag of `body`: 128 bits of its SHA-256, base64url. */
export function entityTag(body: string): string {
  return `W/"${hash('sha256', body, 'base64url').slice(0, 22)}"`;
}

/**
 * True when `header` (If-None-Match) names `tag` or is `*`: the client's copy is current.
 * Weak comparison (RFC 9110 §8.8.3.2): `W/` is ignored on both sides.
 */
export function noneMatchHits(header: string | string[] | undefined, tag: string): boolean {
  if (header === undefined) return false;
  const opaque = tag.startsWith('W/') ? tag.slice(2) : tag;
  for (const line of Array.isArray(header) ? header : [header]) {
    // our tags hold no commas (base64url), so a plain split cannot cut one of them in two
    for (const item of line.split(',')) {
      const candidate = item.trim();
      if (candidate === '*' || candidate === opaque || (candidate.startsWith('W/') && candidate.slice(2) === opaque)) return true;
    }
  }
  return false;
}

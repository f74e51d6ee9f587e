// Splits a raw request path into segments and an optional custom verb, and decodes each segment
// once, before the route table walks its trie.
import { decodeComponent } from './percent-decoding.js';

/** A request path ready for matching. */
export interface RequestPath {
  /** Raw (still percent-encoded) segments. */
  readonly raw: readonly string[];
  /** Fully decoded segments, same indices as `raw`. */
  readonly decoded: readonly string[];
  /** The custom verb, decoded, or '' when the path has none. */
  readonly verb: string;
}

/** Why a path cannot match any route. */
export type RequestPathProblem = { kind: 'not-found' } | { kind: 'bad-path'; message: string };

const NOT_FOUND: RequestPathProblem = Object.freeze({ kind: 'not-found' });

/**
 * Splits `path` (no query string, percent-encoded). A last segment `x:verb` becomes segment `x`
 * plus verb `verb` only when `verbs` holds `verb` — as Envoy's transcoder does, the text after the
 * last ':' of the last segment is tried; otherwise `:verb` stays part of the segment. A client
 * whose value ends in `:something` that is also a declared verb can send the colon as `%3A`.
 */
export function splitRequestPath(path: string, verbs: ReadonlySet<string>): RequestPath | RequestPathProblem {
  if (path.charCodeAt(0) !== 47 /* '/' */) {
    return { kind: 'bad-path', message: 'the request path must begin with "/"' };
  }
  let end = path.length;
  let verb = '';
  if (verbs.size > 0) {
    const colon = path.lastIndexOf(':');
    if (colon > path.lastIndexOf('/')) {
      const candidate = decodeComponent(path.slice(colon + 1));
      if (candidate !== undefined && verbs.has(candidate)) {
        verb = candidate;
        end = colon;
      }
    }
  }
  // "/" is the path of zero segments, which only a template of a lone `**` matches.
  if (end === 1) return { raw: [], decoded: [], verb };
  // One pass over the path: cut segments at '/', decode only those holding a '%'.
  const raw: string[] = [];
  const decoded: string[] = [];
  let segmentStart = 1;
  let hasEscape = false;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 47 : path.charCodeAt(i);
    if (c === 37 /* '%' */) {
      hasEscape = true;
    } else if (c === 47 /* '/' */) {
      // Empty segments ("//", a trailing "/") match no template.
      if (i === segmentStart) return NOT_FOUND;
      const segment = path.slice(segmentStart, i);
      const value = hasEscape ? decodeComponent(segment) : segment;
      if (value === undefined) {
        return { kind: 'bad-path', message: `path segment ${raw.length + 1} has malformed percent-encoding or is not UTF-8` };
      }
      raw.push(segment);
      decoded.push(value);
      segmentStart = i + 1;
      hasEscape = false;
    }
  }
  return { raw, decoded, verb };
}

// Percent-decoding of path segments, the two ways http.proto asks for: single-segment
// variables and literals decode fully; multi-segment variables keep "%2F"/"%2f" as written.

const ENCODED_SLASH = /%2f/i;
const ENCODED_SLASH_SPLIT = /(%2[fF])/;

/**
 * Fully percent-decodes one component (`%2F` → `/` included; `+` stays `+`, as paths are not
 * form-encoded). Returns undefined for malformed escapes (`%zz`, a truncated `%4`) or bytes that
 * are not UTF-8.
 */
export function decodeComponent(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    // decodeURIComponent rejects exactly what we must: bad escapes and invalid UTF-8
    // (overlong forms, surrogates, truncated sequences).
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * Decodes one segment of a multi-segment variable: everything except `%2F`/`%2f`, which stay
 * exactly as written (http.proto: "except "%2F" and "%2f" are left unchanged").
 * `decoded` is the segment's full decoding, reused when it has no encoded slash.
 * Returns undefined where `decodeComponent` would.
 */
export function decodeKeepingSlashes(raw: string, decoded: string): string | undefined {
  if (!ENCODED_SLASH.test(raw)) return decoded;
  const parts = raw.split(ENCODED_SLASH_SPLIT);
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 1) {
      out += parts[i];
      continue;
    }
    const part = decodeComponent(parts[i]!);
    if (part === undefined) return undefined;
    out += part;
  }
  return out;
}

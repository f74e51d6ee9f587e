// Splits a raw query string into decoded name/value pairs (DESIGN §4: `+` is a space, as
// browsers' URLSearchParams and HTML forms encode it; a literal plus arrives as %2B).
import { Code } from '../errors/codes.js';
import { badRequest, gatewayError } from '../errors/gateway-error.js';
import { truncate } from '../errors/user-input.js';

/** Decoded query parameters in order of appearance. */
export type QueryPairs = Array<readonly [name: string, value: string]>;

/**
 * Parses `a=1&b.c=x+y` into pairs; malformed percent-encoding is a 400 naming the parameter,
 * and so is a string of more than `maxParams` parameters — counted before any is decoded.
 */
export function parseQueryString(query: string, maxParams = Infinity): QueryPairs {
  const pairs: QueryPairs = [];
  if (query === '') return pairs;
  const parts = query.split('&');
  if (parts.length > maxParams) {
    const count = parts.filter((part) => part !== '').length;
    if (count > maxParams) {
      throw gatewayError(
        Code.INVALID_ARGUMENT,
        'PG_TOO_MANY_QUERY_PARAMS',
        `the query string has ${count} parameters; at most ${maxParams} are allowed (limits.maxQueryParams)`,
      );
    }
  }
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const name = decodeComponent(rawName, rawName);
    pairs.push([name, decodeComponent(rawValue, name)]);
  }
  return pairs;
}

function decodeComponent(raw: string, parameter: string): string {
  const spaced = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw badRequest('PG_BAD_QUERY_PARAM', parameter, `query parameter "${truncate(parameter)}" has malformed percent-encoding`);
  }
}

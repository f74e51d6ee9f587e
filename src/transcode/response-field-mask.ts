// `$fields`: a response field mask in Google's partial-response syntax
// (`a,b.c,b/d,items(name,id)`), applied to the JSON the response encoder produced.
import { badRequest } from '../errors/gateway-error.js';

/** A tree of selected JSON names; an empty subtree selects the whole value. */
export type ResponseFieldMask = Map<string, ResponseFieldMask>;

/** Parses a `$fields` value; syntax errors are a 400. */
export function parseResponseFieldMask(text: string): ResponseFieldMask {
  let i = 0;
  const fail = (what: string): never => {
    throw badRequest('PG_BAD_QUERY_PARAM', '$fields', `${what} at position ${i} of "${text}"`);
  };
  const parseList = (depth: number): ResponseFieldMask => {
    const mask: ResponseFieldMask = new Map();
    for (;;) {
      let target = mask;
      for (;;) {
        const start = i;
        while (i < text.length && /[A-Za-z0-9_*@]/.test(text[i]!)) i++;
        if (i === start) fail('expected a field name');
        const name = text.slice(start, i);
        let next = target.get(name);
        if (next === undefined) {
          next = new Map();
          target.set(name, next);
        }
        target = next;
        if (text[i] === '.' || text[i] === '/') {
          i++;
          continue;
        }
        break;
      }
      if (text[i] === '(') {
        i++;
        for (const [name, sub] of parseList(depth + 1)) target.set(name, sub);
        if (text[i] !== ')') fail('expected ")"');
        i++;
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (i === text.length || (depth > 0 && text[i] === ')')) return mask;
      fail(`unexpected "${text[i]}"`);
    }
  };
  if (text.trim() === '') return new Map();
  return parseList(0);
}

/** Keeps only the selected fields of a parsed JSON value (arrays are filtered element-wise). */
export function applyResponseFieldMask(value: unknown, mask: ResponseFieldMask): unknown {
  if (mask.size === 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => applyResponseFieldMask(item, mask));
  if (mask.has('*')) return value;
  // Null prototype: a selected name "__proto__" is data, not the object's prototype.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [name, sub] of mask) {
    if (Object.prototype.hasOwnProperty.call(value, name)) {
      out[name] = applyResponseFieldMask((value as Record<string, unknown>)[name], sub);
    }
  }
  return out;
}

// Fuzz target: the route table's matcher against a naive reference written here. Random route
// sets (templates of literals, `*`, `**`, variables and verbs, under a few methods) and random
// request paths: `match` never throws, and its answer is the reference's — the matching template
// that is most specific segment by segment (literal > `*` > `**`, `**` taking as few segments as
// it can, a template that ends before one that goes on), with the same variable bindings; 405 with
// the sorted methods of every matching template; else 404, or bad-path for undecodable segments.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePathTemplate, type PathTemplate } from '../../src/routing/path-template.js';
import { RouteTable, type MatchResult } from '../../src/routing/route-table.js';
import type { FuzzTarget } from './fuzz-target.js';

/** One template segment as generated; `V` marks a variable (named when the text is built). */
const TEMPLATE_PARTS = ['a', 'b', 'c', '%61', '*', '**', 'V', 'V=*', 'V=**', 'V=a/*', 'V=b/**', 'V=c'];
const VERBS = [undefined, undefined, undefined, 'v', 'w'] as const;
const METHODS = ['GET', 'POST', 'PUT'] as const;
// Mostly the templates' own literals, so paths often match; the rest probe decoding and splitting.
const COMMON_PATH_PARTS = ['a', 'b', 'c', 'd', '%61'];
const ODD_PATH_PARTS = ['%2F', 'a%2Fb', '%2fc', '%zz', '%C3%A9', 'é', 'x:y', ':v', '%3Av', '', '+', '%25'];

interface RouteInput {
  method: string;
  parts: string[];
  verb: string | undefined;
}
interface MatchInput {
  routes: RouteInput[];
  requests: Array<{ method: string; path: string }>;
}

const routeArb = fc.record({
  method: fc.constantFrom(...METHODS),
  parts: fc.array(fc.constantFrom(...TEMPLATE_PARTS), { minLength: 1, maxLength: 4 }),
  verb: fc.constantFrom(...VERBS),
});
const pathArb = fc
  .tuple(
    fc.array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...COMMON_PATH_PARTS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_PATH_PARTS) }), { maxLength: 4 }),
    fc.constantFrom('', '', '', ':v', ':w', ':x', '/'),
  )
  .map(([parts, tail]) => `/${parts.join('/')}${tail}`);
const arbitrary: fc.Arbitrary<MatchInput> = fc.record({
  routes: fc.array(routeArb, { minLength: 1, maxLength: 8 }),
  requests: fc.array(fc.record({ method: fc.constantFrom(...METHODS), path: fc.oneof({ weight: 9, arbitrary: pathArb }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }) }), {
    minLength: 1,
    maxLength: 8,
  }),
});

function templateText(route: RouteInput): string {
  const parts = route.parts.map((part, i) => (part.startsWith('V') ? `{v${i}${part.slice(1)}}` : part));
  return `/${parts.join('/')}${route.verb === undefined ? '' : `:${route.verb}`}`;
}

interface Registered {
  id: string;
  method: string;
  template: PathTemplate;
}

// ---- the reference: straightforward, slow, written from the spec rather than from the trie ----

type Split = { segments: string[]; raw: string[]; verb: string } | { kind: 'not-found' | 'bad-path' };

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function referenceSplit(path: string, verbs: Set<string>): Split {
  if (!path.startsWith('/')) return { kind: 'bad-path' };
  let body = path;
  let verb = '';
  const colon = path.lastIndexOf(':');
  if (colon > path.lastIndexOf('/')) {
    const candidate = decode(path.slice(colon + 1));
    if (candidate !== undefined && verbs.has(candidate)) {
      verb = candidate;
      body = path.slice(0, colon);
    }
  }
  if (body === '/') return { segments: [], raw: [], verb };
  const raw = body.slice(1).split('/');
  const segments: string[] = [];
  for (const r of raw) {
    if (r === '') return { kind: 'not-found' };
    const d = decode(r);
    if (d === undefined) return { kind: 'bad-path' };
    segments.push(d);
  }
  return { segments, raw, verb };
}

/** How a template matched: per template segment [rank (literal 0, * 1, ** 2), segments taken]. */
type Key = Array<[number, number]>;

function referenceKey(t: PathTemplate, segments: string[]): Key | undefined {
  const n = segments.length;
  const key: Key = [];
  let p = 0;
  for (let s = 0; s < t.segments.length; s++) {
    const seg = t.segments[s]!;
    if (seg.kind === 'literal') {
      if (p >= n || segments[p] !== seg.value) return undefined;
      key.push([0, 1]);
      p++;
    } else if (seg.kind === 'wildcard') {
      if (p >= n) return undefined;
      key.push([1, 1]);
      p++;
    } else {
      // Only literals follow `**` (the parser enforces it), so what is left fixes what it takes.
      const takes = n - p - (t.segments.length - s - 1);
      if (takes < 0) return undefined;
      key.push([2, takes]);
      p += takes;
    }
  }
  return p === n ? key : undefined;
}

function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a[i]![0] - b[i]![0] || a[i]![1] - b[i]![1];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function keepSlashes(raw: string): string {
  return raw
    .split(/(%2[fF])/)
    .map((part, i) => (i % 2 === 1 ? part : decode(part)!))
    .join('');
}

function referenceBindings(t: PathTemplate, key: Key, split: { segments: string[]; raw: string[] }): Array<[string[], string]> {
  // request index where each template segment starts
  const starts: number[] = [];
  let p = 0;
  for (const [, taken] of key) {
    starts.push(p);
    p += taken;
  }
  starts.push(p);
  return t.variables.map((v) => {
    const from = starts[v.startSegment]!;
    const to = starts[v.endSegment]!;
    const value = v.multiSegment ? split.raw.slice(from, to).map(keepSlashes).join('/') : split.segments[from]!;
    return [[...v.fieldPath], value];
  });
}

function referenceMatch(routes: Registered[], verbs: Set<string>, method: string, path: string): MatchResult<string> {
  const split = referenceSplit(path, verbs);
  if ('kind' in split) return split.kind === 'bad-path' ? { kind: 'bad-path', message: '' } : { kind: 'not-found' };
  let best: { route: Registered; key: Key } | undefined;
  const allow = new Set<string>();
  for (const route of routes) {
    if ((route.template.verb ?? '') !== split.verb) continue;
    const key = referenceKey(route.template, split.segments);
    if (key === undefined) continue;
    allow.add(route.method);
    if (route.method === method && (best === undefined || compareKeys(key, best.key) < 0)) best = { route, key };
  }
  if (best !== undefined) return { kind: 'found', route: best.route.id, bindings: referenceBindings(best.route.template, best.key, split) };
  if (allow.size > 0) return { kind: 'method-not-allowed', allow: [...allow].sort() };
  return { kind: 'not-found' };
}

export const routeMatchTarget: FuzzTarget<MatchInput> = {
  name: 'route-match',
  arbitrary,
  check(input) {
    const table = new RouteTable<string>();
    const registered: Registered[] = [];
    const verbs = new Set<string>();
    for (const route of input.routes) {
      const parsed = parsePathTemplate(templateText(route));
      if (!parsed.ok) continue;
      const id = `${route.method} ${parsed.template.source}`;
      try {
        table.add(route.method, parsed.template, id);
      } catch {
        continue; // same method and shape as an earlier route: refused at registration
      }
      registered.push({ id, method: route.method, template: parsed.template });
      if (parsed.template.verb !== undefined) verbs.add(parsed.template.verb);
    }
    for (const { method, path } of input.requests) {
      const actual = table.match(method, path);
      const expected = referenceMatch(registered, verbs, method, path);
      const shown = actual.kind === 'bad-path' ? { kind: 'bad-path', message: '' } : actual;
      assert.deepEqual(shown, expected, `${method} ${path} over ${registered.map((r) => r.id).join(' | ')}`);
    }
  },
};

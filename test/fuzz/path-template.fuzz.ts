// Fuzz target: the HttpRule path-template parser. Invariants: parsePathTemplate returns a result
// for any string (its own syntax errors never escape, nothing else is thrown); an error's offset
// lies inside the source; an accepted template prints back to a template that parses to the same
// structure (segments, verb, variables), and printing that again gives the same text.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePathTemplate, type PathTemplate } from '../../src/routing/path-template.js';
import type { FuzzTarget } from './fuzz-target.js';

// Tokens of the grammar plus near-misses, so most inputs get past the first character.
const TOKENS = ['/', '/', '/', '{', '}', '=', '*', '**', ':', '.', 'a', 'b', 'v1', '_', 'x.y', '%', '%2F', '%2f', '%zz', '%C3%A9', '%C3', '%FF', ' ', '1', 'é', '\u0000', '?', '#', '~', '@', '\ud800', '😀', 'verb'];

// Whole segments of valid templates, so many inputs parse and the round trip gets exercised.
const SEGMENTS = ['v1', 'a', '%2F', '%C3%A9', 'x~y', '*', '**', '{x}', '{a.b}', '{y=*}', '{z=a/*}', '{w=**}', '{u=b/**/c}', '{_q=%61}'];
const wellFormed = fc
  .tuple(fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 5 }), fc.constantFrom('', '', ':v', ':do%20it', ':*', ':'))
  .map(([segments, verb]) => `/${segments.join('/')}${verb}`);

const source = fc.oneof(
  { weight: 3, arbitrary: wellFormed },
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 16 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }).map((s) => `/${s}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 24 }) },
);

// A literal's characters that need no escape (path-template.ts LITERAL_CHAR).
const PLAIN = /[A-Za-z0-9\-._~!$&'()+,;=@]/;

function printLiteral(value: string): string {
  let out = '';
  for (const ch of value) {
    if (PLAIN.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The canonical text of a template: literals re-encoded, `{a}` written `{a=*}`. */
export function printTemplate(t: PathTemplate): string {
  const parts: string[] = [];
  let s = 0;
  const segmentText = (i: number): string => {
    const seg = t.segments[i]!;
    return seg.kind === 'literal' ? printLiteral(seg.value) : seg.kind === 'wildcard' ? '*' : '**';
  };
  while (s < t.segments.length) {
    const variable = t.variables.find((v) => v.startSegment === s);
    if (variable === undefined) {
      parts.push(segmentText(s));
      s++;
      continue;
    }
    const inner: string[] = [];
    for (let i = variable.startSegment; i < variable.endSegment; i++) inner.push(segmentText(i));
    parts.push(`{${variable.fieldPath.join('.')}=${inner.join('/')}}`);
    s = variable.endSegment;
  }
  return `/${parts.join('/')}${t.verb === undefined ? '' : `:${printLiteral(t.verb)}`}`;
}

function structure(t: PathTemplate): unknown {
  return { segments: t.segments, verb: t.verb, variables: t.variables };
}

export const pathTemplateTarget: FuzzTarget<string> = {
  name: 'path-template',
  arbitrary: source,
  check(input) {
    const result = parsePathTemplate(input);
    if (!result.ok) {
      assert.ok(result.offset >= 0 && result.offset <= input.length, `offset ${result.offset} outside ${JSON.stringify(input)}`);
      assert.ok(result.message.length > 0);
      return;
    }
    const t = result.template;
    assert.ok(t.segments.length > 0);
    for (const v of t.variables) assert.ok(v.startSegment < v.endSegment && v.endSegment <= t.segments.length);
    const printed = printTemplate(t);
    const again = parsePathTemplate(printed);
    assert.ok(again.ok, `printed ${JSON.stringify(printed)} of ${JSON.stringify(input)} does not parse: ${again.ok ? '' : again.message}`);
    assert.deepEqual(structure(again.template), structure(t), `${JSON.stringify(input)} → ${JSON.stringify(printed)}`);
    assert.equal(printTemplate(again.template), printed);
  },
};

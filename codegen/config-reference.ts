// Build step for the docs: docs/config-reference.md, a table per top-level key of protogate.yaml
// (key, type, default, description), generated from the config's JSON Schema so it cannot
// drift from what the gateway accepts.
import type { JsonSchema } from './config-json-schema.js';

/** Where the reference lives, relative to the package root. */
export const CONFIG_REFERENCE_FILE = 'docs/config-reference.md';

interface Row {
  readonly key: string;
  readonly type: string;
  readonly defaultValue: string;
  readonly description: string;
}

/** The markdown reference of every key the schema admits. */
export function configReferenceMarkdown(schema: JsonSchema): string {
  const out = [
    '# protogate.yaml reference',
    '',
    '<!-- Generated from src/config/config-schema.ts by `npm run generate:schema`; do not edit. -->',
    '',
    'Every key of the config file (`protogate serve --config protogate.yaml`); command-line flags',
    'override the file. Unknown keys are errors, and every error is reported at once with its',
    '`file:line:col`. Durations are strings such as `"15s"`, `"1.5s"`, `"250ms"`, `"1m"`.',
    'Editors that speak the YAML language server complete and check keys with the JSON Schema',
    '[`schema/protogate.schema.json`](../schema/protogate.schema.json): put',
    '`# yaml-language-server: $schema=<path to>/schema/protogate.schema.json` on the first line.',
    '`[]` in a key stands for each element of a list, `{}` for each entry of a map.',
    '',
  ];
  for (const [name, node] of Object.entries(schema.properties ?? {})) {
    out.push(`## \`${name}\``, '');
    if (node.description !== undefined) out.push(escapeText(node.description), '');
    const rows: Row[] = [];
    collectRows(node, name, rows, true);
    if (rows.length === 0) continue;
    out.push('| Key | Type | Default | Description |', '| --- | --- | --- | --- |');
    for (const row of rows) out.push(`| \`${row.key}\` | ${row.type} | ${row.defaultValue} | ${row.description} |`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function collectRows(node: JsonSchema, key: string, rows: Row[], top: boolean): void {
  const object = objectOf(node);
  // A top-level section is a heading; nested objects get a row of their own, then their keys.
  if (!top || object === undefined) rows.push(row(node, key));
  if (object !== undefined) {
    for (const [name, child] of Object.entries(object.properties ?? {})) {
      const required = object.required?.includes(name) ? ' **Required.**' : '';
      const before = rows.length;
      collectRows(child, `${key}.${name}`, rows, false);
      if (required && rows[before]) rows[before] = { ...rows[before]!, description: `${rows[before]!.description}${required}`.trim() };
    }
    return;
  }
  // The keys inside a list's items or a map's values, for each form a key may take (`upstreams`: list or map).
  for (const form of [node, ...(node.anyOf ?? [])]) {
    const items = form.type === 'array' ? form.items : undefined;
    if (items !== undefined && objectOf(items) !== undefined) collectRows(items, `${key}[]`, rows, true);
    const values = typeof form.additionalProperties === 'object' ? form.additionalProperties : undefined;
    if (values !== undefined && objectOf(values) !== undefined) collectRows(values, `${key}.{}`, rows, true);
  }
}

/** The object schema of a node (itself, or one of its alternatives), if it has keys. */
function objectOf(node: JsonSchema): JsonSchema | undefined {
  if (node.type === 'object' && node.properties !== undefined) return node;
  for (const branch of node.anyOf ?? []) {
    const found = objectOf(branch);
    if (found !== undefined) return found;
  }
  return undefined;
}

function row(node: JsonSchema, key: string): Row {
  return {
    key,
    type: typeOf(node),
    // An object's `{}` default only means "its keys' defaults"; those have rows of their own.
    defaultValue: node.default === undefined || isEmptyObject(node.default) ? '' : `\`${JSON.stringify(node.default)}\``,
    description: escapeText(node.description ?? ''),
  };
}

/** A short type: `integer` 0–65535, one of `a` \| `b`, list of string, map of string. */
export function typeOf(node: JsonSchema): string {
  if (node.enum !== undefined) return `one of ${node.enum.map((value) => `\`${JSON.stringify(value)}\``).join(', ')}`;
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.anyOf !== undefined) return node.anyOf.map(typeOf).join(' or ');
  const type = Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'any');
  if (type === 'array') return `list of ${node.items === undefined ? 'any' : nested(node.items)}${bounds(node, 'minItems', 'maxItems', ' items')}`;
  if (type === 'object') {
    const values = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
    return values !== undefined && node.properties === undefined ? `map of ${nested(values)}` : 'object';
  }
  if (type === 'integer' || type === 'number') return `${type}${bounds(node, 'minimum', 'maximum', '')}`;
  if (type === 'string') return `string${node.minLength !== undefined && node.minLength !== 1 ? ` (≥ ${String(node.minLength)} chars)` : ''}`;
  return type;
}

/** A type inside a list or map: alternatives in parentheses, so "or" reads unambiguously. */
function nested(node: JsonSchema): string {
  const text = typeOf(node);
  return node.anyOf !== undefined ? `(${text})` : text;
}

function bounds(node: JsonSchema, min: string, max: string, unit: string): string {
  const low = node[min] as number | undefined;
  const high = node[max] as number | undefined;
  if (low !== undefined && high !== undefined) return ` ${low}–${high}${unit}`;
  if (low !== undefined) return ` ≥ ${low}${unit}`;
  if (high !== undefined) return ` ≤ ${high}${unit}`;
  return '';
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** Table cells: no line breaks, no bare pipes. */
function escapeText(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

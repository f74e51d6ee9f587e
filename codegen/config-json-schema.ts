// Build step for the config: the JSON Schema of protogate.yaml, generated from the one zod schema
// (src/config/config-schema.ts) for editors (yaml-language-server) and other tools. Each key's
// description is its `/** */` comment in config-schema.ts, read from the source with the
// TypeScript compiler, so the comments stay the single place a key is documented.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { configSchema } from '../src/config/config-schema.js';
import { packageRoot } from '../src/package-paths.js';

/** A JSON Schema node, as far as this module reads it. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  [keyword: string]: unknown;
}

/** Where the shipped schema lives, relative to the package root. */
export const CONFIG_SCHEMA_FILE = 'schema/protogate.schema.json';

const SCHEMA_SOURCE = path.join(packageRoot, 'src', 'config', 'config-schema.ts');

/** The JSON Schema (draft-07, every reference inlined) of protogate.yaml as a user writes it. */
export function buildConfigJsonSchema(): JsonSchema {
  // `input`: what the file may contain (defaults make keys optional); refinements become their base type.
  const generated = zodToJsonSchema(configSchema, { target: 'jsonSchema7', $refStrategy: 'none', effectStrategy: 'input', pipeStrategy: 'input' }) as JsonSchema;
  const { $schema, ...body } = generated;
  const schema: JsonSchema = {
    $schema,
    title: 'protogate.yaml',
    description:
      'Configuration of the protogate gRPC/REST gateway. Generated from src/config/config-schema.ts by `npm run generate:schema`; do not edit.',
    ...body,
  };
  for (const [keyPath, description] of readKeyComments(readFileSync(SCHEMA_SOURCE, 'utf8'))) {
    const node = schemaAt(schema, keyPath);
    if (node !== undefined && node.description === undefined) node.description = description;
  }
  return schema;
}

/** The schema node of a key path ('[]' steps into array items, '{}' into record values). */
function schemaAt(root: JsonSchema, keyPath: readonly string[]): JsonSchema | undefined {
  let candidates: JsonSchema[] = [root];
  for (const step of keyPath) {
    const next: JsonSchema[] = [];
    for (const node of candidates.flatMap(branches)) {
      const child =
        step === '[]' ? node.items : step === '{}' ? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined) : node.properties?.[step];
      if (child !== undefined) next.push(child);
    }
    if (next.length === 0) return undefined;
    candidates = next;
  }
  return candidates[0];
}

/** A node and the alternatives of its anyOf (optional or nullable values, unions). */
function branches(node: JsonSchema): JsonSchema[] {
  return [node, ...(node.anyOf ?? []).flatMap(branches)];
}

/**
 * The doc comment of each key of `configSchema`, by key path. Follows `z.object({…})` and
 * `.extend({…})` literals, `z.array(…)` ('[]'), `z.record(…, value)` ('{}') and schemas kept in top-level
 * constants of the same file.
 */
export function readKeyComments(source: string): Map<string[], string> {
  const file = ts.createSourceFile('config-schema.ts', source, ts.ScriptTarget.ES2022, true);
  const constants = new Map<string, ts.Expression>();
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (ts.isIdentifier(declaration.name) && declaration.initializer) constants.set(declaration.name.text, declaration.initializer);
    }
  }
  const comments = new Map<string[], string>();
  const visiting = new Set<string>();
  const visit = (node: ts.Node, keyPath: string[]): void => {
    if (ts.isIdentifier(node) && constants.has(node.text) && !visiting.has(node.text)) {
      visiting.add(node.text);
      visit(constants.get(node.text)!, keyPath);
      visiting.delete(node.text);
      return;
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
      visit(callee, keyPath);
      const [first, second] = node.arguments;
      if ((name === 'object' || name === 'extend') && first !== undefined && ts.isObjectLiteralExpression(first)) {
        for (const property of first.properties) {
          if (!ts.isPropertyAssignment(property)) continue;
          const key = property.name.getText(file).replace(/^['"]|['"]$/g, '');
          const doc = jsDocText(property, file);
          if (doc !== undefined) comments.set([...keyPath, key], doc);
          visit(property.initializer, [...keyPath, key]);
        }
      } else if (name === 'array' && first !== undefined) {
        visit(first, [...keyPath, '[]']);
      } else if (name === 'record' && second !== undefined) {
        visit(second, [...keyPath, '{}']);
      } else if (name === 'union' || name === 'discriminatedUnion') {
        for (const argument of node.arguments) visit(argument, keyPath);
      }
      // Other calls (refine, default, regex, …) carry no keys.
      return;
    }
    ts.forEachChild(node, (child) => visit(child, keyPath));
  };
  const root = constants.get('configSchema');
  if (root === undefined) throw new Error('config-schema.ts has no `configSchema` constant');
  visit(root, []);
  return comments;
}

/** The text of the doc comment before a node, on one line. */
function jsDocText(node: ts.Node, file: ts.SourceFile): string | undefined {
  // A comment on the line of the previous token (`{ /** doc */ key: …`) counts as that token's trailing one.
  const start = node.getFullStart();
  const ranges = [...(ts.getTrailingCommentRanges(file.text, start) ?? []), ...(ts.getLeadingCommentRanges(file.text, start) ?? [])];
  const docs = ranges.map((range) => file.text.slice(range.pos, range.end)).filter((text) => text.startsWith('/**'));
  const last = docs.at(-1);
  if (last === undefined) return undefined;
  return last
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .filter((line) => line.length > 0)
    .join(' ');
}

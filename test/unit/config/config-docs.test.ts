// The config's JSON Schema and markdown reference are generated from the zod schema and
// committed: regenerating them must give the committed bytes (run `npm run generate:schema`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readKeyComments } from '../../../codegen/config-json-schema.js';
import { typeOf } from '../../../codegen/config-reference.js';
import { configDocs } from '../../../codegen/write-config-docs.js';
import { loadConfigFile, parseConfigText } from '../../../src/config/load-config.js';
import { packageRoot } from '../../../src/package-paths.js';

describe('config JSON Schema and reference', () => {
  const docs = configDocs();

  it('are up to date with src/config/config-schema.ts', () => {
    for (const [file, fresh] of docs) {
      const committed = readFileSync(path.join(packageRoot, file), 'utf8');
      assert.ok(fresh === committed, `${file} is stale: run \`npm run generate:schema\` and commit the result`);
    }
  });

  it('describes every top-level key, admits only known keys, and carries defaults, enums and comments', () => {
    const schema = JSON.parse(docs.get('schema/protogate.schema.json')!) as {
      additionalProperties: boolean;
      properties: Record<string, { description?: string; additionalProperties?: boolean; properties: Record<string, Record<string, unknown>> }>;
    };
    assert.equal(schema.additionalProperties, false);
    for (const [key, node] of Object.entries(schema.properties)) assert.ok(node.description, `top-level key "${key}" has no doc comment in config-schema.ts`);
    assert.equal(schema.properties['server']!.additionalProperties, false);
    assert.equal(schema.properties['server']!.properties['port']!['default'], 8080);
    assert.deepEqual(schema.properties['json']!.properties['unknownFields']!['enum'], ['reject', 'ignore']);
    assert.match(String(schema.properties['json']!.properties['unknownFields']!['description']), /unknown JSON fields are a 400/);
    const reference = docs.get('docs/config-reference.md')!;
    assert.match(reference, /\| `json\.unknownFields` \| one of `"reject"`, `"ignore"` \| `"reject"` \| `reject` \(default\)/);
    assert.match(reference, /\| `upstreams\[\]\.service` \| string \| {2}\| Fully-qualified gRPC service name/);
  });

  it('reads doc comments through objects, lists, maps and top-level constants', () => {
    const source = `
      const inner = z.object({
        /** Deep key. */
        deep: z.string(),
      });
      export const configSchema = z.object({
        /** A section. */
        section: z.object({ /** Its key. */ key: z.number().default(1) }).strict().default({}),
        list: z.array(z.object({ /** Per item. */ item: z.string() })).default([]),
        map: z.record(z.string(), z.object({ /**
           * Two lines,
           * joined.
           */ value: z.boolean() })),
        shared: inner.optional(),
      });`;
    const found = Object.fromEntries([...readKeyComments(source)].map(([keyPath, text]) => [keyPath.join('.'), text]));
    assert.deepEqual(found, {
      section: 'A section.',
      'section.key': 'Its key.',
      'list.[].item': 'Per item.',
      'map.{}.value': 'Two lines, joined.',
      'shared.deep': 'Deep key.',
    });
  });

  it('names types with their bounds', () => {
    assert.equal(typeOf({ type: 'integer', minimum: 0, maximum: 65535 }), 'integer 0–65535');
    assert.equal(typeOf({ type: 'array', items: { type: 'string' }, minItems: 1 }), 'list of string ≥ 1 items');
    assert.equal(typeOf({ type: 'object', additionalProperties: { type: 'string' } }), 'map of string');
    assert.equal(typeOf({ anyOf: [{ type: 'integer' }, { type: 'string', const: 'auto' }] }), 'integer or `"auto"`');
  });

  it('ships an example config that loads and points editors at the schema', () => {
    const file = path.join(packageRoot, 'docs', 'protogate.example.yaml');
    assert.match(readFileSync(file, 'utf8'), /^# yaml-language-server: \$schema=\.\.\/schema\/protogate\.schema\.json\n/);
    const config = loadConfigFile(file);
    assert.equal(config.server.adminPort, 9090);
  });
});

describe('config errors name the allowed values', () => {
  const problems = (text: string): string[] => {
    try {
      parseConfigText(text, 'protogate.yaml');
    } catch (error) {
      return (error as { problems: string[] }).problems;
    }
    return [];
  };

  it('lists the values of an enum and the keys allowed beside an unknown key', () => {
    assert.deepEqual(problems('json:\n  unknownFields: maybe\n'), [
      'protogate.yaml:2:18: json.unknownFields: is "maybe", not an allowed value (use one of: reject, ignore)',
    ]);
    const [unknown] = problems('docs:\n  enabeld: false\n');
    assert.match(unknown!, /^protogate\.yaml:2:3: docs\.enabeld: unknown key \(remove it, or use one of the keys allowed here: enabled, path, openapiPath\)$/);
    const [nested] = problems('upstreams:\n  - { service: "*", target: "127.0.0.1:1", bogus: true }\n');
    assert.match(nested!, /^protogate\.yaml:2:\d+: upstreams\.0\.bogus: unknown key \(remove it, or use one of the keys allowed here: [^)]*\bservice\b/);
    assert.match(nested!, /allowed here: [^)]*\btarget\b/);
  });
});

// `npm run generate:schema`: writes the config's JSON Schema (schema/protogate.schema.json) and
// its markdown reference (docs/config-reference.md); both are committed, and a test fails when
// either is stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/package-paths.js';
import { buildConfigJsonSchema, CONFIG_SCHEMA_FILE } from './config-json-schema.js';
import { CONFIG_REFERENCE_FILE, configReferenceMarkdown } from './config-reference.js';

/** The generated files, by path relative to the package root. */
export function configDocs(): Map<string, string> {
  const schema = buildConfigJsonSchema();
  return new Map([
    [CONFIG_SCHEMA_FILE, `${JSON.stringify(schema, null, 2)}\n`],
    [CONFIG_REFERENCE_FILE, configReferenceMarkdown(schema)],
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, text] of configDocs()) {
    const target = path.join(packageRoot, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}

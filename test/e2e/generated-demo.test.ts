// openapi/ holds the generated output for the demo protos, committed; regenerating it must
// give byte-identical files, or it is stale (run `npm run generate:demo`).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { packageRoot } from '../../src/package-paths.js';
import { runCli } from '../helpers/cli.js';

it('the committed openapi/ is what `protogate generate` makes of protos/ today', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'protogate-demo-gen-'));
  const result = await runCli(['generate', '--proto-path', 'protos', '--proto', 'library/v1/library.proto', '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  for (const file of ['openapi.json', 'gateway.gen.mjs']) {
    const fresh = readFileSync(path.join(out, file), 'utf8');
    const committed = readFileSync(path.join(packageRoot, 'openapi', file), 'utf8');
    assert.ok(fresh === committed, `openapi/${file} is stale: run \`npm run generate:demo\` and commit the result`);
  }
  await SwaggerParser.validate(JSON.parse(readFileSync(path.join(out, 'openapi.json'), 'utf8')) as never);
});

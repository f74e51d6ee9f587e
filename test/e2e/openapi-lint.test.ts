// `redocly lint` (recommended ruleset, as configured in redocly.yaml) finds no errors in the
// committed demo document nor in the one generated from the harder catalog test proto.
// Warnings are printed as test diagnostics, not failures.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { buildModel } from '../../codegen/build-model.js';
import { buildOpenApi } from '../../codegen/openapi.js';
import { packageRoot } from '../../src/package-paths.js';

const run = promisify(execFile);
const redocly = path.join(packageRoot, 'node_modules', '.bin', 'redocly');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer?: string }> }>;
}

async function lint(file: string): Promise<LintReport> {
  // Exit code 1 means "problems found"; the JSON report says which, so read it either way.
  const result = await run(redocly, ['lint', file, '--format=json', '--config', path.join(packageRoot, 'redocly.yaml')], {
    cwd: packageRoot,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
    if (error.code === 1 && error.stdout) return { stdout: error.stdout, stderr: error.stderr ?? '' };
    throw error;
  });
  return JSON.parse(result.stdout) as LintReport;
}

function check(report: LintReport, name: string, diagnostic: (message: string) => void): void {
  const errors = report.problems.filter((p) => p.severity === 'error');
  assert.deepEqual(
    errors.map((p) => `${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`),
    [],
    `redocly lint errors in ${name}`,
  );
  const byRule = new Map<string, number>();
  for (const p of report.problems) byRule.set(p.ruleId, (byRule.get(p.ruleId) ?? 0) + 1);
  diagnostic(`${name}: ${report.totals.errors} errors, ${report.totals.warnings} warnings (${[...byRule].map(([rule, n]) => `${rule} ×${n}`).join(', ')})`);
}

it('redocly lint: openapi/openapi.json has no errors', async (t) => {
  check(await lint('openapi/openapi.json'), 'openapi/openapi.json', (m) => t.diagnostic(m));
});

it('redocly lint: the catalog test proto (every HttpRule form and WKT) gives a document with no errors', async (t) => {
  const protoDir = path.join(packageRoot, 'test', 'unit', 'openapi', 'protos');
  const { model, protos } = buildModel({ protoPaths: [protoDir], protoFiles: ['catalog.proto'] });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-lint-')), 'openapi.json');
  writeFileSync(file, `${JSON.stringify(buildOpenApi(model, protos), null, 2)}\n`);
  check(await lint(file), 'catalog.proto', (m) => t.diagnostic(m));
});

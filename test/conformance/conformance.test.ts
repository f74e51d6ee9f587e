// Runs the official protobuf conformance suite against our testee (proto3 + its editions twin,
// recommended cases enforced). The runner itself fails when a test outside known-failures.txt
// fails, or when a listed test now passes (the list may only shrink).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const runner = path.resolve(repo, '../shared/conformance/run.sh');

test('protobuf conformance suite (proto3 JSON)', { timeout: 300_000 }, async () => {
  const args = [
    runner,
    '--enforce_recommended',
    '--maximum_edition',
    '2023',
    '--failure_list',
    path.join(here, 'known-failures.txt'),
    path.join(here, 'testee.sh'),
  ];
  const child = spawn('bash', args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const summary = output.split('\n').filter((l) => l.startsWith('CONFORMANCE SUITE') || l.startsWith('ERROR'));
  assert.equal(code, 0, `conformance runner failed:\n${summary.join('\n').slice(0, 4000)}`);
  assert.ok(summary.some((l) => l.startsWith('CONFORMANCE SUITE PASSED')), output.slice(-2000));
});

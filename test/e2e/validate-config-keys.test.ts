// `protogate validate --config` checks the config's route keys against the protos as `serve`
// does, and a key that does not fit exits 1 with the file:line:col of that key (the flags are
// applied to a copy of the loaded config, which must keep the positions).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/package-paths.js';
import { runCli } from '../helpers/cli.js';

const protoFlags = ['--proto-path', path.join(packageRoot, 'test', 'integration', 'protos'), '--proto', 'echo/v1/echo.proto', '--upstream', '*=127.0.0.1:1'];

function config(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-validate-keys-')), 'protogate.yaml');
  writeFileSync(file, text);
  return file;
}

async function validate(yaml: string): Promise<{ file: string; code: number | null; stderr: string }> {
  const file = config(yaml);
  const result = await runCli(['validate', ...protoFlags, '--config', file]);
  return { file, code: result.code, stderr: result.stderr };
}

const escaped = (file: string) => file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('protogate validate: config keys checked against the protos', () => {
  it('an auth.routes key that names no route: exit 1 with its line', async () => {
    const { file, code, stderr } = await validate(`auth:
  apiKeys: { keys: [{ sha256: ${'a'.repeat(64)}, principal: robot }] }
  routes:
    EchoService_Echo: { public: true }
    EchoService_Ech: {}
`);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`^${escaped(file)}:5:5: auth\\.routes\\.EchoService_Ech: names no served operationId or service \\(use an operationId`));
  });

  it('a rateLimit.routes key that names no route: exit 1 with its line', async () => {
    const { file, code, stderr } = await validate('rateLimit:\n  routes:\n    echo.v1.EchoServic: { requests: 1, per: 1s }\n');
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`^${escaped(file)}:3:5: rateLimit\\.routes\\.echo\\.v1\\.EchoServic: names no served operationId or service`));
  });

  it('a resilience.fallbacks key that names no route, and a body that does not encode: exit 1 with their lines', async () => {
    const unknown = await validate('log: { level: warn }\nresilience:\n  fallbacks:\n    EchoService_Nope: { status: 200 }\n');
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, new RegExp(`^${escaped(unknown.file)}:4:5: resilience\\.fallbacks\\.EchoService_Nope: names no served`));
    const badBody = await validate('resilience:\n  fallbacks:\n    EchoService_Echo:\n      body: { count: many }\n');
    assert.equal(badBody.code, 1, badBody.stderr);
    assert.match(badBody.stderr, new RegExp(`^${escaped(badBody.file)}:4:7: resilience\\.fallbacks\\.EchoService_Echo\\.body: .*count.*\\(write the echo\\.v1\\.EchoMessage answer`));
  });
});

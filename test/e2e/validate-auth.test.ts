// `protogate validate` checks the protos' auth requirements against the config as `serve` does:
// a method requiring a credential without `auth`, or naming a scheme the config does not set up,
// exits 1 naming the method and the fix; a config that fits passes without fetching anything.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/package-paths.js';
import { runCli } from '../helpers/cli.js';

const protoFlags = ['--proto-path', path.join(packageRoot, 'test', 'integration', 'protos'), '--proto', 'secure/v1/secure.proto', '--upstream', '*=127.0.0.1:1'];

function config(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'protogate-validate-auth-')), 'protogate.yaml');
  writeFileSync(file, text);
  return file;
}

describe('protogate validate and auth', () => {
  it('no auth config for protos that require a credential: exit 1', async () => {
    const result = await runCli(['validate', ...protoFlags]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /requires authentication in its proto, but no `auth` is configured/);
  });

  it('a scheme the config does not set up: exit 1 naming the method, the scheme and the key to add', async () => {
    const result = await runCli(['validate', ...protoFlags, '--config', config(`auth:\n  jwt: { secret: ${'s'.repeat(32)} }\n`)]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /RobotRead \(secure\.proto:\d+\) accepts the "api-key" scheme .* configure auth\.apiKeys/);
  });

  it('a config with both schemes passes (a JWKS URL nobody serves is not fetched by validate)', async () => {
    const yaml = `auth:\n  jwt: { jwksUrl: "http://127.0.0.1:1/jwks.json" }\n  apiKeys: { keys: [{ sha256: ${'a'.repeat(64)}, principal: robot }] }\n`;
    const result = await runCli(['validate', ...protoFlags, '--config', config(yaml)]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ok: \d+ routes in 1 service/);
  });
});

// `protogate validate` reads the upstreams' TLS files as `serve` does: a missing one exits 1
// naming its config key; readable PEM files pass.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/package-paths.js';
import { runCli } from '../helpers/cli.js';

const protoFlags = ['--proto-path', path.join(packageRoot, 'test', 'integration', 'protos'), '--proto', 'echo/v1/echo.proto'];

describe('protogate validate and upstream TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'protogate-validate-tls-'));
  const config = (text: string): string => {
    const file = path.join(dir, `protogate-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  it('a missing caFile: exit 1 naming upstreams[0].tls.caFile and the file', async () => {
    const result = await runCli(['validate', ...protoFlags, '--config', config('upstreams:\n  "*": { target: 127.0.0.1:1, tls: { caFile: certs/missing.pem } }\n')]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /upstreams\[0\]\.tls\.caFile: cannot read .*certs\/missing\.pem \(ENOENT\)/);
  });

  it('readable PEM files (paths relative to the config file): ok', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=ca'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const result = await runCli(['validate', ...protoFlags, '--config', config('upstreams:\n  "*": { addresses: [127.0.0.1:1, 127.0.0.1:2], tls: { caFile: ca.pem } }\n')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ok: \d+ routes in 1 service/);
  });
});

// API keys from a file (YAML or JSON, errors with file:line:col naming the entry) and from the
// query string (taken out before binding, names and values decoded as query strings are).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildModel } from '../../../codegen/build-model.js';
import { configSchema } from '../../../src/config/config-schema.js';
import { parseConfigText } from '../../../src/config/load-config.js';
import { packageRoot } from '../../../src/package-paths.js';
import { createApiKeyVerifier, queryKeyShadows, takeQueryKey, type ApiKeyConfig } from '../../../src/policy/auth-api-key.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'protogate-keys-'));

function keysFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function apiKeys(input: Record<string, unknown>): ApiKeyConfig {
  return configSchema.parse({ auth: { apiKeys: input } }).auth!.apiKeys!;
}

describe('API keys file', () => {
  it('reads YAML entries with scopes and roles, alongside inline keys', () => {
    const file = keysFile('keys.yaml', `# robots\n- sha256: ${sha('robot-key')}\n  principal: robot\n  scopes: [notes.read]\n  roles: [librarian]\n`);
    const verify = createApiKeyVerifier(apiKeys({ keysFile: file, keys: [{ sha256: sha('inline-key'), principal: 'inline' }] }));
    assert.deepEqual(verify('robot-key'), { ok: true, identity: { subject: 'robot', scopes: ['notes.read'], roles: ['librarian'] } });
    assert.deepEqual(verify('inline-key'), { ok: true, identity: { subject: 'inline', scopes: [], roles: [] } });
    assert.equal(verify('other').ok, false);
  });

  it('reads JSON', () => {
    const file = keysFile('keys.json', JSON.stringify([{ sha256: sha('json-key'), principal: 'from-json' }]));
    const result = createApiKeyVerifier(apiKeys({ keysFile: file }))('json-key');
    assert.ok(result.ok && result.identity.subject === 'from-json');
  });

  it('a bad entry is reported with file:line:col and the entry index', () => {
    const file = keysFile('bad.yaml', `- sha256: ${sha('a')}\n  principal: a\n- sha256: not-a-hash\n  principal: b\n`);
    assert.throws(() => createApiKeyVerifier(apiKeys({ keysFile: file })), (error: Error) => {
      assert.match(error.message, new RegExp(`^${file.replaceAll('\\', '\\\\')}:3:11: 1\\.sha256: must be the hex SHA-256`));
      return true;
    });
  });

  it('an unknown key in an entry, a file that is not a list, an empty list, a missing file', () => {
    const unknown = keysFile('unknown.yaml', `- sha256: ${sha('a')}\n  principal: a\n  scope: [x]\n`);
    assert.throws(() => createApiKeyVerifier(apiKeys({ keysFile: unknown })), /unknown\.yaml:3:3: 0\.scope: unknown key/);
    const map = keysFile('map.yaml', `robot: ${sha('a')}\n`);
    assert.throws(() => createApiKeyVerifier(apiKeys({ keysFile: map })), /map\.yaml:1:1: .*must be a list of keys/);
    const empty = keysFile('empty.yaml', '[]\n');
    assert.throws(() => createApiKeyVerifier(apiKeys({ keysFile: empty })), /empty\.yaml:1:1: auth\.apiKeys\.keysFile holds no keys/);
    assert.throws(() => createApiKeyVerifier(apiKeys({ keysFile: path.join(dir, 'missing.yaml') })), /auth\.apiKeys\.keysFile: cannot read .*missing\.yaml \(ENOENT; /);
  });

  it('config: keys or keysFile is required; a keysFile path is resolved against the config file', () => {
    const parsed = configSchema.safeParse({ auth: { apiKeys: {} } });
    assert.ok(!parsed.success);
    assert.match(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n'), /auth\.apiKeys\.keys: is empty and no keysFile is set/);
    const config = parseConfigText('auth:\n  apiKeys: { keysFile: secrets/keys.yaml }\n', '/etc/protogate/protogate.yaml');
    assert.equal(config.auth!.apiKeys!.keysFile, '/etc/protogate/secrets/keys.yaml');
  });
});

describe('API key in the query', () => {
  const cases: Array<{ query: string; query_out: string; key: string | undefined }> = [
    { query: 'api_key=abc', query_out: '', key: 'abc' },
    { query: 'a=1&api_key=abc&b=2', query_out: 'a=1&b=2', key: 'abc' },
    { query: 'a=1&b=2', query_out: 'a=1&b=2', key: undefined },
    { query: 'api_key=a%2Bb+c', query_out: '', key: 'a+b c' },
    { query: 'api%5Fkey=abc&x=%41', query_out: 'x=%41', key: 'abc' },
    { query: 'api_key=first&api_key=second', query_out: '', key: 'first' },
    { query: 'api_key', query_out: '', key: '' },
    { query: 'my_api_key=abc', query_out: 'my_api_key=abc', key: undefined },
    { query: 'api_key=%E0%A4%A', query_out: '', key: '%E0%A4%A' },
  ];
  for (const c of cases) {
    it(`${c.query} → ${c.query_out || '(empty)'}, key ${String(c.key)}`, () => {
      assert.deepEqual(takeQueryKey(c.query, 'api_key'), { query: c.query_out, key: c.key });
    });
  }
});

describe('a query parameter name that a request field also has', () => {
  const { model } = buildModel({ protoPaths: [path.join(packageRoot, 'test', 'integration', 'protos')], protoFiles: ['secure/v1/secure.proto'] });

  it('is found on every route whose query could bind it (proto or JSON name), not on body "*" routes', () => {
    const shadows = queryKeyShadows(model, 'text');
    assert.deepEqual(shadows.map((s) => s.route.method), ['Open', 'RobotRead', 'PersonRead']);
    assert.equal(shadows[0]!.field, 'secure.v1.Note.text');
    assert.deepEqual(queryKeyShadows(model, 'api_key'), []);
    assert.deepEqual(queryKeyShadows(model, 'text.more'), [], 'text has no sub-fields');
  });
});

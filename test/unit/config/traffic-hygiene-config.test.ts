// The config keys of the traffic-hygiene policies: defaults, and bad values reported at load
// with file:line:col and the key (load-config.ts), as a user would see them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, parseConfigText } from '../../../src/config/load-config.js';

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml, 'protogate.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('traffic hygiene config', () => {
  it('has defaults: compression on (br, gzip, 1 KB), no IP filter, no trusted proxies, no TLS, bounded JSON and query', () => {
    const config = parseConfigText('{}', 'protogate.yaml');
    assert.deepEqual(config.compression, { enabled: true, minBytes: 1024, encodings: ['br', 'gzip'], brotliQuality: 4, gzipLevel: 6 });
    assert.equal(config.ipFilter, undefined);
    assert.deepEqual(config.server.trustedProxies, []);
    assert.equal(config.server.tls, undefined);
    assert.equal(config.json.maxFields, 100_000);
    assert.equal(config.limits.maxQueryParams, 1000);
  });

  it('reports bad CIDR entries with their line and key, all at once', () => {
    const found = problems('ipFilter:\n  allow: [10.0.0.1/8, 300.1.2.3]\nserver:\n  trustedProxies: ["10.0.0.0/40"]\n');
    assert.equal(found.length, 3, found.join('\n'));
    const text = found.join('\n');
    assert.match(text, /protogate\.yaml:2:\d+: ipFilter\.allow\.0: has bits set after the \/8 prefix; write the network address, e\.g\. "10\.0\.0\.0\/8"/);
    assert.match(text, /protogate\.yaml:2:\d+: ipFilter\.allow\.1: must be an IP address or CIDR range/);
    assert.match(text, /protogate\.yaml:4:\d+: server\.trustedProxies\.0: has a bad prefix length; use \/0 to \/32/);
  });

  it('refuses unknown compression codings and out-of-range levels', () => {
    const found = problems('compression: { encodings: [zstd], brotliQuality: 12 }\n');
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(found.join('\n'), /compression\.encodings\.0/);
    assert.match(found.join('\n'), /compression\.brotliQuality/);
  });

  it('resolves TLS file paths against the config file directory', () => {
    const config = parseConfigText('server:\n  tls: { certFile: certs/a.pem, keyFile: certs/a.key, caFile: /etc/ca.pem }\n', '/srv/gw/protogate.yaml');
    assert.equal(config.server.tls?.certFile, path.resolve('/srv/gw/certs/a.pem'));
    assert.equal(config.server.tls?.keyFile, path.resolve('/srv/gw/certs/a.key'));
    assert.equal(config.server.tls?.caFile, '/etc/ca.pem');
  });
});

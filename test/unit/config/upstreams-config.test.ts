// The `upstreams` config forms (list and map; one address, several, a DNS name; tls) and the
// upstream balancing keys: what they normalise to, and how bad values are reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfigText } from '../../../src/config/load-config.js';

function problems(text: string): string[] {
  try {
    parseConfigText(text, '/etc/protogate.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('the config was accepted');
}

describe('upstreams config', () => {
  it('keeps the list form, and adds addresses and dns entries to it', () => {
    const config = parseConfigText(
      `upstreams:
  - { service: a.A, target: 127.0.0.1:1 }
  - { service: b.B, addresses: [127.0.0.1:2, "[::1]:3"] }
  - { service: "*", dns: backend.internal:50051, dnsRefresh: 10s }
`,
      '/etc/protogate.yaml',
    );
    assert.deepEqual(config.upstreams, [
      { service: 'a.A', target: '127.0.0.1:1' },
      { service: 'b.B', addresses: ['127.0.0.1:2', '[::1]:3'] },
      { service: '*', dns: 'backend.internal:50051', dnsRefresh: '10s' },
    ]);
  });

  it('reads the map form: HOST:PORT, a list of them, or an object; tls paths are resolved against the config file', () => {
    const config = parseConfigText(
      `upstreams:
  a.A: 127.0.0.1:1
  b.B: [127.0.0.1:2, 127.0.0.1:3]
  "*": { dns: localhost:4, tls: { caFile: certs/ca.pem, serverName: backend } }
`,
      '/etc/protogate/protogate.yaml',
    );
    assert.deepEqual(config.upstreams, [
      { service: 'a.A', target: '127.0.0.1:1' },
      { service: 'b.B', addresses: ['127.0.0.1:2', '127.0.0.1:3'] },
      { service: '*', dns: 'localhost:4', tls: { caFile: '/etc/protogate/certs/ca.pem', serverName: 'backend' } },
    ]);
  });

  it('defaults: round-robin, outlier ejection on, health checks off, no ratio trigger', () => {
    const config = parseConfigText('{}', '/etc/protogate.yaml');
    assert.equal(config.upstream.balance, 'round-robin');
    assert.deepEqual(config.upstream.outlierDetection, { enabled: true, consecutiveFailures: 5, baseEjectionTime: '30s', maxEjectionTime: '5m', maxEjectedPercent: 50 });
    assert.equal(config.upstream.healthCheck.enabled, false);
    assert.equal(config.resilience.breaker.failureRatio, undefined);
    assert.equal(config.upstream.keepaliveInterval, undefined);
    assert.equal(parseConfigText('upstream: { keepaliveInterval: 20s }', '/etc/protogate.yaml').upstream.keepaliveInterval, '20s');
  });

  it('reports each bad value with its line, key and the fix', () => {
    const found = problems(`upstreams:
  - { service: a.A, target: 127.0.0.1:1, addresses: [127.0.0.1:2] }
  - { service: b.B }
  - { service: c.C, addresses: [nohostport] }
  - { service: d.D, target: 127.0.0.1:4, dnsRefresh: 5s }
  - { service: e.E, target: 127.0.0.1:5, tls: { certFile: c.pem } }
upstream: { balance: random }
resilience: { breaker: { failureRatio: { ratio: 1.5 } } }
`);
    const expected = [
      /:2:\d+: upstreams\.0\.addresses: has target and addresses; give exactly one of target/,
      /:3:\d+: upstreams\.1: needs exactly one of target \("HOST:PORT"\), addresses/,
      /:4:\d+: upstreams\.2\.addresses\.0: must be HOST:PORT/,
      /:5:\d+: upstreams\.3\.dnsRefresh: applies to dns only/,
      /:6:\d+: upstreams\.4\.tls\.keyFile: is missing: a client certificate \(mTLS\) needs both certFile and keyFile/,
      /:7:\d+: upstream\.balance: .*round-robin.*least-outstanding/,
      /:8:\d+: resilience\.breaker\.failureRatio\.ratio: /,
    ];
    for (const pattern of expected) assert.ok(found.some((p) => pattern.test(p)), `${pattern} not in:\n${found.join('\n')}`);
    assert.equal(found.length, expected.length, found.join('\n'));
  });

  it('reports a bad map entry under its service name', () => {
    const found = problems(`upstreams:
  a.A: [127.0.0.1:1, bad]
  "not a service": 127.0.0.1:2
`);
    assert.ok(found.some((p) => /:2:\d+: upstreams\.a\.A(\.1)?: /.test(p)), found.join('\n'));
    assert.ok(found.some((p) => /upstreams\.not a service: must be a fully-qualified service name/.test(p)), found.join('\n'));
  });
});

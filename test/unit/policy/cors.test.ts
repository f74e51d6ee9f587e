// The CORS decisions as pure functions: preflight (origin, route, method, headers), the headers
// of actual responses, and the config checks of the `cors` key.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { configSchema } from '../../../src/config/config-schema.js';
import { ConfigError, parseConfigText } from '../../../src/config/load-config.js';
import { actualResponseHeaders, createCorsPolicy, decidePreflight, isPreflight, type CorsConfig } from '../../../src/policy/cors.js';

const APP = 'https://app.example.com';
const defaults = (input: Partial<CorsConfig> & { allowOrigins: string[] }): CorsConfig => configSchema.parse({ cors: input }).cors!;
const listed = createCorsPolicy(defaults({ allowOrigins: [APP, 'http://localhost:3000'] }));
const credentialed = createCorsPolicy(defaults({ allowOrigins: [APP], allowCredentials: true, maxAgeSeconds: 60, exposeHeaders: [] }));
const anyOrigin = createCorsPolicy(defaults({ allowOrigins: ['*'] }));

describe('isPreflight', () => {
  const cases: Array<[string, string, IncomingHttpHeaders, boolean]> = [
    ['OPTIONS with Origin and Access-Control-Request-Method', 'OPTIONS', { origin: APP, 'access-control-request-method': 'POST' }, true],
    ['OPTIONS without Access-Control-Request-Method', 'OPTIONS', { origin: APP }, false],
    ['OPTIONS without Origin', 'OPTIONS', { 'access-control-request-method': 'POST' }, false],
    ['POST with both headers', 'POST', { origin: APP, 'access-control-request-method': 'POST' }, false],
  ];
  for (const [name, method, headers, expected] of cases) it(name, () => assert.equal(isPreflight(method, headers), expected));
});

describe('decidePreflight', () => {
  const methods = ['GET', 'POST'];
  const cases: Array<{ name: string; policy: typeof listed; headers: IncomingHttpHeaders; methods?: string[]; expect: unknown }> = [
    {
      name: 'allowed origin, route answers the method, allowed headers',
      policy: listed,
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,X-Request-Id' },
      expect: {
        kind: 'allow',
        headers: {
          'access-control-allow-origin': APP,
          vary: 'Origin',
          'access-control-max-age': '600',
          'access-control-allow-headers': 'content-type, authorization, x-request-id, grpc-timeout, traceparent',
          'access-control-allow-methods': 'GET, POST',
        },
      },
    },
    {
      name: 'credentials and max age from config',
      policy: credentialed,
      headers: { origin: APP, 'access-control-request-method': 'GET' },
      expect: {
        kind: 'allow',
        headers: {
          'access-control-allow-origin': APP,
          vary: 'Origin',
          'access-control-allow-credentials': 'true',
          'access-control-max-age': '60',
          'access-control-allow-headers': 'content-type, authorization, x-request-id, grpc-timeout, traceparent',
          'access-control-allow-methods': 'GET, POST',
        },
      },
    },
    {
      name: '"*" answers "*" and needs no Vary',
      policy: anyOrigin,
      headers: { origin: 'https://elsewhere.test', 'access-control-request-method': 'GET' },
      expect: {
        kind: 'allow',
        headers: {
          'access-control-allow-origin': '*',
          'access-control-max-age': '600',
          'access-control-allow-headers': 'content-type, authorization, x-request-id, grpc-timeout, traceparent',
          'access-control-allow-methods': 'GET, POST',
        },
      },
    },
    {
      name: 'origin not listed → 403 naming the origin',
      policy: listed,
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
      expect: { kind: 'deny', reason: 'PG_CORS_ORIGIN_DENIED', message: /"https:\/\/evil\.test" is not allowed by cors\.allowOrigins/ },
    },
    {
      name: 'origins compare exactly (a trailing slash or another port is another origin)',
      policy: listed,
      headers: { origin: 'http://localhost:3001', 'access-control-request-method': 'GET' },
      expect: { kind: 'deny', reason: 'PG_CORS_ORIGIN_DENIED', message: /localhost:3001/ },
    },
    {
      name: 'origin checked before the route',
      policy: listed,
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
      methods: [],
      expect: { kind: 'deny', reason: 'PG_CORS_ORIGIN_DENIED', message: /evil/ },
    },
    {
      name: 'no route on the path → the usual 404',
      policy: listed,
      headers: { origin: APP, 'access-control-request-method': 'GET' },
      methods: [],
      expect: { kind: 'no-route' },
    },
    {
      name: 'a method the path does not answer → 403 naming the allowed ones',
      policy: listed,
      headers: { origin: APP, 'access-control-request-method': 'DELETE' },
      expect: { kind: 'deny', reason: 'PG_CORS_METHOD_DENIED', message: /DELETE is not allowed on \/v1\/shelves; allowed: GET, POST/ },
    },
    {
      name: 'a request header not listed → 403 naming the header',
      policy: listed,
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-secret' },
      expect: { kind: 'deny', reason: 'PG_CORS_HEADER_DENIED', message: /request header "x-secret" is not allowed by cors\.allowHeaders/ },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const decision = decidePreflight(c.policy, c.headers, '/v1/shelves', c.methods ?? methods);
      if (decision.kind !== 'deny') return assert.deepEqual(decision, c.expect);
      const expected = c.expect as { kind: string; reason: string; message: RegExp };
      assert.equal(expected.kind, 'deny');
      assert.equal(decision.error.code, 7);
      assert.equal(decision.error.reason, expected.reason);
      assert.match(decision.error.message, expected.message);
    });
  }
});

describe('actualResponseHeaders', () => {
  it('an allowed origin gets its origin, Vary and the exposed headers (by default the request id and the rate-limit headers)', () => {
    assert.deepEqual(actualResponseHeaders(listed, APP), {
      'access-control-allow-origin': APP,
      vary: 'Origin',
      'access-control-expose-headers': 'x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, ratelimit-policy, retry-after',
    });
  });
  it('credentials when configured; no expose header when the list is empty', () => {
    assert.deepEqual(actualResponseHeaders(credentialed, APP), { 'access-control-allow-origin': APP, vary: 'Origin', 'access-control-allow-credentials': 'true' });
  });
  it('"*" for any origin', () => assert.equal(actualResponseHeaders(anyOrigin, 'https://x.test')?.['access-control-allow-origin'], '*'));
  it('nothing for a disallowed origin or no Origin; Vary still marks the answer as origin-dependent', () => {
    assert.equal(actualResponseHeaders(listed, 'https://evil.test'), undefined);
    assert.equal(actualResponseHeaders(listed, undefined), undefined);
    assert.deepEqual(listed.everyResponse, { vary: 'Origin' });
    assert.equal(anyOrigin.everyResponse, undefined);
  });
  it('precomputed: the same frozen object for every request', () => {
    assert.equal(actualResponseHeaders(listed, APP), actualResponseHeaders(listed, APP));
    assert.ok(Object.isFrozen(actualResponseHeaders(listed, APP)));
  });
});

describe('cors config', () => {
  const problems = (text: string): string[] => {
    try {
      parseConfigText(text, 'protogate.yaml');
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
    return [];
  };
  it('absent: no policy', () => assert.equal(configSchema.parse({}).cors, undefined));
  it('"*" with credentials names the key and the line', () => {
    assert.deepEqual(problems('cors:\n  allowCredentials: true\n  allowOrigins:\n    - https://a.test\n    - "*"\n'), [
      'protogate.yaml:5:7: cors.allowOrigins.1: is "*", which browsers refuse together with allowCredentials: true; list the origins instead (fix this value)',
    ]);
  });
  it('origins must be bare origins; header names cannot be wildcards', () => {
    const found = problems('cors:\n  allowOrigins: ["https://a.test/"]\n  exposeHeaders: ["grpc-metadata-*"]\n');
    assert.equal(found.length, 2);
    assert.match(found[0]!, /^protogate\.yaml:2:\d+: cors\.allowOrigins\.0: must be an origin/);
    assert.match(found[1]!, /^protogate\.yaml:3:\d+: cors\.exposeHeaders\.0: must be one header name; .*grpc-metadata-\* headers one by one/);
  });
  it('allowOrigins is required and not empty', () => {
    assert.match(problems('cors: {}\n')[0]!, /cors\.allowOrigins: is required/);
    assert.match(problems('cors:\n  allowOrigins: []\n')[0]!, /cors\.allowOrigins: /);
  });
});

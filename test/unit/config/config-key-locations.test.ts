// Config problems found only against the protos (route keys that match nothing, a fallback body
// that is not the response message) carry the file:line:col of their key, as schema errors do;
// a config built in code reports the key path alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildModel } from '../../../codegen/build-model.js';
import { configSchema, type GatewayConfig } from '../../../src/config/config-schema.js';
import { keepConfigSource, locatedProblem } from '../../../src/config/config-source.js';
import { parseConfigText } from '../../../src/config/load-config.js';
import { checkAuthPolicies, checkRateLimitRoutes, checkSseIdFields, routeFallbacks, StartupError } from '../../../src/server/start-gateway.js';
import { testProtosDir } from '../../helpers/gateway.js';

const { model } = buildModel({ protoPaths: [testProtosDir], protoFiles: ['echo/v1/echo.proto'] });

/** The StartupError message `check` throws for `config`. */
function problemOf(check: (config: GatewayConfig) => unknown, config: GatewayConfig): string {
  try {
    check(config);
  } catch (error) {
    assert.ok(error instanceof StartupError, String(error));
    return error.message;
  }
  assert.fail('the config was accepted');
}

const fromFile = (text: string) => parseConfigText(text, '/etc/protogate.yaml');

describe('config key locations', () => {
  it('an auth.routes key that names no route: its line and column', () => {
    const config = fromFile(`auth:
  apiKeys:
    keys: [{ sha256: ${'a'.repeat(64)}, principal: robot }]
  routes:
    EchoService_Echo: { scopes: [echo.read] }
    EchoService_Nope: {}
`);
    assert.match(problemOf((c) => checkAuthPolicies(model, c), config), /^\/etc\/protogate\.yaml:6:5: auth\.routes\.EchoService_Nope: names no served operationId or service \(use an operationId such as /);
  });

  it('a streaming.sseIdFields key that names no server-streaming rpc: its line', () => {
    const config = fromFile(`streaming:
  sseIdFields:
    echo.v1.EchoService/Echo: id
`);
    assert.match(problemOf((c) => checkSseIdFields(model, c), config), /^\/etc\/protogate\.yaml:3:5: streaming\.sseIdFields\.echo\.v1\.EchoService\/Echo: no server-streaming rpc echo\.v1\.EchoService\/Echo is served /);
  });

  it('an auth.apiKeys.query that shadows a request field: its line', () => {
    const config = fromFile(`auth:
  apiKeys:
    keys: [{ sha256: ${'a'.repeat(64)}, principal: robot }]
    query: id
`);
    assert.match(problemOf((c) => checkAuthPolicies(model, c), config), /^\/etc\/protogate\.yaml:4:5: auth\.apiKeys\.query: is "id", which is also the request field echo\.v1\.EchoMessage\.id of /);
  });

  it('a rateLimit.routes key that names no route: its line and column', () => {
    const config = fromFile(`rateLimit:

  routes:
    "echo.v1.EchoService": { requests: 10, per: 1s }
    EchoService_Nope: { requests: 1, per: 1s }
`);
    assert.match(problemOf((c) => checkRateLimitRoutes(model, c), config), /^\/etc\/protogate\.yaml:5:5: rateLimit\.routes\.EchoService_Nope: names no served operationId or service/);
  });

  it('a resilience.fallbacks key that names no route, and a body that does not encode: their lines', () => {
    const unknown = fromFile(`resilience:
  fallbacks:
    EchoService_Nope:
      status: 200
`);
    assert.match(problemOf((c) => routeFallbacks(model, c), unknown), /^\/etc\/protogate\.yaml:3:5: resilience\.fallbacks\.EchoService_Nope: names no served operationId/);
    const badBody = fromFile(`resilience:
  fallbacks:
    EchoService_Echo:
      headers: { x-served-by: fallback }
      body:
        count: many
`);
    assert.match(problemOf((c) => routeFallbacks(model, c), badBody), /^\/etc\/protogate\.yaml:5:7: resilience\.fallbacks\.EchoService_Echo\.body: .*count.*\(write the echo\.v1\.EchoMessage answer/);
  });

  it('a copy of a loaded config (flags applied) keeps the locations; a config built in code has none', () => {
    const loaded = fromFile('rateLimit:\n  routes:\n    EchoService_Nope: { requests: 1, per: 1s }\n');
    const copy = keepConfigSource(loaded, structuredClone(loaded));
    assert.match(problemOf((c) => checkRateLimitRoutes(model, c), copy), /^\/etc\/protogate\.yaml:3:5: rateLimit\.routes\.EchoService_Nope: /);
    assert.match(problemOf((c) => checkRateLimitRoutes(model, c), structuredClone(loaded)), /^rateLimit\.routes\.EchoService_Nope: names no served/);
    const inCode = configSchema.parse({ rateLimit: { routes: { EchoService_Nope: { requests: 1, per: '1s' } } } });
    assert.match(problemOf((c) => checkRateLimitRoutes(model, c), inCode), /^rateLimit\.routes\.EchoService_Nope: names no served/);
  });

  it('a key the file does not have (set by a flag) names the file without a position', () => {
    assert.equal(locatedProblem(fromFile('log: { level: info }\n'), ['server', 'port'], 'is taken (choose another port)'), '/etc/protogate.yaml: server.port: is taken (choose another port)');
  });
});

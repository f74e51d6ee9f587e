// The served document: the generated one, corrected with what only the config knows (the API-key
// header's name, the configured schemes, auth.defaultPolicy, config rate limits).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildModel } from '../../../codegen/build-model.js';
import { buildOpenApi } from '../../../codegen/openapi.js';
import { servedDocument, type ServedPolicies } from '../../../codegen/openapi/served-document.js';
import type { RouteSpec } from '../../../src/gateway-model.js';

type Json = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

function generate(protoPath: string, protoFile: string): { doc: Json; routes: readonly RouteSpec[] } {
  const { model, protos } = buildModel({ protoPaths: [protoPath], protoFiles: [protoFile] });
  return { doc: buildOpenApi(model, protos), routes: model.routes };
}

const demo = () => generate(path.join(repo, 'protos'), 'library/v1/library.proto');
const secure = () => generate(path.join(repo, 'test/integration/protos'), 'secure/v1/secure.proto');
const unlimited = () => undefined;

function operations(doc: Json): Json[] {
  return Object.values(doc['paths'] as Json).flatMap((item) => Object.values(item as Json));
}

function byMethod(doc: Json, method: string): Json {
  const found = operations(doc).find((op) => (op['x-protogate-grpc-method'] as string).endsWith(`/${method}`));
  assert.ok(found, `no operation for ${method}`);
  return found;
}

describe('the served OpenAPI document', () => {
  it('is the generated document when the config has neither auth nor limits', () => {
    const { doc, routes } = demo();
    assert.deepEqual(servedDocument(doc, routes, { rateLimitFor: unlimited }), doc);
  });

  it('requires a credential on unannotated routes under defaultPolicy authenticated, with the configured header and query names', async () => {
    const { doc, routes } = demo();
    const policies: ServedPolicies = {
      auth: { jwt: true, apiKey: { header: 'x-demo-key', query: 'api_key' }, defaultPolicy: 'authenticated' },
      rateLimitFor: unlimited,
    };
    const served = servedDocument(doc, routes, policies) as Json;
    await SwaggerParser.validate(structuredClone(served) as never);
    const schemes = served['components']['securitySchemes'];
    assert.deepEqual(schemes['apiKeyAuth'], { type: 'apiKey', in: 'header', name: 'x-demo-key', description: schemes['apiKeyAuth'].description });
    assert.equal(schemes['apiKeyQueryAuth'].in, 'query');
    assert.equal(schemes['apiKeyQueryAuth'].name, 'api_key');
    assert.equal(schemes['bearerAuth'].scheme, 'bearer');
    const unannotated = new Set(routes.filter((route) => route.auth === undefined).map((route) => route.operationId));
    assert.ok(unannotated.size > 0);
    for (const op of operations(served).filter((op) => unannotated.has(op['operationId']))) {
      assert.deepEqual(op['security'], [{ bearerAuth: [] }, { apiKeyAuth: [] }, { apiKeyQueryAuth: [] }], op['operationId']);
      assert.deepEqual(op['responses']['401'], { $ref: '#/components/responses/Unauthenticated' });
    }
    assert.ok(served['components']['responses']['Unauthenticated']);
    assert.equal(doc['components']['securitySchemes'], undefined, 'the generated document is not modified');
  });

  it('marks unannotated routes public under defaultPolicy public', () => {
    const { doc, routes } = demo();
    const plain = routes.map(({ auth: _auth, ...route }) => route);
    const served = servedDocument(doc, plain, { auth: { jwt: true, defaultPolicy: 'public' }, rateLimitFor: unlimited }) as Json;
    for (const op of operations(served)) {
      assert.deepEqual(op['security'], []);
      assert.equal(op['responses']['401'], undefined);
    }
    assert.equal(served['components']['securitySchemes'], undefined);
  });

  it('offers only the configured schemes on annotated routes', () => {
    const { doc, routes } = secure();
    const served = servedDocument(doc, routes, { auth: { jwt: true, defaultPolicy: 'public' }, rateLimitFor: unlimited }) as Json;
    assert.deepEqual(Object.keys(served['components']['securitySchemes']), ['bearerAuth']);
    const guarded = operations(served).filter((op) => (op['security'] as unknown[]).length > 0);
    assert.ok(guarded.length > 0);
    for (const op of guarded) for (const alternative of op['security']) assert.deepEqual(Object.keys(alternative), ['bearerAuth']);
  });

  it('documents 429 on routes the config limits', async () => {
    const { doc, routes } = demo();
    const served = servedDocument(doc, routes, {
      rateLimitFor: (route) => (route.method === 'CreateBook' ? { requests: 5, perMs: 1000, key: 'ip' } : undefined),
    });
    await SwaggerParser.validate(structuredClone(served) as never);
    assert.deepEqual(byMethod(served, 'CreateBook')['responses']['429'], { $ref: '#/components/responses/TooManyRequests' });
    assert.match(byMethod(served, 'CreateBook')['description'], /5 calls per 1 s per client address/);
    assert.equal(byMethod(served, 'GetBook')['responses']['429'], undefined);
  });
});

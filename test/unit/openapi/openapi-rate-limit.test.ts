// Rate limits in the OpenAPI document: a limited operation documents its 429 answer (Retry-After,
// RateLimit headers, a Status body), the headers on its 200 answer and the limit in words;
// operations without a limit and documents without any stay as they were.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildModel } from '../../../codegen/build-model.js';
import { buildOpenApi } from '../../../codegen/openapi.js';
import type { GatewayModel, RouteSpec } from '../../../src/gateway-model.js';

type Json = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

/** The demo's document, with a limit put on the routes the predicate picks (as the proto annotation would). */
function demoWithLimits(limited: (route: RouteSpec) => boolean): Json {
  const { model, protos } = buildModel({ protoPaths: [path.join(repo, 'protos')], protoFiles: ['library/v1/library.proto'] });
  const routes = model.routes.map((route) => (limited(route) ? { ...route, rateLimit: { requests: 100, perMs: 60_000, key: 'principal' as const } } : route));
  const withLimits: GatewayModel = { ...model, routes };
  return buildOpenApi(withLimits, protos);
}

function operation(doc: Json, operationId: string): Json {
  for (const item of Object.values(doc['paths'] as Json)) {
    for (const op of Object.values(item as Json)) if ((op as Json)['operationId'] === operationId) return op as Json;
  }
  assert.fail(`no operation ${operationId}`);
}

describe('OpenAPI for rate-limited operations', () => {
  const doc = demoWithLimits((route) => route.method === 'ListBooks');

  it('is a valid OpenAPI 3.1 document', async () => {
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  it('documents 429 with Retry-After and the RateLimit headers on a limited operation', () => {
    const list = operation(doc, 'LibraryService_ListBooks');
    assert.deepEqual(list['responses']['429'], { $ref: '#/components/responses/TooManyRequests' });
    const tooMany = doc['components']['responses']['TooManyRequests'];
    assert.match(tooMany['description'], /RESOURCE_EXHAUSTED/);
    assert.ok(tooMany['headers']['Retry-After']);
    assert.equal(tooMany['content']['application/json']['schema']['$ref'], '#/components/schemas/Status');
    for (const name of ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy']) {
      assert.ok(doc['components']['headers'][name], `components.headers.${name}`);
      assert.deepEqual(list['responses']['200']['headers'][name], { $ref: `#/components/headers/${name}` });
    }
    assert.match(list['description'], /Rate limit: 100 calls per 1 min per caller/);
    // integer-like status keys come out in ascending order, `default` last
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(list['responses']))), ['200', '400', '404', '429', '503', '504', 'default']);
  });

  it('leaves operations without a limit alone', () => {
    const get = operation(doc, 'LibraryService_GetBook');
    assert.equal(get['responses']['429'], undefined);
    assert.equal(get['responses']['200']['headers'], undefined);
  });

  it('adds no rate-limit components to a document without limits', () => {
    const plain = demoWithLimits(() => false);
    assert.equal(plain['components']['headers'], undefined);
    assert.equal(plain['components']['responses']['TooManyRequests'], undefined);
  });
});

// google.api.HttpBody in the OpenAPI document: raw request bodies and raw answers are binary of
// any media type, not the HttpBody message's JSON form.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildModel } from '../../../codegen/build-model.js';
import { buildOpenApi } from '../../../codegen/openapi.js';

type Json = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

describe('OpenAPI for google.api.HttpBody', () => {
  const { model, protos } = buildModel({ protoPaths: [path.join(repo, 'test/integration/protos')], protoFiles: ['media/v1/media.proto'] });
  const doc = buildOpenApi(model, protos) as Json;
  const op = (id: string): Json => {
    for (const item of Object.values(doc['paths'] as Json)) for (const candidate of Object.values(item as Json)) if (candidate.operationId === id) return candidate;
    assert.fail(`no ${id}`);
  };
  const binary = { '*/*': { schema: { type: 'string', format: 'binary' } } };

  it('is a valid OpenAPI 3.1 document', async () => {
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  it('documents an HttpBody request, whole or as the body field, as binary of any type', () => {
    assert.deepEqual(op('MediaService_PutBlob').requestBody.content, binary);
    const setCover = op('MediaService_SetCover');
    assert.deepEqual(setCover.requestBody.content, binary);
    assert.deepEqual(setCover.parameters.map((p: Json) => p.in), ['path'], 'the image is the body, not a query parameter');
  });

  it('documents an HttpBody answer, whole or as response_body, as binary of any type', () => {
    assert.deepEqual(op('MediaService_GetBlob').responses['200'].content, binary);
    assert.deepEqual(op('MediaService_GetCover').responses['200'].content, binary);
    const download = op('MediaService_DownloadBlob').responses['200'];
    assert.deepEqual(download.content, binary, 'a server stream of HttpBody is a download, not NDJSON');
    assert.match(download.description, /Content-Type of the first one/);
    assert.deepEqual(op('MediaService_PutBlob').responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/media.v1.BlobInfo' });
  });
});

// OpenAPI for server streams: the 200 of a server-streaming route offers NDJSON and SSE, with
// the schema of one message and the framing in words; unary routes keep plain JSON. The document
// stays valid OpenAPI 3.1.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildModel } from '../../../codegen/build-model.js';
import { buildOpenApi } from '../../../codegen/openapi.js';
import { bundledProtosDir } from '../../../src/package-paths.js';
import { testProtosDir } from '../../helpers/gateway.js';

type Json = Record<string, any>;

function generate(protoPath: string, protoFile: string): Json {
  const { model, protos } = buildModel({ protoPaths: [protoPath], protoFiles: [protoFile] });
  return buildOpenApi(model, protos) as Json;
}

it('the demo WatchShelf: NDJSON and SSE content, one ShelfEvent per message, framing and errors described', async () => {
  const doc = generate(bundledProtosDir, 'library/v1/library.proto');
  const watch = doc['paths']['/v1/shelves/{shelf}:watch']['get'];
  const ok = watch['responses']['200'];
  assert.deepEqual(Object.keys(ok['content']), ['application/x-ndjson', 'text/event-stream']);
  assert.equal(ok['content']['application/x-ndjson']['schema']['$ref'], '#/components/schemas/library.v1.ShelfEvent');
  assert.match(ok['description'], /application\/x-ndjson.*\{"error": google\.rpc\.Status\}/);
  assert.equal(ok['content']['text/event-stream']['x-protogate-item-schema']['$ref'], '#/components/schemas/library.v1.ShelfEvent');
  assert.match(ok['description'], /text\/event-stream.*event: error.*event: end/s);
  assert.match(watch['description'], /server-streaming/);
  // unary routes are unchanged
  assert.deepEqual(Object.keys(doc['paths']['/v1/shelves/{shelf}']['get']['responses']['200']['content']), ['application/json']);
  await SwaggerParser.validate(structuredClone(doc) as never);
});

it('response_body applies per message of a stream; a client stream takes an NDJSON body', async () => {
  const doc = generate(testProtosDir, 'stream/v1/ticker.proto');
  const values = doc['paths']['/v1/ticks/{name}/values']['get']['responses']['200'];
  assert.equal(values['content']['application/x-ndjson']['schema']['type'], 'string');
  assert.match(values['description'], /`value` field of a `stream\.v1\.Tick`/);
  const collect = doc['paths']['/v1/collect']['post'];
  assert.match(collect['description'], /client-streaming RPC: the request body is NDJSON/);
  assert.deepEqual(Object.keys(collect['requestBody']['content']), ['application/x-ndjson']);
  assert.equal(collect['requestBody']['content']['application/x-ndjson']['schema']['$ref'], '#/components/schemas/stream.v1.Tick');
  assert.match(collect['requestBody']['description'], /^Newline-delimited JSON: one message per line, each a `stream\.v1\.Tick`\./);
  await SwaggerParser.validate(structuredClone(doc) as never);
});

it('a client stream of google.api.HttpBody takes a raw body of any media type', async () => {
  const doc = generate(testProtosDir, 'stream/v1/relay.proto');
  const upload = doc['paths']['/v1/uploads']['post'];
  assert.match(upload['description'], /client-streaming RPC: the request body is raw bytes/);
  assert.deepEqual(Object.keys(upload['requestBody']['content']), ['*/*']);
  assert.match(upload['requestBody']['description'], /at most 64 KiB/);
  await SwaggerParser.validate(structuredClone(doc) as never);
});

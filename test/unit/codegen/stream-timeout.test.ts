// A service's `(protogate.v1.service_policy).timeout` is for its unary methods: a server-streaming
// method keeps only its own `timeout` (else the config's timeouts.stream applies at runtime).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildModel } from '../../../codegen/build-model.js';
import { bundledProtosDir } from '../../../src/package-paths.js';

it('the demo service timeout (5s) reaches its unary routes but not WatchShelf', () => {
  const { model } = buildModel({ protoPaths: [bundledProtosDir], protoFiles: ['library/v1/library.proto'] });
  const timeouts = new Map(model.routes.map((route) => [route.operationId, route.timeoutMs]));
  assert.equal(timeouts.get('LibraryService_GetShelf'), 5000);
  assert.equal(timeouts.get('LibraryService_CheckoutBook'), 2000);
  assert.equal(timeouts.get('LibraryService_WatchShelf'), undefined);
});

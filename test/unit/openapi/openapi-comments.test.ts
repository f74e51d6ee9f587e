// Where documentation comes from: a leading comment (first sentence → summary, the rest →
// description), else a trailing comment on the same line; detached comments (separated by a blank
// line) document nothing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../../../codegen/build-model.js';
import { buildOpenApi } from '../../../codegen/openapi.js';

type Json = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));

describe('OpenAPI text from proto comments', () => {
  const { model, protos } = buildModel({ protoPaths: [path.join(here, 'protos')], protoFiles: ['comments.proto'] });
  const doc = buildOpenApi(model, protos) as Json;
  const get = doc['paths']['/v1/notes/{id}']['get'];
  const list = doc['paths']['/v1/notes']['get'];

  it('splits a leading comment into summary and description', () => {
    assert.equal(get['summary'], 'Gets a note.');
    assert.equal(get['description'], 'Notes are looked up by id.');
    assert.equal(doc['tags'][0]['description'], 'Notes service. Keeps short notes.');
  });

  it('falls back to a trailing comment, and leaves an undocumented rpc without text', () => {
    assert.equal(list['summary'], undefined);
    assert.equal(list['description'], undefined);
    const id = get['parameters'].find((p: Json) => p['name'] === 'id');
    assert.match(id['description'], /The note's id\./);
  });

  it('prefers the leading comment and ignores detached ones', () => {
    const pageSize = list['parameters'].find((p: Json) => p['name'] === 'pageSize');
    assert.equal(pageSize['description'], 'Leading wins over trailing.');
    const filter = list['parameters'].find((p: Json) => p['name'] === 'filter');
    assert.equal(filter['description'], undefined);
    assert.doesNotMatch(JSON.stringify(doc), /detached/i);
  });
});

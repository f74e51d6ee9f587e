// The pieces of the OpenAPI writer on their own: comment splitting and template → path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitComment } from '../../../codegen/openapi/comments.js';
import { toOpenApiPath } from '../../../codegen/openapi/paths.js';
import { parsePathTemplate, type PathTemplate } from '../../../src/routing/path-template.js';

function template(source: string): PathTemplate {
  const parsed = parsePathTemplate(source);
  assert.ok(parsed.ok, source);
  return parsed.template;
}

describe('splitComment', () => {
  it('takes the first sentence as the summary, on one line', () => {
    assert.deepEqual(splitComment('Lists books,\nin order. Pages of 10.\nMore.'), {
      summary: 'Lists books, in order.',
      description: 'Pages of 10.\nMore.',
    });
  });

  it('does not end a sentence at an abbreviation, and ends one at a blank line', () => {
    assert.equal(splitComment('Labels, e.g. colour. Rest.').summary, 'Labels, e.g. colour.');
    assert.deepEqual(splitComment('No full stop\n\nSecond paragraph'), { summary: 'No full stop', description: 'Second paragraph' });
    assert.deepEqual(splitComment(null), { summary: '', description: '' });
  });
});

describe('toOpenApiPath', () => {
  it('names each variable by its field path and keeps literals and the verb', () => {
    const p = toOpenApiPath(template('/v1/{book.name=shelves/*/books/*}:publish'), false);
    assert.equal(p.key, '/v1/{book.name}:publish');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.pattern, x.multiSegment]), [['book.name', '^shelves/[^/]+/books/[^/]+$', true]]);
  });

  it('gives wildcards outside variables their own unbound parameters', () => {
    const p = toOpenApiPath(template('/v1/*/items/{id}/**'), false);
    assert.equal(p.key, '/v1/{wildcard1}/items/{id}/{wildcard2}');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.fieldPath, x.pattern]), [
      ['wildcard1', undefined, '^[^/]+$'],
      ['id', ['id'], '^[^/]+$'],
      ['wildcard2', undefined, '^.*$'],
    ]);
  });

  it('expands variables into literal segments and one parameter per wildcard', () => {
    const p = toOpenApiPath(template('/v1/{name=shelves/*/books/*}/{other=books/*}'), true);
    assert.equal(p.key, '/v1/shelves/{shelvesId}/books/{booksId}/books/{booksId2}');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.fieldPath?.join('.'), x.partial]), [
      ['shelvesId', 'name', true],
      ['booksId', 'name', true],
      ['booksId2', 'other', true],
    ]);
  });

  it('escapes regular-expression characters in literals', () => {
    const p = toOpenApiPath(template('/v1/{name=a.b/*}'), false);
    assert.equal(p.parameters[0]!.pattern, '^a\\.b/[^/]+$');
  });
});

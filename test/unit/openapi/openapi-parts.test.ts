// The pieces of the OpenAPI writer on their own: comment splitting and template → path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitComment } from '../../../codegen/openapi/comments.js';
import { singular, toOpenApiPath } from '../../../codegen/openapi/paths.js';
import { namesFromPatterns } from '../../../codegen/openapi/resource-patterns.js';
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
  it('expands a variable with literals into the literals and one parameter per wildcard, keeping the verb', () => {
    const p = toOpenApiPath(template('/v1/{book.name=shelves/*/books/*}:publish'));
    assert.equal(p.key, '/v1/shelves/{shelf}/books/{book}:publish');
    assert.deepEqual(
      p.parameters.map((x) => [x.name, x.fieldPath?.join('.'), x.pattern, x.partial, x.fieldTemplate]),
      [
        ['shelf', 'book.name', '^[^/]+$', true, 'shelves/{shelf}/books/{book}'],
        ['book', 'book.name', '^[^/]+$', true, 'shelves/{shelf}/books/{book}'],
      ],
    );
  });

  it('takes names from the resource when given, and deduplicates them', () => {
    const names = () => ['shelfId', 'bookId'];
    assert.equal(toOpenApiPath(template('/v1/{name=shelves/*/books/*}'), names).key, '/v1/shelves/{shelfId}/books/{bookId}');
    const p = toOpenApiPath(template('/v1/{name=shelves/*/books/*}/{other=books/*}'));
    assert.equal(p.key, '/v1/shelves/{shelf}/books/{book}/books/{book2}');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.fieldPath?.join('.')]), [
      ['shelf', 'name'],
      ['book', 'name'],
      ['book2', 'other'],
    ]);
  });

  it('keeps variables without literals as one parameter named by the field path', () => {
    const p = toOpenApiPath(template('/v1/{id}/items/{name=*}'));
    assert.equal(p.key, '/v1/{id}/items/{name}');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.partial]), [
      ['id', false],
      ['name', false],
    ]);
    // A field-path name wins over a derived name that would take it.
    assert.equal(toOpenApiPath(template('/v1/{name=kinds/*}/{kind}')).key, '/v1/kinds/{kind2}/{kind}');
  });

  it('keeps `**` one parameter that may contain "/"', () => {
    const p = toOpenApiPath(template('/v1/{path=files/**}'));
    assert.equal(p.key, '/v1/files/{filesPath}');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.multiSegment, x.pattern]), [['filesPath', true, '^.*$']]);
    assert.equal(toOpenApiPath(template('/v1/{path=**}')).parameters[0]!.multiSegment, true);
  });

  it('gives wildcards outside variables their own unbound parameters', () => {
    const p = toOpenApiPath(template('/v1/*/items/{id}/**'));
    assert.equal(p.key, '/v1/{wildcard1}/items/{id}/{wildcard2}');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.fieldPath, x.pattern]), [
      ['wildcard1', undefined, '^[^/]+$'],
      ['id', ['id'], '^[^/]+$'],
      ['wildcard2', undefined, '^.*$'],
    ]);
  });

  it('escapes regular-expression characters in literals', () => {
    const p = toOpenApiPath(template('/v1/{name=*/a.b}'));
    assert.equal(p.key, '/v1/{name}/a.b');
    assert.equal(p.parameters[0]!.pattern, '^[^/]+$');
    assert.equal(toOpenApiPath(template('/v1/{name=a.b}')).parameters.length, 0);
  });
});

describe('singular', () => {
  it('names the value after a collection literal', () => {
    assert.deepEqual(
      ['shelves', 'books', 'entries', 'archives', 'addresses', 'status', 'archive', 'user-groups'].map(singular),
      ['shelf', 'book', 'entry', 'archive', 'address', 'statusId', 'archiveId', 'userGroup'],
    );
  });
});

describe('namesFromPatterns', () => {
  const segments = (source: string) => template(`/{x=${source}}`).segments;
  it('takes the pattern variables that line up with the wildcards', () => {
    assert.deepEqual(namesFromPatterns(segments('shelves/*/books/*'), ['shelves/{shelf}', 'shelves/{shelf_id}/books/{book_id}']), ['shelfId', 'bookId']);
    assert.equal(namesFromPatterns(segments('shelves/*/books/*'), ['publishers/{p}/books/{b}']), undefined);
    assert.equal(namesFromPatterns(segments('files/**'), ['files/{file}']), undefined);
  });
});

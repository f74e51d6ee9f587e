// The OpenAPI document: valid OpenAPI 3.1, deterministic, and faithful to the proto3 JSON
// mapping for the demo API and for a harder test proto (maps, oneofs, every well-known type).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildModel } from '../../../codegen/build-model.js';
import { buildOpenApi } from '../../../codegen/openapi.js';
import type { RouteSpec } from '../../../src/gateway-model.js';

type Json = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

function generate(protoPath: string, protoFile: string): { doc: Json; routes: readonly RouteSpec[] } {
  const { model, protos } = buildModel({ protoPaths: [protoPath], protoFiles: [protoFile] });
  return { doc: buildOpenApi(model, protos), routes: model.routes };
}

const demo = () => generate(path.join(repo, 'protos'), 'library/v1/library.proto');
const catalog = () => generate(path.join(here, 'protos'), 'catalog.proto');

/** Every operation, by operationId. */
function operations(doc: Json): Map<string, Json & { path: string; method: string }> {
  const out = new Map<string, Json & { path: string; method: string }>();
  for (const [p, item] of Object.entries(doc['paths'] as Json)) {
    for (const [method, op] of Object.entries(item as Json)) out.set(op.operationId, { ...op, path: p, method });
  }
  return out;
}

function schema(doc: Json, name: string): Json {
  const found = doc['components']['schemas'][name];
  assert.ok(found, `components.schemas has ${name}`);
  return found;
}

/** Follows a `$ref` inside the document (through a nullable `anyOf: [{$ref}, {type: 'null'}]`). */
function deref(doc: Json, value: Json): Json {
  if (Array.isArray(value['anyOf']) && value['anyOf'][1]?.['type'] === 'null') return deref(doc, value['anyOf'][0]);
  if (typeof value['$ref'] !== 'string') return value;
  return (value['$ref'] as string)
    .slice(2)
    .split('/')
    .reduce((node: Json, key) => node[key], doc);
}

function param(op: Json, name: string): Json {
  const found = (op['parameters'] ?? []).find((p: Json) => p.name === name);
  assert.ok(found, `${op['operationId']} has parameter ${name}`);
  return found;
}

for (const [label, build] of [
  ['library demo', demo],
  ['catalog test proto', catalog],
] as const) {
  describe(`OpenAPI for the ${label}`, () => {
    it('is a valid OpenAPI 3.1 document', async () => {
      const { doc } = build();
      assert.equal(doc['openapi'], '3.1.0');
      await SwaggerParser.validate(structuredClone(doc) as never);
    });

    it('is byte-identical when built twice', () => {
      assert.equal(JSON.stringify(build().doc), JSON.stringify(build().doc));
    });

    it('has an operation for every route with an OpenAPI method, or lists it as unlisted', () => {
      const { doc, routes } = build();
      const ops = operations(doc);
      const unlisted = new Set(((doc['x-protogate-unlisted-routes'] ?? []) as Json[]).map((r) => r['operationId']));
      for (const route of routes) {
        if (unlisted.has(route.operationId)) continue;
        const op = ops.get(route.operationId);
        assert.ok(op, `operation ${route.operationId}`);
        assert.equal(op.method, route.httpMethod.toLowerCase());
        assert.equal(op['x-protogate-template'], route.template);
        for (const status of ['200', '400', '404', '503', '504', 'default']) assert.ok(op['responses'][status], status);
      }
    });

    it('declares every path template parameter exactly once, as required path parameters', () => {
      for (const [p, item] of Object.entries(build().doc['paths'] as Json)) {
        const names = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        for (const op of Object.values(item as Json)) {
          const inPath = (op['parameters'] ?? []).filter((x: Json) => x.in === 'path');
          assert.deepEqual(inPath.map((x: Json) => x.name).sort(), [...names].sort(), p);
          for (const x of inPath) assert.equal(x.required, true);
        }
      }
    });

    it('keeps OpenAPI paths unique up to parameter names', () => {
      const shapes = Object.keys(build().doc['paths']).map((p) => p.replace(/\{[^}]*\}/g, '{}'));
      assert.equal(new Set(shapes).size, shapes.length);
    });

    it('has a Status error schema with code, status, message and details', () => {
      const { doc } = build();
      const status = schema(doc, 'Status');
      assert.deepEqual(Object.keys(status['properties']), ['code', 'status', 'message', 'details']);
      assert.equal(status['properties']['code']['type'], 'integer');
      assert.ok(status['properties']['status']['enum'].includes('NOT_FOUND'));
      assert.equal(deref(doc, status['properties']['details']['items'])['required'][0], '@type');
    });
  });
}

describe('OpenAPI for the library demo', () => {
  const { doc } = demo();
  const ops = operations(doc);

  it('names info, version and tags from the service and package', () => {
    assert.equal(doc['info']['title'], 'LibraryService');
    assert.equal(doc['info']['version'], 'v1');
    assert.equal(doc['tags'][0]['name'], 'LibraryService');
    assert.match(doc['tags'][0]['description'], /^Manages shelves/);
    assert.deepEqual(ops.get('LibraryService_ListShelves')!['tags'], ['LibraryService']);
  });

  it('splits the method comment into summary and description', () => {
    const op = ops.get('LibraryService_CheckoutBook')!;
    assert.equal(op['summary'], 'Lends a book to a borrower.');
    assert.match(op['description'], /^Fails with FAILED_PRECONDITION/);
  });

  it('keeps the custom verb and expands the variable into documented segments', () => {
    const op = ops.get('LibraryService_CheckoutBook')!;
    assert.equal(op.path, '/v1/shelves/{shelf}/books/{book}:checkout');
    const book = param(op, 'book');
    assert.equal(book['schema']['pattern'], '^[^/]+$');
    assert.equal(book['x-protogate-field'], 'name');
    assert.match(book['description'], /shelves\/\{shelf\}\/books\/\{book\}/);
  });

  it('leaves the path-bound fields out of a body "*" schema', () => {
    const body = ops.get('LibraryService_CheckoutBook')!['requestBody'];
    assert.equal(body['required'], true);
    const s = body['content']['application/json']['schema'];
    assert.deepEqual(Object.keys(s['properties']), ['borrower', 'loanPeriod']);
    assert.deepEqual(s['required'], ['borrower']);
    assert.equal(ops.get('LibraryService_CreateShelf')!['requestBody']['content']['application/json']['schema']['$ref'], '#/components/schemas/library.v1.CreateShelfRequest');
  });

  it('takes the body field schema for body "book" and the rest from the query', () => {
    const op = ops.get('LibraryService_CreateBook')!;
    assert.equal(op['requestBody']['content']['application/json']['schema']['$ref'], '#/components/schemas/library.v1.Book');
    assert.deepEqual(op['parameters'].map((p: Json) => `${p.in}:${p.name}`), ['path:shelf', 'query:bookId']);
  });

  it('expands every variable with literals, naming parameters from the resource patterns', () => {
    assert.deepEqual(Object.keys(doc['paths']), [
      '/v1/shelves',
      '/v1/shelves/{shelf}',
      '/v1/shelves/{shelf}/theme',
      '/v1/shelves/{shelf}/books',
      '/v1/shelves/{shelf}/books/{book}',
      '/v1beta/shelves/{shelf}/books/{book}',
      '/v1/shelves/{shelf}/books/{book}:checkout',
      '/v1/shelves/{shelf}/books/{book}/cover',
      '/v1/shelves/{shelf}/books:import',
      '/v1/shelves/{shelf}:watch',
    ]);
    assert.equal(ops.get('LibraryService_UpdateBook')!.path, '/v1/shelves/{shelf}/books/{book}');
    assert.equal(param(ops.get('LibraryService_UpdateBook')!, 'book')['x-protogate-field'], 'book.name');
    assert.equal(param(ops.get('LibraryService_ListBooks')!, 'shelf')['x-protogate-field'], 'parent');
    assert.equal(ops.get('LibraryService_GetBook_1')!['x-protogate-template'], '/v1beta/{name=shelves/*/books/*}');
    assert.equal(doc['x-protogate-unlisted-routes'], undefined);
  });

  it('leaves a path-bound sub-field out of a body "field" schema and says the path sets it', () => {
    const body = ops.get('LibraryService_UpdateBook')!['requestBody'];
    const s = body['content']['application/json']['schema'];
    assert.equal(s['$ref'], undefined);
    assert.equal(s['properties']['name'], undefined);
    assert.deepEqual(Object.keys(s['properties']), Object.keys(schema(doc, 'library.v1.Book')['properties']).filter((k) => k !== 'name'));
    assert.deepEqual(s['required'], ['title', 'author']);
    assert.match(s['description'], /^A `library\.v1\.Book` without `name`: the path sets it\./);
    assert.match(body['description'], /without `name` \(set from the path\)/);
  });

  it('turns unbound request fields into typed query parameters', () => {
    const op = ops.get('LibraryService_ListBooks')!;
    assert.deepEqual(
      op['parameters'].filter((p: Json) => p.in === 'query').map((p: Json) => p.name),
      ['pageSize', 'pageToken', 'filter', 'genre', 'publishedAfter', 'authors'],
    );
    assert.equal(param(op, 'genre')['schema']['enum'][1], 'GENRE_FICTION');
    assert.equal(param(op, 'publishedAfter')['schema']['format'], 'date-time');
    assert.deepEqual(param(op, 'authors')['schema'], { type: 'array', items: { type: 'string' } });
    assert.equal(param(op, 'authors')['explode'], true);
    assert.equal(ops.get('LibraryService_CreateShelf')!['parameters'], undefined);
  });

  it('uses the response_body field as the 200 schema', () => {
    const ok = ops.get('LibraryService_GetShelf_1')!['responses']['200'];
    assert.equal(ok['content']['application/json']['schema']['type'], 'string');
  });

  it('maps message fields to proto3 JSON types with field behaviours', () => {
    const book = schema(doc, 'library.v1.Book');
    const props = book['properties'];
    assert.deepEqual(props['isbn13'], { type: 'string', format: 'int64', description: props['isbn13']['description'] });
    assert.equal(deref(doc, props['publishTime'])['format'], 'date-time');
    assert.equal(props['createTime']['readOnly'], true);
    assert.deepEqual(book['required'], ['title', 'author']);
    assert.equal(props['coverThumbnail']['format'], 'byte');
    assert.equal(props['labels']['additionalProperties']['type'], 'string');
    assert.match(props['loan']['description'], /oneof `availability`/);
    assert.deepEqual(book['x-protogate-oneofs'], { availability: ['shelfPosition', 'loan'] });
    assert.match(props['subtitle']['description'], /explicit presence/);
    assert.deepEqual(deref(doc, props['rating'])['type'], ['integer', 'null']);
    // Unset singular message fields are null on the wire (json.emitDefaults); wrappers already admit null.
    assert.deepEqual(props['metadata']['anyOf'], [{ $ref: '#/components/schemas/google.protobuf.Struct' }, { type: 'null' }]);
    assert.equal(props['rating']['anyOf'], undefined);
    assert.equal(props['loan']['anyOf'][1]['type'], 'null');
    assert.equal(schema(doc, 'library.v1.Shelf')['properties']['bookCount']['readOnly'], true);
    assert.deepEqual(schema(doc, 'library.v1.Genre')['enum'].slice(0, 2), ['GENRE_UNSPECIFIED', 'GENRE_FICTION']);
    assert.equal(schema(doc, 'google.protobuf.Duration')['pattern'], '^-?\\d+(\\.\\d+)?s$');
  });
});

describe('oneofs in JSON Schema', () => {
  /** A validator for one component, with the document's other components reachable by $ref. */
  function validatorFor(doc: Json, name: string): (value: unknown) => boolean {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc['components'] });
    const validate = ajv.compile({ $ref: `doc#/components/schemas/${name}` });
    return (value) => validate(value) as boolean;
  }

  it('accepts no member or one member set, and rejects two set (null counts as unset)', () => {
    const valid = validatorFor(demo().doc, 'library.v1.Book');
    const book = { title: 'T', author: 'A' };
    assert.equal(valid(book), true);
    assert.equal(valid({ ...book, shelfPosition: 'A3' }), true);
    assert.equal(valid({ ...book, loan: { borrower: 'x' } }), true);
    assert.equal(valid({ ...book, shelfPosition: 'A3', loan: null }), true);
    assert.equal(valid({ ...book, shelfPosition: 'A3', loan: { borrower: 'x' } }), false);
  });

  it('constrains each pair of a three-member oneof', () => {
    const valid = validatorFor(catalog().doc, 'catalog.v2.Item');
    const item = { kind: 'KIND_UNSPECIFIED' };
    assert.equal(valid(item), true, 'no member set');
    assert.equal(valid({ ...item, topic: 't' }), true, 'one member set');
    assert.equal(valid({ ...item, topic: 't', place: {} }), false, 'topic and place');
    assert.equal(valid({ ...item, place: {}, other: { '@type': 'type.googleapis.com/google.protobuf.Empty', value: {} } }), false, 'place and other');
  });
});

describe('OpenAPI for the catalog test proto', () => {
  const { doc } = catalog();
  const ops = operations(doc);
  const item = schema(doc, 'catalog.v2.Item');
  const props = item['properties'];

  it('lists the custom-method route as unlisted instead of inventing an operation', () => {
    assert.deepEqual(
      doc['x-protogate-unlisted-routes'].map((r: Json) => r.operationId),
      ['CatalogService_InspectItem'],
    );
  });

  it('serves additional bindings with response_body as their own operations', () => {
    const labels = ops.get('CatalogService_GetItem_1')!;
    assert.equal(labels.path, '/v2/folders/{folder}/items/{item}/labels');
    assert.equal(labels['responses']['200']['content']['application/json']['schema']['type'], 'object');
    const kind = ops.get('CatalogService_GetItem_2')!['responses']['200']['content']['application/json']['schema'];
    assert.equal(kind['$ref'], '#/components/schemas/catalog.v2.Kind');
  });

  it('puts enums in path and query as their value names', () => {
    const op = ops.get('CatalogService_ListItems')!;
    assert.equal(op.path, '/v2/folders/{folder}/kinds/{kind}/items');
    assert.deepEqual(param(op, 'kind')['schema']['enum'], ['KIND_UNSPECIFIED', 'KIND_PAPER', 'KIND_DIGITAL']);
    assert.deepEqual(param(op, 'alsoKinds')['schema']['items']['enum'], ['KIND_UNSPECIFIED', 'KIND_PAPER', 'KIND_DIGITAL']);
  });

  it('flattens nested query fields, bounded, and skips maps and message leaves', () => {
    const names = ops.get('CatalogService_ListItems')!['parameters'].filter((p: Json) => p.in === 'query').map((p: Json) => p.name);
    assert.deepEqual(names, [
      'alsoKinds',
      'criteria.text',
      'criteria.origin.country',
      'since',
      'maxAge',
      'archived',
      'minSerial',
    ]);
    const op = ops.get('CatalogService_ListItems')!;
    assert.equal(param(op, 'maxAge')['schema']['pattern'], '^-?\\d+(\\.\\d+)?s$');
    assert.deepEqual(param(op, 'archived')['schema']['type'], ['boolean', 'null']);
    assert.equal(param(op, 'minSerial')['schema']['format'], 'int64');
  });

  it('documents `**` variables, body fields bound under the path, and streaming', () => {
    const file = ops.get('CatalogService_FileItem')!;
    assert.equal(file.path, '/v2/archive/{archivePath}:file');
    assert.equal(param(file, 'archivePath')['x-protogate-pattern'], '^.*$');
    assert.equal(param(file, 'archivePath')['x-protogate-field'], 'item.path');
    assert.match(param(file, 'archivePath')['description'], /%2F/);
    assert.deepEqual(file['parameters'].map((p: Json) => p.name), ['archivePath', 'overwrite']);
    const fileBody = file['requestBody']['content']['application/json']['schema'];
    assert.equal(fileBody['properties']['path'], undefined);
    assert.match(fileBody['description'], /without `path`: the path sets it/);
    const put = ops.get('CatalogService_PutItem')!;
    assert.equal(param(put, 'serial')['schema']['format'], 'uint64');
    assert.deepEqual(Object.keys(put['requestBody']['content']['application/json']['schema']['properties']), ['item']);
    assert.match(ops.get('CatalogService_WatchFolder')!['description'], /server-streaming/);
  });

  it('maps scalars, maps, json_name and field options', () => {
    assert.deepEqual(props['serialNo'], { type: 'string', format: 'uint64' });
    assert.equal(props['weight']['oneOf'][0]['format'], 'double');
    assert.deepEqual(props['ratio']['oneOf'][1]['enum'], ['NaN', 'Infinity', '-Infinity']);
    assert.equal(props['offset']['format'], 'int64');
    assert.equal(props['checksum']['format'], 'uint32');
    assert.equal(props['secret']['writeOnly'], true);
    assert.equal(props['oldCode']['deprecated'], true);
    assert.deepEqual(props['kind']['x-protogate-field-behavior'], ['REQUIRED', 'IMMUTABLE']);
    assert.deepEqual(item['required'], ['kind']);
    assert.deepEqual(item['x-protogate-oneofs'], { subject: ['topic', 'place', 'other'] });
    assert.deepEqual(props['valuesById']['propertyNames'], { pattern: '^[0-9]+$' });
    const folder = schema(doc, 'catalog.v2.Folder')['properties'];
    assert.equal(folder['itemsBySlot']['additionalProperties']['$ref'], '#/components/schemas/catalog.v2.Item');
    assert.deepEqual(folder['itemsBySlot']['propertyNames'], { pattern: '^-?[0-9]+$' });
    assert.equal(folder['children']['items']['$ref'], '#/components/schemas/catalog.v2.Folder');
    assert.deepEqual(schema(doc, 'catalog.v2.Item.Origin')['properties']['via']['anyOf'], [
      { $ref: '#/components/schemas/catalog.v2.Item.Origin' },
      { type: 'null' },
    ]);
  });

  it('gives every well-known type its JSON form', () => {
    const wkt = (field: string) => deref(doc, props[field]);
    assert.equal(wkt('createTime')['format'], 'date-time');
    assert.equal(wkt('ttl')['type'], 'string');
    assert.equal(wkt('mask')['type'], 'string');
    assert.equal(wkt('attributes')['type'], 'object');
    assert.equal(wkt('extra')['type'], undefined);
    assert.equal(props['extra']['anyOf'], undefined, 'Value admits null itself');
    assert.equal(props['createTime']['anyOf'][1]['type'], 'null');
    assert.equal(wkt('tags')['type'], 'array');
    assert.deepEqual(wkt('nothing')['properties'], {});
    assert.deepEqual(wkt('other')['required'], ['@type']);
    assert.equal(wkt('nullValue')['type'], 'null');
    for (const [field, type] of [
      ['wInt64', ['string', 'null']],
      ['wUint64', ['string', 'null']],
      ['wInt32', ['integer', 'null']],
      ['wUint32', ['integer', 'null']],
      ['wBool', ['boolean', 'null']],
      ['wString', ['string', 'null']],
      ['wBytes', ['string', 'null']],
    ] as const) {
      assert.deepEqual(wkt(field)['type'], type, field);
    }
    assert.deepEqual(wkt('wDouble')['oneOf'].at(-1), { type: 'null' });
    assert.deepEqual(wkt('wFloat')['oneOf'].at(-1), { type: 'null' });
  });
});

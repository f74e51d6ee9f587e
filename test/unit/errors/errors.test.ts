// The error contract (DESIGN §4): the gRPC → HTTP table, both body formats, and the reason
// catalogue kept in sync with the code.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { reasons } from '../../../src/errors/catalogue.js';
import { Code, codeName, toHttpStatus } from '../../../src/errors/codes.js';
import { renderError } from '../../../src/errors/error-body.js';
import { badRequest, gatewayError } from '../../../src/errors/gateway-error.js';
import { packageRoot } from '../../../src/package-paths.js';

describe('gRPC code → HTTP status', () => {
  const table: Array<[keyof typeof Code, number]> = [
    ['OK', 200], ['CANCELLED', 499], ['UNKNOWN', 500], ['INVALID_ARGUMENT', 400], ['DEADLINE_EXCEEDED', 504],
    ['NOT_FOUND', 404], ['ALREADY_EXISTS', 409], ['PERMISSION_DENIED', 403], ['UNAUTHENTICATED', 401],
    ['RESOURCE_EXHAUSTED', 429], ['FAILED_PRECONDITION', 400], ['ABORTED', 409], ['OUT_OF_RANGE', 400],
    ['UNIMPLEMENTED', 501], ['INTERNAL', 500], ['UNAVAILABLE', 503], ['DATA_LOSS', 500],
  ];
  for (const [name, status] of table) {
    it(`${name} → ${status}`, () => {
      assert.equal(toHttpStatus(Code[name]), status);
      assert.equal(codeName(Code[name]), name);
    });
  }
  it('unknown codes → 500 and UNKNOWN', () => {
    assert.equal(toHttpStatus(17), 500);
    assert.equal(toHttpStatus(-1), 500);
    assert.equal(codeName(99), 'UNKNOWN');
  });
});

describe('error bodies', () => {
  const error = badRequest('PG_BAD_FIELD_VALUE', 'book.pages', '"12x" is not an int32');
  it('status format: code, canonical name, message, details', () => {
    const rendered = renderError(error, 'status');
    assert.equal(rendered.statusCode, 400);
    const body = JSON.parse(rendered.body);
    assert.equal(body.code, 3);
    assert.equal(body.status, 'INVALID_ARGUMENT');
    assert.equal(body.message, 'field "book.pages": "12x" is not an int32');
    assert.deepEqual(body.details[0], {
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field: 'book.pages', description: '"12x" is not an int32' }],
    });
  });
  it('google format: {"error": {code: HTTP status, status, message, details}}', () => {
    const body = JSON.parse(renderError(error, 'google').body);
    assert.equal(body.error.code, 400);
    assert.equal(body.error.status, 'INVALID_ARGUMENT');
    assert.equal(body.error.details.length, 2);
  });
  it('an explicit HTTP status and headers win (405 + Allow)', () => {
    const rendered = renderError(gatewayError(Code.UNIMPLEMENTED, 'PG_METHOD_NOT_ALLOWED', 'no', { httpStatus: 405, headers: { allow: 'GET' } }), 'status');
    assert.equal(rendered.statusCode, 405);
    assert.deepEqual(rendered.headers, { allow: 'GET' });
  });
});

describe('reason catalogue', () => {
  const sources: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const file = path.join(dir, entry);
      if (statSync(file).isDirectory()) walk(file);
      else if (file.endsWith('.ts') && !file.endsWith(path.join('errors', 'catalogue.ts'))) sources.push(readFileSync(file, 'utf8'));
    }
  };
  walk(path.join(packageRoot, 'src'));
  walk(path.join(packageRoot, 'codegen'));
  const used = new Set(sources.flatMap((text) => [...text.matchAll(/'(PG_[A-Z_]+)'/g)].map((m) => m[1]!)));

  it('every reason the code uses is in the catalogue', () => {
    for (const reason of used) assert.ok(reason in reasons, `${reason} is used but not documented in src/errors/catalogue.ts`);
  });
  it('every catalogued reason is used somewhere', () => {
    for (const reason of Object.keys(reasons)) assert.ok(used.has(reason), `${reason} is catalogued but never used`);
  });
});

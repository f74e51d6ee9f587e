// Security in the OpenAPI document: schemes when some route needs a credential, and per
// operation `security` plus 401/403 from the proto's `auth` (public, service default, scopes).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildModel } from '../../../codegen/build-model.js';
import { buildOpenApi } from '../../../codegen/openapi.js';

type Json = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

function generate(protoPath: string, protoFile: string): Json {
  const { model, protos } = buildModel({ protoPaths: [protoPath], protoFiles: [protoFile] });
  return buildOpenApi(model, protos);
}

const secure = () => generate(path.join(repo, 'test/integration/protos'), 'secure/v1/secure.proto');

function byMethod(doc: Json, method: string): Json {
  for (const item of Object.values(doc['paths'] as Json)) {
    for (const op of Object.values(item as Json)) if (((op as Json)['x-protogate-grpc-method'] as string).endsWith(`/${method}`)) return op as Json;
  }
  assert.fail(`no operation for ${method}`);
}

describe('OpenAPI security for the secure test proto', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    await SwaggerParser.validate(structuredClone(secure()) as never);
  });

  it('declares a bearer JWT scheme and an x-api-key header scheme', () => {
    const schemes = secure()['components']['securitySchemes'];
    assert.deepEqual(Object.keys(schemes).sort(), ['apiKeyAuth', 'bearerAuth']);
    assert.equal(schemes.bearerAuth.type, 'http');
    assert.equal(schemes.bearerAuth.scheme, 'bearer');
    assert.equal(schemes.bearerAuth.bearerFormat, 'JWT');
    assert.equal(schemes.apiKeyAuth.type, 'apiKey');
    assert.equal(schemes.apiKeyAuth.in, 'header');
    assert.equal(schemes.apiKeyAuth.name, 'x-api-key');
    for (const scheme of Object.values(schemes) as Json[]) assert.match(scheme['description'], /`auth` config/);
  });

  it('marks a public method as needing no credential, without 401/403', () => {
    const op = byMethod(secure(), 'Open');
    assert.deepEqual(op['security'], []);
    assert.equal(op['responses']['401'], undefined);
    assert.equal(op['responses']['403'], undefined);
  });

  it('asks the service default (any credential) of an unannotated method, with 401/403', () => {
    const op = byMethod(secure(), 'WhoAmI');
    assert.deepEqual(op['security'], [{ bearerAuth: [] }, { apiKeyAuth: [] }]);
    assert.deepEqual(op['responses']['401'], { $ref: '#/components/responses/Unauthenticated' });
    assert.deepEqual(op['responses']['403'], { $ref: '#/components/responses/PermissionDenied' });
  });

  it('lists the scopes of a scoped method on the bearer scheme', () => {
    const doc = secure();
    const op = byMethod(doc, 'Write');
    assert.deepEqual(op['security'], [{ bearerAuth: ['notes.write', 'notes.read'] }, { apiKeyAuth: [] }]);
    assert.ok(op['responses']['401'] && op['responses']['403']);
    for (const name of ['Unauthenticated', 'PermissionDenied']) {
      assert.deepEqual(doc['components']['responses'][name]['content']['application/json']['schema'], { $ref: '#/components/schemas/Status' });
    }
  });

  it('lists only the schemes a method accepts (auth.schemes)', () => {
    const doc = secure();
    assert.deepEqual(byMethod(doc, 'RobotRead')['security'], [{ apiKeyAuth: [] }]);
    assert.deepEqual(byMethod(doc, 'PersonRead')['security'], [{ bearerAuth: ['notes.read'] }]);
  });

  it('says which roles a method accepts', () => {
    const op = byMethod(secure(), 'Shelve');
    assert.match(op['description'], /one of the roles `librarian`, `admin` \(403 otherwise\)/);
    assert.deepEqual(op['security'], [{ bearerAuth: [] }, { apiKeyAuth: [] }]);
  });

  it('declares only the schemes some operation accepts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-schemes-'));
    writeFileSync(
      path.join(dir, 'tokens.proto'),
      `syntax = "proto3";
package tokens.v1;
import "google/api/annotations.proto";
import "protogate/options.proto";
// Tokens only.
service TokenService {
  // Needs a JWT.
  rpc Get(Req) returns (Req) {
    option (google.api.http) = { get: "/v1/t/{id}" };
    option (protogate.v1.policy) = { auth: { schemes: ["jwt"] } };
  }
}
// A request.
message Req { string id = 1; }
`,
    );
    const doc = generate(dir, 'tokens.proto');
    assert.deepEqual(Object.keys(doc['components']['securitySchemes']), ['bearerAuth']);
    assert.deepEqual(byMethod(doc, 'Get')['security'], [{ bearerAuth: [] }]);
  });

  it('is deterministic', () => {
    assert.equal(JSON.stringify(secure()), JSON.stringify(secure()));
  });
});

describe('OpenAPI security for the library demo (only ListShelves is annotated, public)', () => {
  const demo = () => generate(path.join(repo, 'protos'), 'library/v1/library.proto');

  it('has no security schemes nor auth responses, and security: [] only on ListShelves', () => {
    const doc = demo();
    assert.equal(doc['components']['securitySchemes'], undefined);
    assert.equal(doc['components']['responses']['Unauthenticated'], undefined);
    for (const item of Object.values(doc['paths'] as Json)) {
      for (const op of Object.values(item as Json) as Json[]) {
        const listShelves = (op['x-protogate-grpc-method'] as string).endsWith('/ListShelves');
        if (listShelves) assert.deepEqual(op['security'], []);
        else assert.equal('security' in op, false, `${op['operationId']} has no security key`);
        assert.equal(op['responses']['401'], undefined);
      }
    }
  });
});

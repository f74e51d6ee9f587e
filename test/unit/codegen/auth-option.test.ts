// `(protogate.v1.policy).auth` and `(protogate.v1.service_policy).auth` with roles and schemes:
// read into RouteSpec.auth (absent lists stay absent), bad names rejected at load with
// file:line:col and the fix, and the result survives `generate` + `serve --generated` unchanged.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readGeneratedModel, writeGeneratedOutput } from '../../../codegen/generated-output.js';
import { assertProtoError, buildProtoText } from '../../helpers/proto-text.js';

const header = `syntax = "proto3";
package authz.v1;
import "google/api/annotations.proto";
import "protogate/options.proto";
`;
const messages = 'message Req { string id = 1; }\n';

/** One service; `servicePolicy` goes in the service (line 6), `policy` on rpc A (line 8 without a service policy). */
function proto(policy: string, servicePolicy = ''): string {
  return `${header}service S {
${servicePolicy === '' ? '' : `  option (protogate.v1.service_policy) = { ${servicePolicy} };\n`}  rpc A(Req) returns (Req) {
    option (google.api.http) = { get: "/v1/a/{id}" };
${policy === '' ? '' : `    option (protogate.v1.policy) = { ${policy} };\n`}  }
  rpc B(Req) returns (Req) { option (google.api.http) = { get: "/v1/b" }; }
}
${messages}`;
}

describe('auth roles and schemes in the model', () => {
  it('reads roles and schemes (duplicates dropped); a policy without them has neither key', () => {
    const model = buildProtoText(proto('auth: { roles: ["librarian", "admin"] schemes: ["jwt", "jwt"] scopes: ["a.b"] }', 'auth: {}'));
    const a = model.routes.find((route) => route.method === 'A')!;
    assert.deepEqual(a.auth, { public: false, scopes: ['a.b'], roles: ['librarian', 'admin'], schemes: ['jwt'] });
    const b = model.routes.find((route) => route.method === 'B')!;
    assert.deepEqual(b.auth, { public: false, scopes: [] });
    assert.equal('roles' in b.auth!, false);
  });

  it('a service policy gives its roles and schemes to every method without its own auth', () => {
    const model = buildProtoText(proto('', 'auth: { roles: "admin" schemes: "api-key" }'));
    for (const route of model.routes) assert.deepEqual(route.auth, { public: false, scopes: [], roles: ['admin'], schemes: ['api-key'] });
  });

  it('round-trips through the generated module', async () => {
    const model = buildProtoText(proto('auth: { roles: ["librarian"] schemes: ["api-key", "jwt"] }'));
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-authz-gen-'));
    writeGeneratedOutput(dir, model, {}, ['main.proto']);
    const read = await readGeneratedModel(dir);
    assert.deepEqual(read.routes.map((route) => route.auth), model.routes.map((route) => route.auth));
    assert.deepEqual(read.routes[0]!.auth, { public: false, scopes: [], roles: ['librarian'], schemes: ['api-key', 'jwt'] });
  });
});

describe('bad auth options are rejected at load', () => {
  it('an unknown scheme, located at its name', () => {
    assertProtoError(proto('auth: { schemes: ["jwt", "oauth"] }'), 8, 64, /auth scheme "oauth" is not a scheme protogate knows.*use "jwt" or "api-key"/s);
  });

  it('an unknown scheme in the service policy, located in the service', () => {
    assertProtoError(proto('', 'auth: { schemes: ["basic"] }'), 6, 63, /auth scheme "basic"/);
  });

  it('a role with a space', () => {
    assertProtoError(proto('auth: { roles: ["book keeper"] }'), 8, 46, /auth role "book keeper" is not a valid role name/);
  });

  it('public together with roles or schemes', () => {
    assertProtoError(proto('auth: { public: true roles: ["admin"] }'), 8, 46, /public: true together with roles/);
    assertProtoError(proto('auth: { public: true schemes: ["jwt"] }'), 8, 46, /public: true together with schemes/);
  });
});

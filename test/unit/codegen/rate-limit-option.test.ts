// `(protogate.v1.policy).rate_limit` and `(protogate.v1.service_policy).rate_limit`: read into
// RouteSpec.rateLimit (the method's replaces the service's), bad values rejected at load with
// file:line:col and the fix, and the result survives `generate` + `serve --generated` unchanged.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readGeneratedModel, writeGeneratedOutput } from '../../../codegen/generated-output.js';
import { assertProtoError, buildProtoText } from '../../helpers/proto-text.js';

const header = `syntax = "proto3";
package rl.v1;
import "google/api/annotations.proto";
import "protogate/options.proto";
`;
const messages = 'message Req { string id = 1; }\n';

/** One service; `servicePolicy` goes in the service, `policy` on rpc A (line 8 when the service sets none). */
function proto(policy: string, servicePolicy = ''): string {
  return `${header}service S {
${servicePolicy === '' ? '' : `  option (protogate.v1.service_policy) = { ${servicePolicy} };\n`}  rpc A(Req) returns (Req) {
    option (google.api.http) = { get: "/v1/a/{id}" additional_bindings { get: "/v2/a/{id}" } };
${policy === '' ? '' : `    option (protogate.v1.policy) = { ${policy} };\n`}  }
  rpc B(Req) returns (Req) { option (google.api.http) = { get: "/v1/b" }; }
}
${messages}`;
}

describe('rate_limit in the model', () => {
  it('reads a method limit onto every binding of the rpc; key defaults to principal', () => {
    const model = buildProtoText(proto('rate_limit: { requests: 10 per: "1m" }'));
    const a = model.routes.filter((route) => route.method === 'A');
    assert.equal(a.length, 2);
    for (const route of a) assert.deepEqual(route.rateLimit, { requests: 10, perMs: 60_000, key: 'principal' });
    assert.equal(model.routes.find((route) => route.method === 'B')!.rateLimit, undefined);
  });

  it('a service limit applies to every method; a method limit replaces it whole', () => {
    const model = buildProtoText(proto('rate_limit: { requests: 3 per: "1s" key: "ip" }', 'rate_limit: { requests: 100 per: "1h" }'));
    assert.deepEqual(model.routes.find((route) => route.method === 'A')!.rateLimit, { requests: 3, perMs: 1000, key: 'ip' });
    assert.deepEqual(model.routes.find((route) => route.method === 'B')!.rateLimit, { requests: 100, perMs: 3_600_000, key: 'principal' });
  });

  it('round-trips through the generated module unchanged', async () => {
    const model = buildProtoText(proto('rate_limit: { requests: 7 per: "30s" key: "ip" } timeout: "2s"', 'rate_limit: { requests: 100 per: "1m" }'));
    const dir = mkdtempSync(path.join(tmpdir(), 'protogate-rl-gen-'));
    writeGeneratedOutput(dir, model, {}, ['main.proto']);
    const read = await readGeneratedModel(dir);
    // JSON drops `timeoutMs: undefined`, which the runtime reads the same way
    assert.deepEqual(read.routes, JSON.parse(JSON.stringify(model.routes)));
    assert.deepEqual(read.routes.find((route) => route.method === 'A')!.rateLimit, { requests: 7, perMs: 30_000, key: 'ip' });
  });
});

describe('bad rate_limit values are rejected at load', () => {
  // Line 8 is the policy line: header (4 lines) + "service S {" + "rpc A…" + http option.
  const line = 8;
  it('requests 0', () => assertProtoError(proto('rate_limit: { requests: 0 per: "1s" }'), line, 52, /rate_limit\.requests is 0; a rate limit allows at least 1/));
  it('requests missing', () => assertProtoError(proto('rate_limit: { per: "1s" }'), line, 38, /rate_limit\.requests is not set/));
  it('per missing', () => assertProtoError(proto('rate_limit: { requests: 5 }'), line, 38, /rate_limit\.per is not set/));
  it('per not a duration', () => assertProtoError(proto('rate_limit: { requests: 5 per: "soon" }'), line, 70, /rate_limit\.per "soon" is not a whole number of seconds/));
  it('per below a second', () => assertProtoError(proto('rate_limit: { requests: 5 per: "500ms" }'), line, 70, /"500ms" is not a whole number of seconds.*"1s", "60s" or "1m"/s));
  it('per with a fraction of a second', () => assertProtoError(proto('rate_limit: { requests: 5 per: "1.5s" }'), line, 70, /"1\.5s" is not a whole number/));
  it('an unknown key', () =>
    assertProtoError(proto('rate_limit: { requests: 5 per: "1s" key: "user" }'), line, 80, /rate_limit\.key "user" is not a rate-limit key \(use one of "principal", "ip"\)/));
  it('in the service policy too', () => assert.throws(() => buildProtoText(proto('', 'rate_limit: { requests: 0 per: "1s" }')), /rate_limit\.requests is 0/));
});

// Bad protos and bad HttpRule annotations are rejected at load with file:line:col, the
// problem and the fix — never half-served.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildModel } from '../../../codegen/build-model.js';
import { ProtoError } from '../../../codegen/source-location.js';

const header = `syntax = "proto3";
package bad.v1;
import "google/api/annotations.proto";
import "protogate/options.proto";
`;
const messages = `
message Inner { string id = 1; }
message Req {
  string name = 1;
  repeated string tags = 2;
  Inner inner = 3;
  map<string, string> labels = 4;
  int32 count = 5;
}
`;

function rpc(options: string, name = 'Get'): string {
  return `service S {\n  rpc ${name}(Req) returns (Req) {\n    option (google.api.http) = ${options};\n  }\n}\n`;
}

/** Writes files into a fresh directory and builds the model of `main.proto`. */
function load(files: Record<string, string>, roots?: string[]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'protogate-bad-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return { dir, build: () => buildModel({ protoPaths: (roots ?? ['.']).map((r) => path.join(dir, r)), protoFiles: ['main.proto'] }) };
}

function expectError(text: string, line: number, col: number | undefined, problem: RegExp): void {
  const { dir, build } = load({ 'main.proto': text });
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof ProtoError, `expected a ProtoError, got ${String(error)}`);
    assert.equal(error.location.file, path.join(dir, 'main.proto'));
    assert.equal(error.location.line, line, error.message);
    if (col !== undefined) assert.equal(error.location.col, col, error.message);
    assert.match(error.message, problem);
    assert.match(error.message, /^\S+main\.proto:\d+:\d+: .+ \(.+\)$/s, 'file:line:col: problem (fix)');
    return true;
  });
}

// Line 7 is the option line in every rpc() case: header (4 lines) + "service S {" + "rpc …" + option.
const OPTION_LINE = 7;

describe('proto syntax and references', () => {
  it('reports a syntax error at its line', () => {
    expectError(`${header}message Req { string name = ; }\n`, 5, undefined, /illegal/);
  });

  it('reports an import that no root has, at the import', () => {
    expectError(`syntax = "proto3";\nimport "nowhere/missing.proto";\n`, 2, 8, /import "nowhere\/missing.proto" not found.*--proto-path/);
  });

  it('reports an unknown field type at the field', () => {
    expectError(`${header}message Req {\n  string a = 1;\n  Missing b = 2;\n}\n`, 7, 3, /no such Type or Enum 'Missing'/);
  });

  it('reports an unknown rpc input type at the rpc', () => {
    expectError(`${header}service S {\n  rpc Get(Nope) returns (Nope);\n}\n`, 6, 3, /no such type/);
  });
});

describe('HttpRule checks', () => {
  it('rejects bad template grammar, pointing into the template', () => {
    // `get: "/v1/{name=shelves/*"` — the unbalanced brace; the column lands inside the string.
    const text = `${header}${rpc('{ get: "/v1/{name" }')}${messages}`;
    expectError(text, OPTION_LINE, undefined, /bad path template "\/v1\/\{name"/);
  });

  it('rejects a template without a leading slash', () => {
    expectError(`${header}${rpc('{ get: "v1/things" }')}${messages}`, OPTION_LINE, undefined, /bad path template/);
  });

  it('rejects a body on GET', () => {
    expectError(`${header}${rpc('{ get: "/v1/things" body: "*" }')}${messages}`, OPTION_LINE, undefined, /GET \/v1\/things has body/);
  });

  it('rejects a path variable bound to a repeated field', () => {
    expectError(`${header}${rpc('{ get: "/v1/{tags}" }')}${messages}`, OPTION_LINE, undefined, /repeated field/);
  });

  it('rejects a path variable bound to a map field', () => {
    expectError(`${header}${rpc('{ get: "/v1/{labels}" }')}${messages}`, OPTION_LINE, undefined, /map field/);
  });

  it('rejects a path variable bound to a message field', () => {
    expectError(`${header}${rpc('{ get: "/v1/{inner}" }')}${messages}`, OPTION_LINE, undefined, /message field/);
  });

  it('rejects a path variable naming an unknown field', () => {
    expectError(`${header}${rpc('{ get: "/v1/{inner.nope}" }')}${messages}`, OPTION_LINE, undefined, /has no field "nope"/);
  });

  it('rejects an unknown body field and an unknown response_body field', () => {
    expectError(`${header}${rpc('{ post: "/v1/things" body: "nope" }')}${messages}`, OPTION_LINE, undefined, /body "nope" is not a field/);
    expectError(`${header}${rpc('{ get: "/v1/things" response_body: "nope" }')}${messages}`, OPTION_LINE, undefined, /response_body "nope"/);
    // protobufjs keeps fields in a plain object: inherited names must not count as fields.
    expectError(`${header}${rpc('{ post: "/v1/things" body: "constructor" }')}${messages}`, OPTION_LINE, undefined, /body "constructor" is not a field/);
    expectError(`${header}${rpc('{ get: "/v1/{__proto__}" }')}${messages}`, OPTION_LINE, undefined, /no field "__proto__"/);
  });

  it('rejects nested additional_bindings', () => {
    const rule = '{ get: "/v1/a" additional_bindings { get: "/v1/b" additional_bindings { get: "/v1/c" } } }';
    expectError(`${header}${rpc(rule)}${messages}`, OPTION_LINE, undefined, /additional_bindings of its own/);
  });

  it('rejects two patterns in one rule', () => {
    expectError(`${header}${rpc('{ get: "/v1/a" post: "/v1/a" }')}${messages}`, OPTION_LINE, undefined, /sets both get and post/);
  });

  it('rejects two rules with the same method and template shape', () => {
    const services = `service S {
  rpc A(Req) returns (Req) { option (google.api.http) = { get: "/v1/{name=things/*}" }; }
  rpc B(Req) returns (Req) { option (google.api.http) = { get: "/v1/{name=things/*}" }; }
}
`;
    expectError(`${header}${services}${messages}`, 7, undefined, /already bound by bad\.v1\.S\.A/);
  });

  it('rejects a bad (protogate.v1.policy).timeout', () => {
    const services = `service S {
  rpc A(Req) returns (Req) {
    option (google.api.http) = { get: "/v1/a" };
    option (protogate.v1.policy) = { timeout: "soon" };
  }
}
`;
    expectError(`${header}${services}${messages}`, 8, undefined, /timeout "soon" is not a positive duration/);
  });
});

describe('what loads', () => {
  it('takes an import found under several roots from the first root, as protoc does', () => {
    const { build } = load(
      {
        'main.proto': `syntax = "proto3";\npackage m;\nimport "google/api/annotations.proto";\nimport "common.proto";\nservice S { rpc A(c.Thing) returns (c.Thing) { option (google.api.http) = { get: "/v1/{first}" }; } }\n`,
        'one/common.proto': 'syntax = "proto3";\npackage c;\nmessage Thing { string first = 1; }\n',
        'two/common.proto': 'syntax = "proto3";\npackage c;\nmessage Thing { string second = 1; }\n',
        'one/main.proto': '',
      },
      ['.', 'one', 'two'],
    );
    const { model } = build();
    assert.equal(model.routes.length, 1);
    assert.equal(model.routes[0]!.template, '/v1/{first}');
  });

  it('collects every binding with its operation id, body and response body', () => {
    const { model } = buildModel({ protoPaths: ['protos'], protoFiles: ['library/v1/library.proto'] });
    const ids = model.routes.map((route) => route.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
    const theme = model.routes.find((route) => route.responseBody === 'theme');
    assert.ok(theme, 'a response_body binding exists');
    assert.equal(theme.bindingIndex, 1);
    assert.match(theme.operationId, /_1$/);
  });
});

// Test helper: a proto written as text into a fresh directory (as main.proto) and built as the
// gateway builds it, for tests of what the build step reads or refuses.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildModel } from '../../codegen/build-model.js';
import { ProtoError } from '../../codegen/source-location.js';
import type { GatewayModel } from '../../src/gateway-model.js';

/** The model of `text` as main.proto (the bundled protos importable as usual). */
export function buildProtoText(text: string): GatewayModel {
  const dir = mkdtempSync(path.join(tmpdir(), 'protogate-proto-'));
  writeFileSync(path.join(dir, 'main.proto'), text);
  return buildModel({ protoPaths: [dir], protoFiles: ['main.proto'] }).model;
}

/** Building `text` fails with a ProtoError at `line`:`col` matching `problem`, worded `file:line:col: problem (fix)`. */
export function assertProtoError(text: string, line: number, col: number, problem: RegExp): void {
  assert.throws(
    () => buildProtoText(text),
    (error: unknown) => {
      assert.ok(error instanceof ProtoError, `expected a ProtoError, got ${String(error)}`);
      assert.equal(error.location.line, line, error.message);
      assert.equal(error.location.col, col, error.message);
      assert.match(error.message, problem);
      assert.match(error.message, /^\S+main\.proto:\d+:\d+: .+ \(.+\)$/s, 'file:line:col: problem (fix)');
      return true;
    },
  );
}

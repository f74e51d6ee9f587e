// Fuzz target: the query-string binder (query-string.ts + query-fields.ts, driven through the
// request assembler of a real route of echo.proto). Invariants: any query string either
// assembles or fails with a GatewayError INVALID_ARGUMENT (HTTP 400) — nothing else is thrown;
// values bound to `words` (repeated string) and `nested.name` arrive exactly as decoded from the
// query; the path variable wins over the query; prototype-pollution names change no prototype.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildModel } from '../../codegen/build-model.js';
import { Code } from '../../src/errors/codes.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { createCodecRegistry } from '../../src/transcode/json/codec.js';
import { compileRoute } from '../../src/transcode/compiled-route.js';
import { testProtosDir } from '../helpers/gateway.js';
import type { FuzzTarget } from './fuzz-target.js';

const { model, protos } = buildModel({ protoPaths: [testProtosDir], protoFiles: ['echo/v1/echo.proto'] });
const codecs = createCodecRegistry(protos.root);
const spec = model.routes.find((r) => r.httpMethod === 'GET' && r.template === '/v1/echo/{id}')!;
const route = compileRoute(spec, protos.root, codecs, { ignoreUnknownFields: false, maxJsonDepth: 32, emitDefaults: true, maxQueryParams: 64 });
const EchoMessage = protos.root.lookupType('echo.v1.EchoMessage');

const NAMES = [
  'words', 'words', 'nested.name', 'nested.tags', 'count', 'big', 'ubig', 'ratio', 'flag', 'kind', 'kinds', 'when', 'wait',
  'update_mask', 'updateMask', 'maybe_count', 'maybeCount', 'extra', 'totals', 'totals.a', 'blob', 'note', 'text_choice',
  'number_choice', 'label', 'display_name', 'id', 'nested', 'nested.value', 'nested.nope', 'nope', '', '.', 'words.x',
  '__proto__', 'constructor', 'prototype', 'nested.__proto__', '__proto__.polluted', 'constructor.prototype.polluted',
  '$alt', '$fields', '$prettyPrint', '$unknown', 'wo%72ds', 'words%00', '%zz', 'w+ords',
];
const VALUES = [
  '', '1', '-1', '0x10', '1e3', '99999999999999999999', '-9223372036854775809', '18446744073709551615', 'NaN', 'Infinity',
  'true', 'false', 'KIND_SMALL', '7', 'a+b', '%2B', '%20', '%zz', '%', '%E2%82%AC', '%ED%A0%80', '%C0%AF', 'AQID', '-_8',
  '2024-01-02T03:04:05Z', '1.5s', 'a_b,c', 'json;enum-encoding=int', 'xml', 'id,count', 'id(', '{"a":1}', '=', '&',
];

const pair = fc.tuple(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }),
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...VALUES) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) }),
  fc.boolean(),
);
const arbitrary = fc.record({
  id: fc.oneof(fc.constantFrom('x', 'a b', '__proto__', ''), fc.string({ maxLength: 4 })),
  query: fc.oneof(
    { weight: 4, arbitrary: fc.array(pair, { maxLength: 8 }).map((pairs) => pairs.map(([n, v, eq]) => (eq || v !== '' ? `${n}=${v}` : n)).join('&')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  ),
});

/** What a form decoder makes of one raw query component (`+` is a space). */
function formDecode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

const prototypeKeys = (): string => JSON.stringify([Object.getOwnPropertyNames(Object.prototype), Object.getOwnPropertyNames(Array.prototype)]);
const pristine = prototypeKeys();

export const queryBinderTarget: FuzzTarget<{ id: string; query: string }> = {
  name: 'query-binder',
  arbitrary,
  check({ id, query }) {
    let message: Uint8Array;
    try {
      message = route.assemble({ bindings: [[['id'], id]], query, body: undefined, contentType: undefined }).message;
    } catch (error) {
      assert.ok(error instanceof GatewayError, `${JSON.stringify(query)} threw ${String(error)}`);
      assert.equal(error.code, Code.INVALID_ARGUMENT, `${JSON.stringify(query)}: ${error.message}`);
      assert.ok(error.httpStatus === undefined || error.httpStatus === 400, `${JSON.stringify(query)}: HTTP ${error.httpStatus}`);
      assert.ok(error.message.length > 0);
      return;
    } finally {
      assert.equal(prototypeKeys(), pristine, `${JSON.stringify(query)} changed a prototype`);
    }
    const decoded = EchoMessage.toObject(EchoMessage.decode(message), { defaults: false }) as { id?: string; words?: string[]; nested?: { name?: string } };
    assert.equal(decoded.id ?? '', id, 'the path variable wins');
    // The reference: every `words` pair in order, decoded as a form would.
    const words: string[] = [];
    let nestedName: string | undefined;
    for (const part of query.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const name = formDecode(eq < 0 ? part : part.slice(0, eq));
      const value = formDecode(eq < 0 ? '' : part.slice(eq + 1)) ?? '';
      if (name === 'words') words.push(value);
      if (name === 'nested.name') nestedName = value;
    }
    assert.deepEqual(decoded.words ?? [], words, `words of ${JSON.stringify(query)}`);
    assert.equal(decoded.nested?.name ?? '', nestedName ?? '', `nested.name of ${JSON.stringify(query)}`);
  },
};

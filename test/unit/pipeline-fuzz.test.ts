// Fixed-seed fuzz of the whole request pipeline (no sockets): random methods, paths, query
// strings and bodies must always give a well-formed JSON answer, and never a 500 — bad input is
// the client's error (4xx), whatever it is.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildModel } from '../../codegen/build-model.js';
import { createPipeline } from '../../src/pipeline.js';
import { ClientDisconnect } from '../../src/server/client-disconnect.js';
import { createMetadataPolicy } from '../../src/upstream/request-metadata.js';
import type { UpstreamTransport } from '../../src/upstream/transport.js';
import { testProtosDir } from '../helpers/gateway.js';
import { seededRandom } from '../helpers/seeded-random.js';

const { model } = buildModel({ protoPaths: [testProtosDir], protoFiles: ['echo/v1/echo.proto'] });
// The upstream echoes what it gets, so the response encoder sees every message the assembler built.
const echo: UpstreamTransport = {
  unary: async (request) => ({ ok: true, message: Buffer.from(request.message), headers: [], trailers: [] }),
  serverStream: () => {
    throw new Error('echo.proto has no streaming method');
  },
  close: async () => {},
};
const internalErrors: unknown[] = [];
const pipeline = createPipeline(model, {
  errorFormat: 'status', ignoreUnknownFields: false, emitDefaults: true, maxJsonDepth: 32, defaultTimeoutMs: 1000,
  serviceTimeoutsMs: new Map(), metadata: createMetadataPolicy(), transportFor: () => echo,
  onInternalError: (error) => internalErrors.push(error),
});

const random = seededRandom(20261201);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'];
const PATH_PARTS = ['v1', 'echo', 'things', 'deep', 'files', 'meta', 'enum', 'fail', 'x', '%2F', '%zz', '%E2%82%AC', 'a:shout', ':', '', '..', '%00', '*', 'KIND_SMALL', '7'];
const QUERY_NAMES = ['count', 'big', 'kind', 'kinds', 'words', 'nested.name', 'nested.tags', 'when', 'wait', 'updateMask', 'update_mask', 'maybeCount', 'flag', 'ratio', 'blob', 'nope', '$alt', '$fields', '$prettyPrint', '__proto__', 'constructor', 'nested.__proto__', 'totals', 'extra', 'textChoice', 'numberChoice'];
const QUERY_VALUES = ['1', '-1', '99999999999999999999', '1e5', 'NaN', 'true', 'yes', 'KIND_LARGE', '2', '', '%zz', 'a+b', '2024-01-02T03:04:05Z', '1.5s', 'a_b,c', 'json;enum-encoding=int', 'id,count', 'id(', '%FF', 'AQID', '-0', '0x10'];
const BODY_VALUES = ['1', '"s"', 'null', 'true', '[]', '{}', '1e999', '-0', '"NaN"', '"2024-01-02T03:04:05Z"', '"1.5s"', '9007199254740993', '{"name":"n"}', '[1,"a"]', '"\\ud800"'];
const BODY_KEYS = ['id', 'count', 'big', 'kind', 'kinds', 'nested', 'when', 'wait', 'updateMask', 'maybeCount', 'extra', 'totals', 'blob', 'textChoice', 'numberChoice', 'label', 'display_name', '__proto__', 'nope'];

function randomPath(): string {
  const n = 1 + Math.floor(random() * 5);
  return '/' + Array.from({ length: n }, () => pick(PATH_PARTS)).join('/');
}
function randomQuery(): string {
  const n = Math.floor(random() * 4);
  return Array.from({ length: n }, () => `${pick(QUERY_NAMES)}=${pick(QUERY_VALUES)}`).join('&');
}
function randomBody(): string {
  const shape = random();
  if (shape < 0.1) return pick(['', '{', '{"a":1,"a":2}', '[', '{"id":"x"} tail', '\u0000', '{"id":"\\x"}']);
  const n = Math.floor(random() * 4);
  return `{${Array.from({ length: n }, () => `${JSON.stringify(pick(BODY_KEYS))}:${pick(BODY_VALUES)}`).join(',')}}`;
}

it('answers 20,000 random requests with JSON and never a 500', async () => {
  const seen = new Map<number, number>();
  for (let i = 0; i < 20_000; i++) {
    const query = randomQuery();
    const url = random() < 0.5 ? randomPath() : pick(['/v1/echo/abc', '/v1/echo', '/v1/things/t', '/v1/deep/files/a/b/meta', '/v1/echo/a:shout', '/v1/enum/KIND_SMALL', '/v1/echo/x/count']);
    const body = random() < 0.5 ? Buffer.from(randomBody()) : undefined;
    const reply = await pipeline.handle({
      method: pick(METHODS),
      url: query === '' ? url : `${url}?${query}`,
      headers: { 'content-type': 'application/json' },
      body,
      signal: new ClientDisconnect(),
      requestId: `fuzz-${i}`,
      clientIp: '127.0.0.1',
    });
    seen.set(reply.statusCode, (seen.get(reply.statusCode) ?? 0) + 1);
    const parsed = JSON.parse(reply.body.toString()) as unknown;
    if (reply.statusCode !== 200) {
      assert.ok(reply.statusCode >= 400 && reply.statusCode < 500, `${reply.statusCode} for ${url}?${query} ${body?.toString()}: ${reply.body}`);
      const status = parsed as { code: number; status: string; message: string };
      assert.equal(typeof status.code, 'number');
      assert.equal(typeof status.status, 'string');
    }
  }
  assert.deepEqual(internalErrors, []);
  // The inputs reach every outcome, so the fuzz is not stuck at one error.
  for (const status of [200, 400, 404, 405]) assert.ok((seen.get(status) ?? 0) > 50, `few ${status}s: ${JSON.stringify([...seen])}`);
});

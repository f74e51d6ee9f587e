// The gateway end to end over real HTTP and a real grpc-js backend that echoes the assembled
// request, so each assertion sees what protogate built from path, query and body.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { bundledProtosDir } from '../../src/package-paths.js';
import { fetchJson, startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

let backend: RunningGrpcServer;
let gateway: TestGateway;
let EchoMessage: protobuf.Type;
let Status: protobuf.Type;
let ErrorInfo: protobuf.Type;
const seenMetadata: grpc.Metadata[] = [];
let hangCancelled = deferred();

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

function statusDetailsBin(code: number, message: string): Buffer {
  const info = ErrorInfo.encode({ reason: 'ECHO_FAILED', domain: 'echo.test', metadata: { k: 'v' } }).finish();
  return Buffer.from(
    Status.encode({ code, message, details: [{ type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: info }] }).finish(),
  );
}

before(async () => {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of [testProtosDir, bundledProtosDir]) {
      const candidate = `${dir}/${target}`;
      try {
        protobuf.util.fs.readFileSync(candidate);
        return candidate;
      } catch {
        // try the next root
      }
    }
    return target;
  };
  root.loadSync(['echo/v1/echo.proto', 'google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
  root.resolveAll();
  EchoMessage = root.lookupType('echo.v1.EchoMessage');
  Status = root.lookupType('google.rpc.Status');
  ErrorInfo = root.lookupType('google.rpc.ErrorInfo');

  backend = await startRawGrpcServer({
    '/echo.v1.EchoService/Echo': (request, call) => {
      seenMetadata.push(call.metadata);
      const echoed = new grpc.Metadata();
      echoed.set('x-echo', 'yes');
      call.sendMetadata(echoed);
      return request;
    },
    '/echo.v1.EchoService/Fail': (request) => {
      const { code } = EchoMessage.decode(request) as unknown as { code: number };
      const trailers = new grpc.Metadata();
      trailers.set('grpc-status-details-bin', statusDetailsBin(code, 'echo failed on purpose'));
      throw Object.assign(new Error('echo failed on purpose'), { code, details: 'echo failed on purpose', metadata: trailers });
    },
    '/echo.v1.EchoService/Slow': async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return request;
    },
    '/echo.v1.EchoService/Hang': (_request, call) =>
      new Promise<Buffer>(() => {
        call.on('cancelled', () => hangCancelled.resolve());
      }),
  });
  gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
    upstreams: [{ service: '*', target: backend.target }],
    limits: { maxBodyBytes: 4096 },
  });
});

after(async () => {
  await gateway?.close();
  await backend?.close();
});

describe('path, query and body assembly', () => {
  it('binds scalars, enums, repeated, nested and well-known types from the query', async () => {
    const query =
      'count=5&big=9007199254740993&ubig=18446744073709551615&ratio=0.5&flag=true&kind=KIND_LARGE&kinds=1&kinds=KIND_SMALL' +
      '&words=a&words=b%20c&nested.name=n&nested.tags=t1&when=2024-01-02T03:04:05Z&wait=1.5s&updateMask=display_name,nested.value' +
      '&maybeCount=7&label=hi&blob=AQID&note=x';
    const res = await fetchJson(`${gateway.base}/v1/echo/abc?${query}`);
    assert.equal(res.status, 200, res.text);
    const body = res.json;
    assert.equal(body.id, 'abc');
    assert.equal(body.count, 5);
    assert.equal(body.big, '9007199254740993');
    assert.equal(body.ubig, '18446744073709551615');
    assert.equal(body.ratio, 0.5);
    assert.equal(body.flag, true);
    assert.equal(body.kind, 'KIND_LARGE');
    assert.deepEqual(body.kinds, ['KIND_SMALL', 'KIND_SMALL']);
    assert.deepEqual(body.words, ['a', 'b c']);
    assert.deepEqual(body.nested, { name: 'n', value: 0, tags: ['t1'] });
    assert.equal(body.when, '2024-01-02T03:04:05Z');
    assert.equal(body.wait, '1.500s');
    assert.equal(body.updateMask, 'displayName,nested.value');
    assert.equal(body.maybeCount, 7);
    assert.equal(body.label, 'hi');
    assert.equal(body.blob, 'AQID');
    assert.equal(body.note, 'x');
  });

  it('treats + in a query value as a space and %2B as a plus', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/abc?label=a+b%2Bc`);
    assert.equal(res.json.label, 'a b+c');
  });

  it('fully decodes a single-segment variable, %2F included', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/a%2Fb%20c`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, 'a/b c');
  });

  it('keeps %2F encoded in a multi-segment variable and matches ** in the middle', async () => {
    const res = await fetchJson(`${gateway.base}/v1/deep/files/a/b%2Fc/d%20e/meta`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.path, 'files/a/b%2Fc/d e');
  });

  it('takes the whole body for body "*" and lets the path win over the body', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/from-path:shout`, {
      method: 'POST',
      json: { id: 'from-body', count: 3, nested: { name: 'x' }, totals: { a: '1', b: 2 } },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, 'from-path');
    assert.equal(res.json.count, 3);
    assert.deepEqual(res.json.totals, { a: '1', b: '2' });
  });

  it('maps the body to one field for body "field"', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/abc/nested`, { method: 'POST', json: { name: 'n1', value: 4 } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, 'abc');
    assert.deepEqual(res.json.nested, { name: 'n1', value: 4, tags: [] });
  });

  it('merges a path-bound sub-field into the body field, the path winning', async () => {
    const res = await fetchJson(`${gateway.base}/v1/things/t1`, { method: 'PATCH', json: { name: 'ignored', value: 9 } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.nested, { name: 'things/t1', value: 9, tags: [] });
  });

  it('accepts GET and DELETE with Content-Type: application/json and no body', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetchJson(`${gateway.base}/v1/echo/abc`, { method, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200, `${method}: ${res.text}`);
    }
  });

  it('emits fields at their default values', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/abc`);
    assert.equal(res.json.count, 0);
    assert.equal(res.json.big, '0');
    assert.deepEqual(res.json.words, []);
    assert.equal(res.json.kind, 'KIND_UNSPECIFIED');
    assert.equal('note' in res.json, false, 'proto3 optional stays absent when unset');
  });

  it('returns only the response_body field', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/abc/count?count=42`);
    assert.equal(res.status, 200);
    assert.equal(res.text, '42');
  });

  it('binds enums in the path by name or number', async () => {
    assert.equal((await fetchJson(`${gateway.base}/v1/enum/KIND_SMALL`)).json.kind, 'KIND_SMALL');
    assert.equal((await fetchJson(`${gateway.base}/v1/enum/2`)).json.kind, 'KIND_LARGE');
    const bad = await fetchJson(`${gateway.base}/v1/enum/HUGE`);
    assert.equal(bad.status, 400);
  });
});

describe('system parameters', () => {
  it('$alt=json;enum-encoding=int writes enums as numbers', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/abc?kind=KIND_LARGE&%24alt=json%3Benum-encoding%3Dint`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.kind, 2);
  });

  it('$fields selects response fields, $prettyPrint indents', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/abc?count=2&$fields=id,count&$prettyPrint=true`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { id: 'abc', count: 2 });
    assert.match(res.text, /\n {2}"id"/);
  });
});

describe('bad requests', () => {
  const expectBadRequest = async (res: Awaited<ReturnType<typeof fetchJson>>, field: string, status = 400) => {
    assert.equal(res.status, status, res.text);
    assert.equal(res.headers.get('content-type')?.startsWith('application/json'), true);
    assert.equal(res.json.code, 3);
    assert.equal(res.json.status, 'INVALID_ARGUMENT');
    assert.equal(typeof res.json.message, 'string');
    if (field !== '') {
      const violations = res.json.details.find((d: any) => d['@type'].endsWith('google.rpc.BadRequest'))?.fieldViolations;
      assert.ok(violations, `no BadRequest detail in ${res.text}`);
      assert.equal(violations[0].field, field);
    }
  };

  it('rejects unknown query parameters', async () => {
    await expectBadRequest(await fetchJson(`${gateway.base}/v1/echo/abc?nope=1`), 'nope');
  });

  it('rejects a bad scalar in the query, naming the field', async () => {
    await expectBadRequest(await fetchJson(`${gateway.base}/v1/echo/abc?count=12x`), 'count');
  });

  it('rejects unknown JSON fields, wrong types, duplicate keys, bad JSON', async () => {
    await expectBadRequest(await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { nope: 1 } }), 'nope');
    await expectBadRequest(await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { count: 'many' } }), 'count');
    const post = (body: string) =>
      fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await expectBadRequest(await post('{"id":"a","id":"b"}'), '');
    await expectBadRequest(await post('{"id":'), '');
    await expectBadRequest(await post('{"count": 1} trailing'), '');
  });

  it('rejects two members of a oneof', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { textChoice: 'a', numberChoice: 1 } });
    assert.equal(res.status, 400, res.text);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 415, res.text);
    assert.equal(res.json.status, 'INVALID_ARGUMENT');
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo`, { method: 'POST', json: { id: 'x'.repeat(5000) } });
    assert.equal(res.status, 413, res.text);
    assert.equal(res.json.code, 3);
  });

  it('answers 404 NOT_FOUND and 405 with Allow', async () => {
    const missing = await fetchJson(`${gateway.base}/v2/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.status, 'NOT_FOUND');
    const wrong = await fetchJson(`${gateway.base}/v1/echo/abc`, { method: 'PUT' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.json.code, 12);
    assert.match(wrong.headers.get('allow') ?? '', /GET/);
    assert.match(wrong.headers.get('allow') ?? '', /DELETE/);
  });

  it('rejects a malformed grpc-timeout header', async () => {
    await expectBadRequest(await fetchJson(`${gateway.base}/v1/echo/abc`, { headers: { 'grpc-timeout': 'soon' } }), 'grpc-timeout');
  });
});

describe('upstream answers', () => {
  it('maps a gRPC status to HTTP and passes the details through', async () => {
    const res = await fetchJson(`${gateway.base}/v1/fail/5`, { method: 'POST', json: {} });
    assert.equal(res.status, 404, res.text);
    assert.equal(res.json.code, 5);
    assert.equal(res.json.status, 'NOT_FOUND');
    assert.equal(res.json.message, 'echo failed on purpose');
    assert.deepEqual(res.json.details, [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ECHO_FAILED', domain: 'echo.test', metadata: { k: 'v' } },
    ]);
    for (const [code, status] of [[9, 400], [10, 409], [16, 401], [8, 429], [13, 500]] as const) {
      assert.equal((await fetchJson(`${gateway.base}/v1/fail/${code}`, { method: 'POST', json: {} })).status, status, `code ${code}`);
    }
  });

  it('answers 504 at the route deadline of a hung call', async () => {
    const started = Date.now();
    const res = await fetchJson(`${gateway.base}/v1/slow/x`);
    assert.equal(res.status, 504, res.text);
    assert.equal(res.json.status, 'DEADLINE_EXCEEDED');
    assert.ok(Date.now() - started < 1900, 'the 300 ms route deadline applies, not the backend delay');
  });

  it('cancels the upstream call when the HTTP client disconnects', async () => {
    hangCancelled = deferred();
    const controller = new AbortController();
    const pending = fetch(`${gateway.base}/v1/hang/x`, { signal: controller.signal }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(), 100);
    await pending;
    let timer: NodeJS.Timeout | undefined;
    const seen = await Promise.race([
      hangCancelled.promise.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 1500))),
    ]);
    clearTimeout(timer);
    assert.equal(seen, true, 'the backend saw the call cancelled long before its 15 s deadline');
  });

  it('lets a client grpc-timeout shorten the deadline, never lengthen it', async () => {
    const started = Date.now();
    const res = await fetchJson(`${gateway.base}/v1/hang/x`, { headers: { 'grpc-timeout': '200m' } });
    assert.equal(res.status, 504, res.text);
    assert.ok(Date.now() - started < 5000, 'answered at the client deadline, not the 15 s default');
    const capped = await fetchJson(`${gateway.base}/v1/slow/x`, { headers: { 'grpc-timeout': '1H' } });
    assert.equal(capped.status, 504, 'the 300 ms route deadline still applies');
  });

  it('forwards allowed headers as metadata and strips identity and reserved names', async () => {
    seenMetadata.length = 0;
    const res = await fetchJson(`${gateway.base}/v1/echo/abc`, {
      headers: {
        'grpc-metadata-tenant': 'acme',
        'x-request-id': 'req-123',
        'x-user-id': 'mallory',
        'grpc-metadata-x-user-id': 'mallory',
        'grpc-metadata-x-user-scopes': 'admin',
        'grpc-metadata-grpc-timeout': '1S',
        'cookie': 'secret',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'req-123');
    assert.equal(res.headers.get('grpc-metadata-x-echo'), 'yes');
    const md = seenMetadata[0]!;
    assert.deepEqual(md.get('tenant'), ['acme']);
    assert.deepEqual(md.get('x-request-id'), ['req-123']);
    assert.deepEqual(md.get('x-user-id'), []);
    assert.deepEqual(md.get('x-user-scopes'), []);
    assert.deepEqual(md.get('cookie'), []);
  });

  it('generates a request id when the client sends none', async () => {
    const res = await fetchJson(`${gateway.base}/v1/echo/abc`);
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});

describe('unavailable upstream and the Google error envelope', () => {
  it('answers 503 fast without naming the upstream address', async () => {
    const down = await startTestGateway({
      protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
      upstreams: [{ service: 'echo.v1.EchoService', target: '127.0.0.1:1' }],
      errors: { format: 'google' },
    });
    try {
      const started = Date.now();
      const res = await fetchJson(`${down.base}/v1/echo/abc`);
      assert.equal(res.status, 503, res.text);
      assert.ok(Date.now() - started < 3000);
      assert.equal(res.json.error.code, 503);
      assert.equal(res.json.error.status, 'UNAVAILABLE');
      assert.doesNotMatch(res.text, /127\.0\.0\.1|:1\b|ECONNREFUSED/);
    } finally {
      await down.close();
    }
  });

  it('answers 502 (not 429) when the upstream response is over the receive limit', async () => {
    const small = await startTestGateway({
      protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
      upstreams: [{ service: '*', target: backend.target }],
      upstream: { maxResponseBytes: 1024 },
    });
    try {
      const res = await fetchJson(`${small.base}/v1/echo`, { method: 'POST', json: { id: 'x'.repeat(2000) } });
      assert.equal(res.status, 502, res.text);
      assert.equal(res.json.status, 'INTERNAL');
      const ok = await fetchJson(`${small.base}/v1/echo/small`);
      assert.equal(ok.status, 200, 'the pool still serves after the oversized response');
    } finally {
      await small.close();
    }
  });
});

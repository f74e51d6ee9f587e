// Hostile request content against the real CLI and a recording grpc-js backend: malformed JSON,
// big numbers, prototype-pollution keys, header injection, hop-by-hop and grpc-* headers, and
// identity headers under every disguise. Each refusal is a fast 400 JSON google.rpc.Status that
// never reaches the backend; what does reach it is checked field by field and header by header.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingLeaked, startHostileGateway, type HostileGateway } from '../helpers/hostile-gateway.js';

let gw: HostileGateway;
/** Metadata keys a plain request carries to the backend (the transport's own, the request id). */
let baselineKeys: Set<string>;

before(async () => {
  gw = await startHostileGateway({ metadata: { forwardHeaders: ['x-tenant'] } });
  const res = await gw.fetch('/v1/echo/baseline');
  assert.equal(res.status, 200, res.body);
  baselineKeys = new Set(Object.keys(gw.backend.arrivals.at(-1)!.metadata));
});
after(async () => {
  await gw?.close();
});

function post(body: string | Buffer, what: string): Promise<Awaited<ReturnType<HostileGateway['fetch']>>> {
  return gw.fetch('/v1/echo', { method: 'POST', headers: { 'content-type': 'application/json', 'x-case': what }, body });
}

const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);

describe('malformed JSON → 400 JSON, fast, never reaching the backend', () => {
  const cases: Array<[string, string | Buffer]> = [
    ['truncated object', '{"id":"a"'],
    ['truncated after colon', '{"id":'],
    ['truncated string', '{"id":"abc'],
    ['truncated escape', '{"id":"\\u12'],
    ['lone bracket', '['],
    ['trailing data', '{"id":"a"} x'],
    ['two documents', '{"id":"a"}{"id":"b"}'],
    ['block comment', '{/* c */"id":"a"}'],
    ['line comment', '{"id":"a"} // c'],
    ['NaN literal', '{"ratio":NaN}'],
    ['Infinity literal', '{"ratio":Infinity}'],
    ['-Infinity literal', '{"ratio":-Infinity}'],
    ['leading zero', '{"count":01}'],
    ['negative leading zero', '{"count":-01}'],
    ['plus sign', '{"count":+1}'],
    ['hex number', '{"count":0x10}'],
    ['single quotes', "{'id':'a'}"],
    ['unquoted key', '{id:"a"}'],
    ['trailing comma', '{"id":"a",}'],
    ['control char in string', '{"id":"a\u0001b"}'],
    ['invalid UTF-8 byte', Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['overlong UTF-8 "/"', Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
    ['UTF-8 encoded surrogate', Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['truncated UTF-8 sequence', Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')])],
    ['lone high surrogate escape', '{"id":"\\ud800"}'],
    ['lone low surrogate escape', '{"id":"x\\udc00"}'],
    ['reversed surrogate pair', '{"id":"\\udc00\\ud800"}'],
    ['duplicate key', '{"id":"a","id":"b"}'],
    ['duplicate key, proto and JSON name', '{"display_name":"a","label":"b"}'],
    ['duplicate map key', '{"totals":{"a":"1","a":"2"}}'],
    ['10k nested arrays', deep(10_000, '[', ']')],
    ['10k nested objects in a Struct', `{"extra":${deep(10_000, '{"a":', '}')}}`],
    ['10k nested lists in a Struct', `{"extra":{"a":${deep(10_000, '[', ']')}}}`],
    ['huge exponent for int32', '{"count":1e999}'],
    ['huge integer for int32', '{"count":99999999999999999999}'],
    ['fraction for int32', '{"count":1.5}'],
    ['double out of range', '{"ratio":1e400}'],
    ['int64 over the max', '{"big":"9223372036854775808"}'],
    ['int64 under the min', '{"big":-9223372036854775809}'],
    ['uint64 negative', '{"ubig":"-1"}'],
    ['uint64 over the max', '{"ubig":18446744073709551616}'],
    ['200k-digit number', `{"count":${'9'.repeat(200_000)}}`],
  ];
  for (const [what, body] of cases) {
    it(what, async () => {
      const before = gw.backend.arrivals.length;
      const started = performance.now();
      const res = await post(body, what);
      const ms = performance.now() - started;
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.body.slice(0, 200)}`);
      assert.equal(res.json['code'], 3);
      assert.equal(res.json['status'], 'INVALID_ARGUMENT');
      assert.ok(ms < 1000, `${what} took ${ms.toFixed(0)} ms`);
      assert.equal(gw.backend.arrivals.length, before, `${what} reached the backend`);
    });
  }
});

describe('64-bit integers are exact or refused, never rounded', () => {
  const exact: Array<[string, string, 'big' | 'ubig', string]> = [
    ['int64 max as a string', '{"big":"9223372036854775807"}', 'big', '9223372036854775807'],
    ['int64 min as a number', '{"big":-9223372036854775808}', 'big', '-9223372036854775808'],
    ['2^53 + 1 as a number', '{"big":9007199254740993}', 'big', '9007199254740993'],
    ['uint64 max as a number', '{"ubig":18446744073709551615}', 'ubig', '18446744073709551615'],
    ['exponent form', '{"big":"1e18"}', 'big', '1000000000000000000'],
  ];
  for (const [what, body, field, value] of exact) {
    it(what, async () => {
      const res = await post(body, what);
      if (res.status === 400) return; // refusing is allowed; rounding is not
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json[field], value, `the client got ${String(res.json[field])}`);
      assert.equal(gw.backend.arrivals.at(-1)!.request[field], value, 'the backend got the exact value');
    });
  }
});

describe('prototype-pollution keys are data or refused, and change no other request', () => {
  let reference: string;
  before(async () => {
    reference = (await gw.fetch('/v1/echo/reference?count=1')).body;
  });

  for (const [what, body] of [
    ['__proto__ as a field', '{"__proto__":{"polluted":"yes","count":7}}'],
    ['constructor.prototype as fields', '{"constructor":{"prototype":{"polluted":"yes"}}}'],
    ['prototype as a field', '{"prototype":{"polluted":"yes"}}'],
    ['__proto__ inside a message field', '{"nested":{"__proto__":{"name":"evil"}}}'],
  ] as const) {
    it(`refuses ${what} with 400 naming it`, async () => {
      const res = await post(body, what);
      assert.equal(res.status, 400, res.body);
      assert.match(String(res.json['message']), /__proto__|constructor|prototype/);
    });
  }

  it('keeps map keys __proto__, constructor and prototype as data, both ways', async () => {
    const res = await post('{"totals":{"__proto__":"5","constructor":"6","prototype":"7","hasOwnProperty":"8"}}', 'map keys');
    assert.equal(res.status, 200, res.body);
    const totals = JSON.parse(res.body, (key, value: unknown) => value).totals as Record<string, string>;
    assert.deepEqual(Object.entries(totals).sort(), [['__proto__', '5'], ['constructor', '6'], ['hasOwnProperty', '8'], ['prototype', '7']]);
    const arrived = gw.backend.arrivals.at(-1)!.request['totals'] as Record<string, string>;
    assert.deepEqual(Object.keys(arrived).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'prototype']);
  });

  it('keeps Struct keys __proto__ and constructor as data', async () => {
    const res = await post('{"extra":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":1}}}', 'struct keys');
    assert.equal(res.status, 200, res.body);
    assert.match(res.body, /"extra":\{"__proto__":\{"polluted":"yes"\},"constructor":\{"prototype":1\}\}/);
  });

  for (const query of ['__proto__=1', '__proto__.polluted=yes', 'constructor.prototype.polluted=yes', 'nested.__proto__=x', 'totals.__proto__=1']) {
    it(`refuses the query parameter ${query} with 400`, async () => {
      const before = gw.backend.arrivals.length;
      const res = await gw.fetch(`/v1/echo/q?${query}`);
      assert.equal(res.status, 400, res.body);
      assert.equal(gw.backend.arrivals.length, before);
    });
  }

  it('answers the next request exactly as before the attempts', async () => {
    const res = await gw.fetch('/v1/echo/reference?count=1');
    assert.equal(res.body, reference);
    assert.doesNotMatch(res.body, /polluted|evil/);
  });
});

describe('header injection and forwarding', () => {
  const request = (headers: string) => `GET /v1/echo/hdr HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

  for (const [what, header] of [
    ['CR inside a value', 'X-Tenant: a\rX-User-Id: evil\r\n'],
    ['NUL inside a value', 'X-Tenant: a\u0000b\r\n'],
    ['LF inside a value (obs-fold)', 'X-Tenant: a\r\n X-User-Id: evil\r\n'],
    ['space before the colon', 'X-User-Id : evil\r\n'],
    ['CR in a header name', 'X-Te\rnant: a\r\n'],
  ] as const) {
    it(`refuses ${what} with 400 JSON, never reaching the backend`, async () => {
      const before = gw.backend.arrivals.length;
      const { responses } = await gw.raw(what, request(header));
      assert.equal(responses.length, 1, `${what}: no answer`);
      assert.equal(responses[0]!.status, 400, `${what}: ${responses[0]!.status} ${responses[0]!.body}`);
      assert.equal(gw.backend.arrivals.length, before, `${what} reached the backend`);
    });
  }

  it('forwards neither hop-by-hop headers nor client grpc-* headers verbatim', async () => {
    const headers = [
      'Connection: keep-alive, X-Secret-Hop',
      'X-Secret-Hop: 1',
      'Keep-Alive: timeout=5',
      'Proxy-Authorization: Basic eDp5',
      'Proxy-Connection: keep-alive',
      'TE: gzip',
      'Upgrade: h2c',
      'Trailer: X-Later',
      'grpc-encoding: gzip',
      'grpc-accept-encoding: gzip',
      'grpc-status: 0',
      'grpc-message: injected',
      'grpc-status-details-bin: AAAA',
      'grpc-previous-rpc-attempts: 3',
      'grpc-metadata-grpc-status: 5',
      'grpc-metadata-content-type: text/plain',
      'grpc-metadata-te: gzip',
      'grpc-metadata-user-agent: evil',
      'X-Tenant: acme',
      'X-Request-Id: hop-test',
    ].join('\r\n');
    const { responses } = await gw.raw('hop-by-hop', request(`${headers}\r\n`));
    assert.equal(responses[0]?.status, 200, responses[0]?.body);
    const arrived = gw.backend.arrivals.at(-1)!.metadata;
    const extra = Object.keys(arrived).filter((key) => !baselineKeys.has(key)).sort();
    assert.deepEqual(extra, ['x-tenant'], `unexpected metadata: ${JSON.stringify(arrived)}`);
    assert.deepEqual(arrived['x-tenant'], ['acme']);
    assert.deepEqual(arrived['x-request-id'], ['hop-test']);
    for (const key of ['grpc-status', 'grpc-message', 'grpc-encoding', 'te', 'user-agent', 'content-type']) {
      for (const value of arrived[key] ?? []) assert.doesNotMatch(value, /injected|evil|gzip|text\/plain|^5$/, `${key}: ${value}`);
    }
  });

  it('never lets a client supply identity metadata, under any case or prefix', async () => {
    const disguises = [
      'x-user-id: evil', 'X-User-Id: evil', 'X-USER-ID: evil', 'x-user-scopes: admin', 'X-User-Roles: admin',
      'grpc-metadata-x-user-id: evil', 'Grpc-Metadata-X-User-Id: evil', 'GRPC-METADATA-X-USER-SCOPES: admin',
      'grpc-metadata-x-user-roles: admin', 'grpc-metadata-X-User-Id: evil',
    ];
    const { responses } = await gw.raw('identity', request(`${disguises.join('\r\n')}\r\n`));
    assert.equal(responses[0]?.status, 200, responses[0]?.body);
    const arrived = gw.backend.arrivals.at(-1)!.metadata;
    for (const name of Object.keys(arrived)) assert.doesNotMatch(name, /x-user-(id|scopes|roles)$/, `identity arrived as ${name}: ${JSON.stringify(arrived)}`);
    assert.doesNotMatch(JSON.stringify(arrived), /evil|admin/);
  });
});

describe('hostile values of headers the gateway reads', () => {
  for (const value of ['99999999H', '100000000S', '-1S', '1x', '', ' 1S', '1.5S', '1e3m', '00000000000000000001n', '1S, 2S', '\u00ff1S']) {
    it(`grpc-timeout ${JSON.stringify(value)}: served within the route deadline or refused with 400, never a 500`, async () => {
      const { responses } = await gw.raw(`grpc-timeout ${value}`, `GET /v1/echo/t HTTP/1.1\r\nHost: x\r\ngrpc-timeout: ${value}\r\n\r\n`);
      assert.equal(responses.length, 1);
      assert.ok([200, 400, 504].includes(responses[0]!.status), `${responses[0]!.status} ${responses[0]!.body}`);
    });
  }

  for (const value of ['a b', '<script>', 'x'.repeat(200), '../../etc/passwd', 'id\u0000', 'é']) {
    it(`a malformed x-request-id (${JSON.stringify(value.slice(0, 20))}) is replaced, never echoed`, async () => {
      const { responses } = await gw.raw('x-request-id', Buffer.from(`GET /v1/echo/rid HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${value}\r\n\r\n`, 'latin1'));
      assert.equal(responses.length, 1);
      const echoed = responses[0]!.headers['x-request-id'] ?? '';
      if (responses[0]!.status === 200) assert.equal(gw.backend.arrivals.at(-1)!.metadata['x-request-id']?.[0], echoed, 'the backend gets the id the client is told');
      assert.notEqual(echoed, value);
      assert.match(echoed, /^[A-Za-z0-9._:-]{1,128}$/);
    });
  }
});

describe('nothing leaks', () => {
  it('no response body or header holds a stack, path, upstream address or internal error text', () => {
    assertNothingLeaked(gw.seen, gw.backend.server.port);
  });
});

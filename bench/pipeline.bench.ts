// Per-stage cost of protogate's request pipeline, in-process (no sockets, no gRPC): route
// match + request assembly + JSON→protobuf + response protobuf→JSON, against a canned upstream.
// The same requests are measured again with 1,000 more routes in the table (issue 7: a large
// API must not slow every request down).
// Run: node --import tsx bench/pipeline.bench.ts [iterations]
import path from 'node:path';
import { buildModel } from '../codegen/build-model.js';
import { createPipeline, type GatewayRequest } from '../src/pipeline.js';
import { packageRoot } from '../src/package-paths.js';
import { createMetadataPolicy } from '../src/upstream/request-metadata.js';
import type { UnaryRequest, UnaryResult, UpstreamTransport } from '../src/upstream/transport.js';
import { ClientDisconnect } from '../src/server/client-disconnect.js';

const iterations = Number(process.argv[2] ?? 200_000);
const protoDir = path.join(packageRoot, 'bench', 'proto');
const { model, protos } = buildModel({ protoPaths: [protoDir], protoFiles: ['item.proto'] });
const Item = protos.root.lookupType('benchitem.v1.Item');
const item = Item.encode(
  Item.fromObject({
    id: 'abc', display_name: 'Benchmark widget', quantity: 7, size_bytes: '9007199254740993', unit_price: 5.25, in_stock: true,
    status: 2, tags: ['x', 'y'], dimensions: { width: 1, height: 2, depth: 3, unit: 'mm' },
    created_at: { seconds: 1700000000, nanos: 123000000 }, labels: { source: 'bench', kind: 'widget' },
  }),
).finish();
const response = Buffer.from(item);
const canned: UpstreamTransport = {
  async unary(_request: UnaryRequest): Promise<UnaryResult> {
    return { ok: true, message: response, headers: [], trailers: [] };
  },
  serverStream() {
    throw new Error('the bench calls no streaming method');
  },
  async close() {},
};
const options = {
  errorFormat: 'status' as const, ignoreUnknownFields: false, emitDefaults: true, maxJsonDepth: 64, defaultTimeoutMs: 15000,
  serviceTimeoutsMs: new Map<string, number>(), metadata: createMetadataPolicy(), transportFor: () => canned,
  onInternalError: (error: unknown) => { throw error; },
};
const pipeline = createPipeline(model, options);
// 1,000 more bindings of the same rpcs under other literal prefixes, as a large API would have
const template = model.routes[0]!;
const extra = Array.from({ length: 1000 }, (_, i) => ({
  ...template,
  operationId: `${template.operationId}_x${i}`,
  template: i % 2 === 0 ? `/v${i}/items/{id}` : `/v1/group${i}/{id}/items:${i % 3 === 0 ? 'touch' : 'look'}`,
  bindingIndex: i + 100,
}));
const large = createPipeline({ ...model, routes: [...model.routes, ...extra] }, options);
const postBody = Buffer.from(JSON.stringify({
  id: 'new-1', displayName: 'Benchmark widget, posted', quantity: 7, sizeBytes: '9007199254740993', unitPrice: 5.25,
  inStock: true, status: 'STATUS_ARCHIVED', tags: ['x', 'y'], dimensions: { width: 1, height: 2, depth: 3, unit: 'mm' },
  createdAt: '2023-11-14T22:13:20.123Z', labels: { source: 'wrk', kind: 'post' },
}));
const headers = { host: '127.0.0.1', 'content-type': 'application/json' };
const requests: Record<string, () => GatewayRequest> = {
  'GET /v1/items/{id}': () => ({ method: 'GET', url: '/v1/items/abc', headers, body: undefined, signal: new ClientDisconnect(), requestId: 'r1', clientIp: '127.0.0.1' }),
  'POST /v1/items': () => ({ method: 'POST', url: '/v1/items', headers, body: postBody, signal: new ClientDisconnect(), requestId: 'r1', clientIp: '127.0.0.1' }),
};
async function measure(label: string, subject: typeof pipeline): Promise<void> {
  for (const [name, make] of Object.entries(requests)) {
    const check = await subject.handle(make());
    if (check.statusCode !== 200) throw new Error(`${name}: ${check.statusCode} ${String(check.body)}`);
    for (let i = 0; i < iterations / 4; i++) await subject.handle(make());
    const started = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) await subject.handle(make());
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(started);
    console.log(`${label.padEnd(12)} ${name.padEnd(22)} ${((wall * 1000) / iterations).toFixed(2)} µs/request wall, ${((cpu.user + cpu.system) / iterations).toFixed(2)} µs CPU`);
  }
}

await measure(`${pipeline.routes.length} routes`, pipeline);
await measure(`${large.routes.length} routes`, large);

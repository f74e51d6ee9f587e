// google.api.HttpBody through the gateway: uploads arrive at the backend as the exact bytes with
// their Content-Type, downloads leave with the backend's bytes and content_type, whether HttpBody
// is the whole message or one field (body "field", response_body).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { loadTestRoot } from '../helpers/proto-root.js';
import * as grpc from '@grpc/grpc-js';

let backend: grpc.Server;
let backendTarget: string;
let gateway: TestGateway;
let HttpBody: protobuf.Type;
let SetCoverRequest: protobuf.Type;
let GetBlobRequest: protobuf.Type;
let Cover: protobuf.Type;
let BlobInfo: protobuf.Type;
/** What the backend stored, by id (blobs) or name (covers). */
const stored = new Map<string, { content_type: string; data: Buffer }>();
let nextContentType = '';

before(async () => {
  const root = loadTestRoot('media/v1/media.proto');
  HttpBody = root.lookupType('google.api.HttpBody');
  SetCoverRequest = root.lookupType('media.v1.SetCoverRequest');
  GetBlobRequest = root.lookupType('media.v1.GetBlobRequest');
  Cover = root.lookupType('media.v1.Cover');
  BlobInfo = root.lookupType('media.v1.BlobInfo');
  const info = (id: string, body: { content_type: string; data: Buffer }) =>
    Buffer.from(BlobInfo.encode({ id, content_type: body.content_type, size: body.data.length }).finish());
  const unary: Record<string, (request: Buffer) => Buffer> = {
    '/media.v1.MediaService/PutBlob': (request) => {
      const body = HttpBody.decode(request) as unknown as { content_type: string; data: Buffer };
      const id = `b${stored.size + 1}`;
      stored.set(id, { content_type: body.content_type, data: Buffer.from(body.data) });
      return info(id, body);
    },
    '/media.v1.MediaService/SetCover': (request) => {
      const { name, image } = SetCoverRequest.decode(request) as unknown as { name: string; image: { content_type: string; data: Buffer } };
      stored.set(name, { content_type: image.content_type, data: Buffer.from(image.data) });
      return info(name, image);
    },
    '/media.v1.MediaService/GetBlob': (request) => {
      const { id } = GetBlobRequest.decode(request) as unknown as { id: string };
      const body = stored.get(id);
      if (body === undefined) throw Object.assign(new Error(`no blob ${id}`), { code: 5, details: `no blob ${id}` });
      return Buffer.from(HttpBody.encode({ content_type: nextContentType || body.content_type, data: body.data }).finish());
    },
    '/media.v1.MediaService/GetCover': (request) => {
      const { name } = GetBlobRequest.decode(request) as unknown as { id: string; name?: string };
      const key = (request.length > 0 ? (root.lookupType('media.v1.GetCoverRequest').decode(request) as unknown as { name: string }).name : name) ?? '';
      const image = stored.get(key);
      return Buffer.from(Cover.encode({ name: key, image }).finish());
    },
  };
  backend = new grpc.Server();
  const identity = (b: Buffer) => b;
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [path, handler] of Object.entries(unary)) {
    const method = path.split('/')[2]!;
    definition[method] = { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
    implementation[method] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      try {
        callback(null, handler(call.request));
      } catch (error) {
        callback(error as grpc.ServiceError);
      }
    };
  }
  // DownloadBlob: the blob in chunks of `chunk` bytes (4 KiB unless the id says `…@N`), then
  // FAILED… when the id ends in `!` after half the chunks
  definition['DownloadBlob'] = {
    path: '/media.v1.MediaService/DownloadBlob',
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
  implementation['DownloadBlob'] = (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    const { id } = GetBlobRequest.decode(call.request) as unknown as { id: string };
    const breaks = id.endsWith('!');
    const body = stored.get(breaks ? id.slice(0, -1) : id);
    if (body === undefined) {
      call.emit('error', { code: grpc.status.NOT_FOUND, details: `no blob ${id}` });
      return;
    }
    const chunk = 4096;
    const chunks = Math.ceil(body.data.length / chunk);
    for (let i = 0; i < chunks; i++) {
      if (breaks && i === Math.floor(chunks / 2)) {
        call.emit('error', { code: grpc.status.DATA_LOSS, details: 'disk read failed' });
        return;
      }
      call.write(Buffer.from(HttpBody.encode({ content_type: i === 0 ? body.content_type : '', data: body.data.subarray(i * chunk, (i + 1) * chunk) }).finish()));
    }
    call.end();
  };
  backend.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    backend.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  backendTarget = `127.0.0.1:${port}`;
  gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['media/v1/media.proto'] },
    upstreams: [{ service: 'media.v1.MediaService', target: backendTarget }],
  });
});

after(async () => {
  await gateway?.close();
  backend?.forceShutdown();
});

describe('google.api.HttpBody', () => {
  it('uploads the exact bytes and Content-Type as the whole request, and downloads them as they were', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(200_000)]);
    const put = await fetch(`${gateway.base}/v1/blobs`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
    assert.equal(put.status, 200);
    const info = (await put.json()) as { id: string; contentType: string; size: string };
    assert.deepEqual(info, { id: info.id, contentType: 'image/png', size: String(png.length) });
    assert.ok(stored.get(info.id)!.data.equals(png), 'the backend got the bytes unchanged');

    const got = await fetch(`${gateway.base}/v1/blobs/${info.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'image/png');
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(got.headers.get('content-length'), String(png.length));
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(png), 'byte-exact download');
  });

  it('takes a non-JSON text body as it is (no JSON parsing, no 415)', async () => {
    const csv = 'id,title\n1,"Dune"\n';
    const put = await fetch(`${gateway.base}/v1/blobs`, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } });
    assert.equal(put.status, 200);
    const { id } = (await put.json()) as { id: string };
    assert.equal(stored.get(id)!.content_type, 'text/csv; charset=utf-8');
    const got = await fetch(`${gateway.base}/v1/blobs/${id}`);
    assert.equal(got.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(await got.text(), csv);
  });

  it('binds the body to an HttpBody field beside path fields, and answers a response_body HttpBody raw', async () => {
    const jpeg = randomBytes(5000);
    const put = await fetch(`${gateway.base}/v1/covers/dune`, { method: 'PUT', body: jpeg, headers: { 'content-type': 'image/jpeg' } });
    assert.equal(put.status, 200);
    assert.equal(((await put.json()) as { id: string }).id, 'covers/dune');
    assert.ok(stored.get('covers/dune')!.data.equals(jpeg));
    const got = await fetch(`${gateway.base}/v1/covers/dune`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'image/jpeg');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(jpeg));
  });

  it('compresses text-like raw answers and leaves already-compressed media alone', async () => {
    const csv = 'id,title\n'.concat(Array.from({ length: 400 }, (_, i) => `${i},"Book ${i}"\n`).join(''));
    const text = (await (await fetch(`${gateway.base}/v1/blobs`, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } })).json()) as { id: string };
    const image = (await (await fetch(`${gateway.base}/v1/blobs`, { method: 'POST', body: randomBytes(5000), headers: { 'content-type': 'image/webp' } })).json()) as { id: string };
    const gotText = await fetch(`${gateway.base}/v1/blobs/${text.id}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gotText.headers.get('content-encoding'), 'gzip');
    assert.equal(await gotText.text(), csv);
    const gotImage = await fetch(`${gateway.base}/v1/blobs/${image.id}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gotImage.headers.get('content-encoding'), null);
    assert.equal(gotImage.headers.get('content-length'), '5000');
  });

  it('sends bytes without a type as application/octet-stream, and an empty upload as an empty HttpBody', async () => {
    const put = await fetch(`${gateway.base}/v1/blobs`, { method: 'POST', body: Buffer.alloc(0) });
    assert.equal(put.status, 200);
    const { id, size } = (await put.json()) as { id: string; size: string };
    assert.equal(size, '0');
    nextContentType = '';
    stored.set(id, { content_type: '', data: Buffer.from('xyz') });
    const got = await fetch(`${gateway.base}/v1/blobs/${id}`);
    assert.equal(got.headers.get('content-type'), 'application/octet-stream');
    assert.equal(await got.text(), 'xyz');
  });

  it('refuses a content_type that is not a media type with 502, never as a header', async () => {
    stored.set('evil', { content_type: 'text/html\r\nset-cookie: a=b', data: Buffer.from('<b>x</b>') });
    const got = await fetch(`${gateway.base}/v1/blobs/evil`);
    assert.equal(got.status, 502);
    assert.equal(got.headers.get('set-cookie'), null);
    assert.equal(((await got.json()) as { status: string }).status, 'INTERNAL');
  });

  it('streams a download: the chunks joined byte-exact, with the Content-Type of the first message', async () => {
    const data = randomBytes(50_000);
    stored.set('big', { content_type: 'application/pdf', data });
    const got = await fetch(`${gateway.base}/v1/blobs/big:download`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'application/pdf');
    assert.equal(got.headers.get('content-length'), null, 'streamed, chunked');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
  });

  it('answers a download that fails before its first chunk with the JSON error, and cuts one that fails later', async () => {
    const missing = await fetch(`${gateway.base}/v1/blobs/none:download`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { status: string }).status, 'NOT_FOUND');
    stored.set('flaky', { content_type: 'application/zip', data: randomBytes(40_000) });
    const broken = await fetch(`${gateway.base}/v1/blobs/flaky!:download`);
    assert.equal(broken.status, 200);
    await assert.rejects(broken.arrayBuffer(), 'the transfer is cut off, not ended as if complete');
  });

  it('keeps errors as JSON Status bodies', async () => {
    const missing = await fetch(`${gateway.base}/v1/blobs/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(((await missing.json()) as { status: string }).status, 'NOT_FOUND');
  });

  it('bounds uploads by limits.maxBodyBytes', async () => {
    const big = await fetch(`${gateway.base}/v1/blobs`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(big.status, 413);
  });
});

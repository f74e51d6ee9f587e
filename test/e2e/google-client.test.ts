// Google's own Node client library (@google-cloud/secret-manager over google-gax's REST
// transport), unmodified, against protogate in front of a real grpc-js SecretManagerService.
// Every call here is an HTTP/JSON request the library builds from the google.api.http rules in
// Google's protos; protogate must route it, assemble the gRPC request, and turn the answer (or
// the error) back into what the library expects.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { PassThroughClient } from 'google-auth-library';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  SERVICE,
  SERVICE_PROTO,
  crc32c,
  gaxProtosDir,
  secretManagerProtosDir,
  startSecretManagerBackend,
  type SecretManagerBackend,
} from './secret-manager-backend.js';

// Nothing may probe a cloud metadata server.
process.env['METADATA_SERVER_DETECTION'] = 'none';

/** Bounded calls: no retries, a short deadline (some methods retry 503/429 for about a minute). */
// (`retry: null` crashes google-gax 6.17's CallSettings.merge, so retries are capped by count.)
const call = { timeout: 5000, maxRetries: 0 } as const;
const TEST_TIMEOUT = { timeout: 20_000 };

/** The fields of google-gax's GoogleError these tests read. */
interface ClientError extends Error {
  code?: number;
  httpStatusCode?: number;
  reason?: string;
  domain?: string;
}

/** Awaits a call that must fail and returns its error. */
async function failure(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `rejected with a non-Error: ${String(error)}`);
    return error as ClientError;
  }
  assert.fail('the call succeeded but should have failed');
}

let backend: SecretManagerBackend;
let gateway: TestGateway;
let googleErrorsGateway: TestGateway;
let client: SecretManagerServiceClient;
let googleErrorsClient: SecretManagerServiceClient;

function clientFor(port: number): SecretManagerServiceClient {
  return new SecretManagerServiceClient({
    apiEndpoint: '127.0.0.1',
    port,
    protocol: 'http',
    fallback: true,
    authClient: new PassThroughClient(),
  });
}

before(async () => {
  backend = await startSecretManagerBackend();
  const protos = { paths: [secretManagerProtosDir, gaxProtosDir], files: [SERVICE_PROTO] };
  const upstreams = [{ service: SERVICE, target: backend.target }];
  gateway = await startTestGateway({ protos, upstreams, metadata: { forwardHeaders: ['x-goog-request-params'] } });
  googleErrorsGateway = await startTestGateway({ protos, upstreams, errors: { format: 'google' } });
  client = clientFor(gateway.port);
  googleErrorsClient = clientFor(googleErrorsGateway.port);
});

after(async () => {
  await client?.close();
  await googleErrorsClient?.close();
  await gateway?.close();
  await googleErrorsGateway?.close();
  await backend?.close();
});

describe('secrets', () => {
  it('createSecret and getSecret round-trip the resource (maps, durations, enums, timestamps)', TEST_TIMEOUT, async () => {
    const [created] = await client.createSecret(
      {
        parent: 'projects/p',
        secretId: 'db-password',
        secret: {
          replication: { automatic: {} },
          labels: { env: 'test', team: 'gw' },
          annotations: { note: 'a b+c/d' },
          versionDestroyTtl: { seconds: 86400 },
          secretType: 'OTHER',
        },
      },
      call,
    );
    assert.equal(created.name, 'projects/p/secrets/db-password');
    assert.deepEqual(created.labels, { env: 'test', team: 'gw' });
    assert.deepEqual(created.annotations, { note: 'a b+c/d' });
    assert.equal(Number(created.versionDestroyTtl?.seconds), 86400);
    assert.ok(Number(created.createTime?.seconds) > 1_700_000_000, 'createTime comes back as a Timestamp');
    assert.ok(created.replication?.automatic, 'replication.automatic survives');

    // What the backend received: parent from the path, secret_id from the query, secret from the body.
    const seen = backend.lastCall('CreateSecret');
    assert.equal(seen.request['parent'], 'projects/p');
    assert.equal(seen.request['secretId'], 'db-password');
    assert.equal((seen.request['secret'] as { secretType?: number }).secretType, 50);
    assert.deepEqual(seen.metadata.get('x-goog-request-params'), ['parent=projects%2Fp']);

    const [got] = await client.getSecret({ name: 'projects/p/secrets/db-password' }, call);
    assert.equal(got.name, 'projects/p/secrets/db-password');
    assert.deepEqual(got.labels, { env: 'test', team: 'gw' });
    assert.equal(got.etag, '"1"');
    // The library asks for enum numbers ($alt=json;enum-encoding=int) and maps them back.
    assert.ok(got.secretType === 'OTHER' || got.secretType === 50, `secretType ${String(got.secretType)}`);
  });

  it('updateSecret sends the update mask and the backend honours its paths', TEST_TIMEOUT, async () => {
    await client.createSecret(
      { parent: 'projects/p', secretId: 'to-update', secret: { replication: { automatic: {} }, labels: { a: '1' }, annotations: { keep: 'me' } } },
      call,
    );
    const [updated] = await client.updateSecret(
      {
        secret: {
          name: 'projects/p/secrets/to-update',
          labels: { a: '2', b: '3' },
          versionDestroyTtl: { seconds: 3600, nanos: 500_000_000 },
          annotations: { ignored: 'not in the mask' },
        },
        updateMask: { paths: ['labels', 'version_destroy_ttl'] },
      },
      call,
    );
    const seen = backend.lastCall('UpdateSecret');
    assert.deepEqual((seen.request['updateMask'] as { paths: string[] }).paths, ['labels', 'version_destroy_ttl']);
    assert.equal((seen.request['secret'] as { name?: string }).name, 'projects/p/secrets/to-update');
    assert.deepEqual(updated.labels, { a: '2', b: '3' });
    assert.equal(Number(updated.versionDestroyTtl?.seconds), 3600);
    assert.equal(updated.versionDestroyTtl?.nanos, 500_000_000);
    assert.deepEqual(updated.annotations, { keep: 'me' }, 'fields outside the mask are untouched');
    assert.equal(updated.etag, '"2"');

    // A mask that only clears a field.
    const [cleared] = await client.updateSecret(
      { secret: { name: 'projects/p/secrets/to-update' }, updateMask: { paths: ['annotations'] } },
      call,
    );
    assert.deepEqual(cleared.annotations ?? {}, {});
    assert.deepEqual(cleared.labels, { a: '2', b: '3' });
  });

  it('listSecrets pages with pageSize/pageToken, and the async iterator and auto-pagination cross pages', TEST_TIMEOUT, async () => {
    const parent = 'projects/listing';
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    for (const secretId of ids) {
      await client.createSecret({ parent, secretId, secret: { replication: { automatic: {} } } }, call);
    }
    const names = ids.map((id) => `${parent}/secrets/${id}`);

    const [page1, next1, raw1] = await client.listSecrets({ parent, pageSize: 2 }, { ...call, autoPaginate: false });
    assert.deepEqual(page1.map((s) => s.name), names.slice(0, 2));
    assert.ok(raw1?.nextPageToken, 'first page has a next page token');
    assert.equal(Number(raw1?.totalSize), 5);
    assert.equal(backend.lastCall('ListSecrets').request['pageSize'], 2);
    assert.ok(next1?.pageToken, 'the library offers the next request');

    const [page2] = await client.listSecrets({ parent, pageSize: 2, pageToken: raw1!.nextPageToken! }, { ...call, autoPaginate: false });
    assert.deepEqual(page2.map((s) => s.name), names.slice(2, 4));
    assert.equal(backend.lastCall('ListSecrets').request['pageToken'], raw1!.nextPageToken);

    const iterated: string[] = [];
    const before = backend.calls.length;
    for await (const secret of client.listSecretsAsync({ parent, pageSize: 2 }, { ...call, autoPaginate: false })) iterated.push(secret.name!);
    assert.deepEqual(iterated, names);
    assert.equal(backend.calls.slice(before).filter((c) => c.method === 'ListSecrets').length, 3, 'three pages of two');

    // Auto-pagination (the default; gax warns that pageSize then only sizes the pages).
    const [all] = await client.listSecrets({ parent, pageSize: 2 }, call);
    assert.deepEqual(all.map((s) => s.name), names);
  });

  it('deleteSecret removes it; a later getSecret is NOT_FOUND', TEST_TIMEOUT, async () => {
    await client.createSecret({ parent: 'projects/p', secretId: 'doomed', secret: { replication: { automatic: {} } } }, call);
    const [empty] = await client.deleteSecret({ name: 'projects/p/secrets/doomed' }, call);
    assert.deepEqual({ ...empty }, {});
    assert.equal(backend.lastCall('DeleteSecret').request['name'], 'projects/p/secrets/doomed');
    const error = await failure(client.getSecret({ name: 'projects/p/secrets/doomed' }, call));
    assert.equal(error.code, 5);
  });
});

describe('versions', () => {
  const secret = 'projects/p/secrets/versioned';
  // Bytes that are not UTF-8 text, so base64 has to be right both ways.
  const v1 = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x2b, 0x2f, 0x3d, 0x0a]);
  const v2 = Buffer.from('second version: ünïcødé + "quotes"', 'utf8');

  before(async () => {
    await client.createSecret({ parent: 'projects/p', secretId: 'versioned', secret: { replication: { automatic: {} } } }, call);
  });

  it('addSecretVersion carries the payload bytes (and the int64 crc32c)', TEST_TIMEOUT, async () => {
    const [first] = await client.addSecretVersion({ parent: secret, payload: { data: v1, dataCrc32c: crc32c(v1) } }, call);
    assert.equal(first.name, `${secret}/versions/1`);
    assert.ok(first.state === 'ENABLED' || first.state === 1, `state ${String(first.state)}`);
    assert.equal(first.clientSpecifiedPayloadChecksum, true);
    const seen = backend.lastCall('AddSecretVersion').request;
    assert.equal(seen['parent'], secret);
    const payload = seen['payload'] as { data: Uint8Array; dataCrc32c: string };
    assert.deepEqual(Buffer.from(payload.data), v1);
    assert.equal(payload.dataCrc32c, String(crc32c(v1)));

    const [second] = await client.addSecretVersion({ parent: secret, payload: { data: v2 } }, call);
    assert.equal(second.name, `${secret}/versions/2`);
    assert.equal(second.clientSpecifiedPayloadChecksum, false);
  });

  it('accessSecretVersion on versions/latest resolves to the newest version', TEST_TIMEOUT, async () => {
    const [latest] = await client.accessSecretVersion({ name: `${secret}/versions/latest` }, call);
    assert.equal(backend.lastCall('AccessSecretVersion').request['name'], `${secret}/versions/latest`);
    assert.equal(latest.name, `${secret}/versions/2`);
    assert.deepEqual(Buffer.from(latest.payload!.data as Uint8Array), v2);
    assert.equal(Number(latest.payload!.dataCrc32c), crc32c(v2));
  });

  it('accessSecretVersion on a numeric version: the :access verb wins over versions/*', TEST_TIMEOUT, async () => {
    const before = backend.calls.length;
    const [one] = await client.accessSecretVersion({ name: `${secret}/versions/1` }, call);
    assert.deepEqual(
      backend.calls.slice(before).map((c) => [c.method, c.request['name']]),
      [['AccessSecretVersion', `${secret}/versions/1`]],
      'routed to AccessSecretVersion with the version id "1", not GetSecretVersion with "1:access"',
    );
    assert.equal(one.name, `${secret}/versions/1`);
    assert.deepEqual(Buffer.from(one.payload!.data as Uint8Array), v1);
    assert.equal(Number(one.payload!.dataCrc32c), crc32c(v1));

    // And without the verb the same path is GetSecretVersion.
    const [meta] = await client.getSecretVersion({ name: `${secret}/versions/2` }, call);
    assert.equal(backend.lastCall('GetSecretVersion').request['name'], `${secret}/versions/2`);
    assert.equal(meta.name, `${secret}/versions/2`);
  });

  it('accessSecretVersion on a missing version is NOT_FOUND', TEST_TIMEOUT, async () => {
    const error = await failure(client.accessSecretVersion({ name: `${secret}/versions/9` }, call));
    assert.equal(error.code, 5);
    assert.match(error.message, /not found/);
  });
});

describe('projects/*/locations/* additional bindings', () => {
  const parent = 'projects/p/locations/europe-west1';
  const name = `${parent}/secrets/regional`;

  it('create, get, list, add/access a version and delete through the location routes', TEST_TIMEOUT, async () => {
    const [created] = await client.createSecret({ parent, secretId: 'regional', secret: { labels: { where: 'eu' } } }, call);
    assert.equal(created.name, name);
    assert.equal(backend.lastCall('CreateSecret').request['parent'], parent);

    const [got] = await client.getSecret({ name }, call);
    assert.deepEqual(got.labels, { where: 'eu' });
    assert.equal(backend.lastCall('GetSecret').request['name'], name);

    const [listed] = await client.listSecrets({ parent }, call);
    assert.deepEqual(listed.map((s) => s.name), [name]);
    // The project-level list does not include the regional secret.
    const [global] = await client.listSecrets({ parent: 'projects/p' }, call);
    assert.ok(!global.some((s) => s.name === name));

    const data = Buffer.from('regional bytes');
    const [version] = await client.addSecretVersion({ parent: name, payload: { data } }, call);
    assert.equal(version.name, `${name}/versions/1`);
    const [accessed] = await client.accessSecretVersion({ name: `${name}/versions/latest` }, call);
    assert.deepEqual(Buffer.from(accessed.payload!.data as Uint8Array), data);
    const [byNumber] = await client.accessSecretVersion({ name: `${name}/versions/1` }, call);
    assert.equal(byNumber.name, `${name}/versions/1`);
    assert.equal(backend.lastCall('AccessSecretVersion').request['name'], `${name}/versions/1`);

    const [updated] = await client.updateSecret({ secret: { name, labels: { where: 'eu', tier: 'x' } }, updateMask: { paths: ['labels'] } }, call);
    assert.deepEqual(updated.labels, { where: 'eu', tier: 'x' });

    await client.deleteSecret({ name }, call);
    const error = await failure(client.getSecret({ name }, call));
    assert.equal(error.code, 5);
  });
});

describe('errors reach the library with their gRPC codes', () => {
  for (const [format, pick] of [
    ['status', () => client],
    ['google', () => googleErrorsClient],
  ] as const) {
    describe(`errors.format: ${format}`, () => {
      it('getSecret on a missing secret rejects with code 5 NOT_FOUND (and the ErrorInfo reason)', TEST_TIMEOUT, async () => {
        const error = await failure(pick().getSecret({ name: `projects/p/secrets/missing-${format}` }, call));
        assert.equal(error.code, 5, `code ${String(error.code)}: ${error.message}`);
        assert.match(error.message, /not found/);
        assert.equal(error.httpStatusCode, 404);
        assert.equal(error.reason, 'SECRET_NOT_FOUND');
        assert.equal(error.domain, 'secretmanager.googleapis.com');
      });

      it('createSecret twice rejects with code 6 ALREADY_EXISTS (not ABORTED)', TEST_TIMEOUT, async () => {
        const request = { parent: 'projects/p', secretId: `twice-${format}`, secret: { replication: { automatic: {} } } };
        await pick().createSecret(request, call);
        const error = await failure(pick().createSecret(request, call));
        assert.equal(error.code, 6, `code ${String(error.code)}: ${error.message}`);
        assert.equal(error.httpStatusCode, 409);
        assert.equal(error.reason, 'SECRET_ALREADY_EXISTS');
      });

      it('an invalid update mask is code 3 INVALID_ARGUMENT from the backend', TEST_TIMEOUT, async () => {
        await pick().createSecret({ parent: 'projects/p', secretId: `mask-${format}`, secret: { replication: { automatic: {} } } }, call);
        const error = await failure(
          pick().updateSecret({ secret: { name: `projects/p/secrets/mask-${format}` }, updateMask: { paths: ['replication'] } }, call),
        );
        assert.equal(error.code, 3, `code ${String(error.code)}: ${error.message}`);
        assert.equal(error.httpStatusCode, 400);
      });

      it('a method the backend does not implement is code 12 UNIMPLEMENTED', TEST_TIMEOUT, async () => {
        const error = await failure(pick().disableSecretVersion({ name: 'projects/p/secrets/versioned/versions/1' }, call));
        assert.equal(error.code, 12, `code ${String(error.code)}: ${error.message}`);
        assert.equal(error.httpStatusCode, 501);
      });
    });
  }
});

describe('wire details the library depends on', () => {
  it('listSecrets filter: spaces, quotes, "+" and ":" in a query value arrive intact', TEST_TIMEOUT, async () => {
    const parent = 'projects/q';
    await client.createSecret({ parent, secretId: 'filt-1', secret: { labels: { kind: 'a b+c' } } }, call);
    await client.createSecret({ parent, secretId: 'filt-2', secret: { labels: { kind: 'a b c' } } }, call);
    await client.createSecret({ parent, secretId: 'other-3', secret: { labels: { kind: 'a b+c' } } }, call);
    const filter = 'labels.kind="a b+c" AND name:filt';
    const [found] = await client.listSecrets({ parent, filter }, call);
    assert.equal(backend.lastCall('ListSecrets').request['filter'], filter);
    assert.deepEqual(found.map((s) => s.name), [`${parent}/secrets/filt-1`]);
  });

  it('deleteSecret with an etag in the query: stale is FAILED_PRECONDITION (code 9), current deletes', TEST_TIMEOUT, async () => {
    await client.createSecret({ parent: 'projects/p', secretId: 'etagged', secret: {} }, call);
    const error = await failure(client.deleteSecret({ name: 'projects/p/secrets/etagged', etag: '"0"' }, call));
    assert.equal(backend.lastCall('DeleteSecret').request['etag'], '"0"');
    assert.equal(error.code, 9, `code ${String(error.code)}: ${error.message}`);
    assert.equal(error.reason, 'ETAG_MISMATCH');
    await client.deleteSecret({ name: 'projects/p/secrets/etagged', etag: '"1"' }, call);
    assert.equal((await failure(client.getSecret({ name: 'projects/p/secrets/etagged' }, call))).code, 5);
  });

  it('Timestamp with nanos (oneof expire_time) and map<string,int64> version aliases round-trip', TEST_TIMEOUT, async () => {
    const name = 'projects/p/secrets/expiring';
    const [created] = await client.createSecret(
      { parent: 'projects/p', secretId: 'expiring', secret: { expireTime: { seconds: 2_000_000_000, nanos: 123_000_000 } } },
      call,
    );
    assert.deepEqual((backend.lastCall('CreateSecret').request['secret'] as Record<string, unknown>)['expireTime'], {
      seconds: '2000000000',
      nanos: 123_000_000,
    });
    assert.equal(Number(created.expireTime?.seconds), 2_000_000_000);
    assert.equal(created.expireTime?.nanos, 123_000_000);

    await client.addSecretVersion({ parent: name, payload: { data: Buffer.from('x') } }, call);
    await client.addSecretVersion({ parent: name, payload: { data: Buffer.from('y') } }, call);
    const [aliased] = await client.updateSecret(
      { secret: { name, versionAliases: { current: 2, previous: 1 } }, updateMask: { paths: ['version_aliases'] } },
      call,
    );
    assert.deepEqual((backend.lastCall('UpdateSecret').request['secret'] as Record<string, unknown>)['versionAliases'], {
      current: '2',
      previous: '1',
    });
    assert.deepEqual(
      Object.fromEntries(Object.entries(aliased.versionAliases ?? {}).map(([k, v]) => [k, Number(v)])),
      { current: 2, previous: 1 },
    );
  });

  it('payloads: 64 KiB of random bytes and an empty payload survive base64 both ways', TEST_TIMEOUT, async () => {
    const name = 'projects/p/secrets/payloads';
    await client.createSecret({ parent: 'projects/p', secretId: 'payloads', secret: {} }, call);
    const big = Buffer.alloc(65536);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    await client.addSecretVersion({ parent: name, payload: { data: big, dataCrc32c: crc32c(big) } }, call);
    const [bigBack] = await client.accessSecretVersion({ name: `${name}/versions/1` }, call);
    assert.ok(Buffer.from(bigBack.payload!.data as Uint8Array).equals(big), '64 KiB payload intact');

    await client.addSecretVersion({ parent: name, payload: { data: Buffer.alloc(0) } }, call);
    const [emptyBack] = await client.accessSecretVersion({ name: `${name}/versions/latest` }, call);
    assert.equal(emptyBack.name, `${name}/versions/2`);
    assert.equal(Buffer.from((emptyBack.payload?.data ?? new Uint8Array()) as Uint8Array).length, 0);
  });

  it('listSecretVersions pages newest first through the async iterator', TEST_TIMEOUT, async () => {
    const name = 'projects/p/secrets/many-versions';
    await client.createSecret({ parent: 'projects/p', secretId: 'many-versions', secret: {} }, call);
    for (let i = 1; i <= 5; i++) await client.addSecretVersion({ parent: name, payload: { data: Buffer.from(`v${i}`) } }, call);
    const seen: string[] = [];
    for await (const version of client.listSecretVersionsAsync({ parent: name, pageSize: 2 }, { ...call, autoPaginate: false })) {
      seen.push(version.name!);
    }
    assert.deepEqual(seen, [5, 4, 3, 2, 1].map((n) => `${name}/versions/${n}`));
  });

  it('IAM policies: nested query parameter options.requestedPolicyVersion, bytes etag, google.type.Expr', TEST_TIMEOUT, async () => {
    const resource = 'projects/p/secrets/iam';
    await client.createSecret({ parent: 'projects/p', secretId: 'iam', secret: {} }, call);
    const [set] = await client.setIamPolicy(
      {
        resource,
        policy: {
          version: 3,
          bindings: [
            {
              role: 'roles/secretmanager.secretAccessor',
              members: ['user:a@example.com', 'serviceAccount:b@p.iam.gserviceaccount.com'],
              condition: { title: 'until 2030', expression: 'request.time < timestamp("2030-01-01T00:00:00Z")' },
            },
          ],
        },
      },
      call,
    );
    assert.equal(set.version, 3);
    const etag = Buffer.from(set.etag as Uint8Array);
    assert.ok(etag.length > 0 && etag.includes(0xff), 'binary etag came back');

    const [got] = await client.getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } }, call);
    assert.deepEqual(backend.lastCall('GetIamPolicy').request['options'], { requestedPolicyVersion: 3 });
    assert.equal(got.bindings?.[0]?.condition?.expression, 'request.time < timestamp("2030-01-01T00:00:00Z")');
    assert.deepEqual(got.bindings?.[0]?.members, ['user:a@example.com', 'serviceAccount:b@p.iam.gserviceaccount.com']);
    assert.ok(Buffer.from(got.etag as Uint8Array).equals(etag), 'etag bytes unchanged');

    const error = await failure(client.getIamPolicy({ resource }, call));
    assert.equal(error.code, 3, `code ${String(error.code)}: ${error.message}`);
  });
});

describe('gateway-side failures', () => {
  it('an upstream deadline from protogate config reaches the library as code 4 DEADLINE_EXCEEDED', TEST_TIMEOUT, async () => {
    const shortDeadline = await startTestGateway({
      protos: { paths: [secretManagerProtosDir, gaxProtosDir], files: [SERVICE_PROTO] },
      upstreams: [{ service: SERVICE, target: backend.target }],
      timeouts: { services: { [SERVICE]: '200ms' } },
    });
    const shortClient = clientFor(shortDeadline.port);
    try {
      await shortClient.createSecret({ parent: 'projects/p', secretId: 'slow-one', secret: {} }, call);
      const error = await failure(shortClient.getSecret({ name: 'projects/p/secrets/slow-one' }, call));
      assert.equal(error.code, 4, `code ${String(error.code)}: ${error.message}`);
      assert.equal(error.httpStatusCode, 504);
    } finally {
      await shortClient.close();
      await shortDeadline.close();
    }
  });

  it('an unreachable upstream is code 14 UNAVAILABLE, without the upstream address in the message', TEST_TIMEOUT, async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = await startTestGateway({
      protos: { paths: [secretManagerProtosDir, gaxProtosDir], files: [SERVICE_PROTO] },
      upstreams: [{ service: SERVICE, target: `127.0.0.1:${deadPort}` }],
      timeouts: { default: '3s' },
    });
    const deadClient = clientFor(dead.port);
    try {
      const error = await failure(deadClient.getSecret({ name: 'projects/p/secrets/any' }, call));
      assert.equal(error.code, 14, `code ${String(error.code)}: ${error.message}`);
      assert.equal(error.httpStatusCode, 503);
      assert.ok(!error.message.includes(String(deadPort)), `message leaks the upstream: ${error.message}`);
    } finally {
      await deadClient.close();
      await dead.close();
    }
  });
});

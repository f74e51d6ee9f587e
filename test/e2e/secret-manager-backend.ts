// A real grpc-js SecretManagerService (google.cloud.secretmanager.v1) over an in-memory map, for
// end-to-end tests with Google's own client library. The service definition is built by hand from
// the protos that ship with @google-cloud/secret-manager (imports from google-gax's proto folder),
// so the bytes on the wire are exactly what a real Secret Manager backend would see and send.
// Methods not implemented here answer UNIMPLEMENTED (grpc-js does that for missing handlers).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** @google-cloud/secret-manager's protos (google/cloud/secretmanager/v1/*). */
export const secretManagerProtosDir = path.join(
  path.dirname(require.resolve('@google-cloud/secret-manager/package.json')),
  'build',
  'protos',
);
/** google-gax's protos (google/iam/v1/*, google/type/expr.proto, google/api, google/rpc, WKTs). */
export const gaxProtosDir = path.join(packageDirOf(require.resolve('google-gax', { paths: [secretManagerProtosDir] })), 'build', 'protos');

/** The package directory holding `file` (google-gax does not export its package.json). */
function packageDirOf(file: string): string {
  let dir = path.dirname(file);
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(path.dirname(dir)) !== 'node_modules') {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package directory above ${file}`);
    dir = parent;
  }
  return dir;
}

export const SERVICE = 'google.cloud.secretmanager.v1.SecretManagerService';
export const SERVICE_PROTO = 'google/cloud/secretmanager/v1/service.proto';

type Obj = Record<string, unknown>;

interface StoredVersion {
  version: Obj;
  data: Buffer;
}

interface StoredSecret {
  secret: Obj;
  versions: StoredVersion[];
  policy?: Obj;
}

/**
 * The small part of Secret Manager's list filter language the backend understands:
 * space-separated `labels.KEY=VALUE` / `name:SUBSTRING` terms joined by AND (values may be quoted).
 */
function matchesFilter(secret: Obj, filter: string): boolean {
  if (filter.trim() === '') return true;
  const terms = filter.split(/\s+AND\s+/);
  return terms.every((term) => {
    const label = /^labels\.([\w-]+)=(.*)$/.exec(term.trim());
    if (label) return ((secret['labels'] ?? {}) as Record<string, string>)[label[1]!] === unquote(label[2]!);
    const name = /^name:(.*)$/.exec(term.trim());
    if (name) return String(secret['name']).includes(unquote(name[1]!));
    throw new Error(`unsupported filter term [${term}]`);
  });
}

function unquote(value: string): string {
  return /^".*"$/.test(value) ? value.slice(1, -1) : value;
}

/** Offset-based page tokens, opaque to clients. */
function paginate<T>(items: T[], request: Obj): { page: T[]; nextPageToken: string } {
  const pageSize = Math.min(Number(request['pageSize'] ?? 0) || 25, 25000);
  const token = String(request['pageToken'] ?? '');
  let start = 0;
  if (token !== '') {
    start = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(start) || start < 0 || start > items.length) throw new Error(`invalid page_token [${token}]`);
  }
  const page = items.slice(start, start + pageSize);
  const nextPageToken = start + pageSize < items.length ? Buffer.from(`offset:${start + pageSize}`).toString('base64url') : '';
  return { page, nextPageToken };
}

/** What the backend saw, for assertions on what the gateway assembled. */
export interface SeenCall {
  method: string;
  request: Obj;
  metadata: grpc.Metadata;
}

export interface SecretManagerBackend {
  readonly port: number;
  readonly target: string;
  readonly calls: SeenCall[];
  /** The last call of `method` (throws when there was none). */
  lastCall(method: string): SeenCall;
  close(): Promise<void>;
}

class RpcError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;
  constructor(code: grpc.status, message: string, metadata: grpc.Metadata) {
    super(message);
    this.code = code;
    this.details = message;
    this.metadata = metadata;
  }
}

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of [secretManagerProtosDir, gaxProtosDir]) {
      const candidate = path.join(dir, target);
      try {
        protobuf.util.fs.readFileSync(candidate);
        return candidate;
      } catch {
        // next root
      }
    }
    return target;
  };
  root.loadSync([SERVICE_PROTO, 'google/rpc/status.proto', 'google/rpc/error_details.proto']);
  root.resolveAll();
  return root;
}

// CRC32C (Castagnoli), as Secret Manager reports in SecretPayload.data_crc32c.
const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function now(): Obj {
  const ms = Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

const PARENT = /^projects\/[^/]+(\/locations\/[^/]+)?$/;
const SECRET = /^projects\/[^/]+(\/locations\/[^/]+)?\/secrets\/[^/]+$/;
const VERSION = /^(projects\/[^/]+(?:\/locations\/[^/]+)?\/secrets\/[^/]+)\/versions\/([^/]+)$/;

/** Starts the backend on 127.0.0.1:0. */
export async function startSecretManagerBackend(): Promise<SecretManagerBackend> {
  const root = loadRoot();
  const service = root.lookupService(SERVICE);
  const Status = root.lookupType('google.rpc.Status');
  const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');
  const secrets = new Map<string, StoredSecret>();
  const calls: SeenCall[] = [];

  const fail = (code: grpc.status, message: string, reason?: string): RpcError => {
    const metadata = new grpc.Metadata();
    const details = reason
      ? [
          {
            type_url: 'type.googleapis.com/google.rpc.ErrorInfo',
            value: ErrorInfo.encode(
              ErrorInfo.fromObject({ reason, domain: 'secretmanager.googleapis.com', metadata: { service: 'secretmanager.googleapis.com' } }),
            ).finish(),
          },
        ]
      : [];
    metadata.set('grpc-status-details-bin', Buffer.from(Status.encode(Status.fromObject({ code, message, details })).finish()));
    return new RpcError(code, message, metadata);
  };
  const invalid = (message: string) => fail(grpc.status.INVALID_ARGUMENT, message);
  const secretOf = (name: unknown): StoredSecret => {
    if (typeof name !== 'string' || !SECRET.test(name)) throw invalid(`invalid secret name [${String(name)}]`);
    const stored = secrets.get(name);
    if (!stored) throw fail(grpc.status.NOT_FOUND, `Secret [${name}] not found.`, 'SECRET_NOT_FOUND');
    return stored;
  };
  const versionOf = (name: unknown): { stored: StoredSecret; version: StoredVersion } => {
    const match = typeof name === 'string' ? VERSION.exec(name) : null;
    if (!match) throw invalid(`invalid secret version name [${String(name)}]`);
    const stored = secretOf(match[1]);
    const id = match[2]!;
    const version =
      id === 'latest' ? stored.versions.at(-1) : /^[1-9]\d*$/.test(id) ? stored.versions[Number(id) - 1] : undefined;
    if (!version) throw fail(grpc.status.NOT_FOUND, `Secret Version [${name}] not found.`, 'SECRET_VERSION_NOT_FOUND');
    return { stored, version };
  };

  // Field-mask paths (proto names) UpdateSecret honours, and the protobufjs field each one sets.
  const updatable: Record<string, string> = {
    labels: 'labels',
    annotations: 'annotations',
    version_destroy_ttl: 'versionDestroyTtl',
    expire_time: 'expireTime',
    ttl: 'ttl',
    version_aliases: 'versionAliases',
  };

  const handlers: Record<string, (request: Obj) => Obj> = {
    CreateSecret(request) {
      const parent = request['parent'];
      const secretId = request['secretId'];
      if (typeof parent !== 'string' || !PARENT.test(parent)) throw invalid(`invalid parent [${String(parent)}]`);
      if (typeof secretId !== 'string' || !/^[\w-]{1,255}$/.test(secretId)) throw invalid(`invalid secret_id [${String(secretId)}]`);
      const name = `${parent}/secrets/${secretId}`;
      if (secrets.has(name)) throw fail(grpc.status.ALREADY_EXISTS, `Secret [${name}] already exists.`, 'SECRET_ALREADY_EXISTS');
      const input = (request['secret'] ?? {}) as Obj;
      const secret: Obj = { ...input, name, createTime: now(), etag: '"1"' };
      delete secret['ttl'];
      secrets.set(name, { secret, versions: [] });
      return secret;
    },
    GetSecret(request) {
      return secretOf(request['name']).secret;
    },
    ListSecrets(request) {
      const parent = request['parent'];
      if (typeof parent !== 'string' || !PARENT.test(parent)) throw invalid(`invalid parent [${String(parent)}]`);
      const prefix = `${parent}/secrets/`;
      const filter = String(request['filter'] ?? '');
      let all: Obj[];
      let paged: { page: Obj[]; nextPageToken: string };
      try {
        all = [...secrets.keys()]
          .filter((name) => name.startsWith(prefix) && !name.slice(prefix.length).includes('/'))
          .sort()
          .map((name) => secrets.get(name)!.secret)
          .filter((secret) => matchesFilter(secret, filter));
        paged = paginate(all, request);
      } catch (error) {
        throw invalid((error as Error).message);
      }
      return { secrets: paged.page, nextPageToken: paged.nextPageToken, totalSize: all.length };
    },
    UpdateSecret(request) {
      const input = (request['secret'] ?? {}) as Obj;
      const stored = secretOf(input['name']);
      const paths = ((request['updateMask'] as Obj | undefined)?.['paths'] ?? []) as string[];
      if (paths.length === 0) throw invalid('update_mask is required');
      const next: Obj = { ...stored.secret };
      for (const maskPath of paths) {
        const field = updatable[maskPath];
        if (!field) throw invalid(`update_mask path [${maskPath}] is not updatable`);
        if (input[field] === undefined) delete next[field];
        else next[field] = input[field];
      }
      next['etag'] = `"${Number(String(stored.secret['etag']).replace(/"/g, '')) + 1}"`;
      stored.secret = next;
      return next;
    },
    DeleteSecret(request) {
      const stored = secretOf(request['name']);
      const etag = String(request['etag'] ?? '');
      if (etag !== '' && etag !== stored.secret['etag']) {
        throw fail(grpc.status.FAILED_PRECONDITION, `etag ${etag} does not match the secret's ${String(stored.secret['etag'])}`, 'ETAG_MISMATCH');
      }
      secrets.delete(String(stored.secret['name']));
      return {};
    },
    AddSecretVersion(request) {
      const stored = secretOf(request['parent']);
      const payload = (request['payload'] ?? {}) as Obj;
      const data = Buffer.from((payload['data'] as Uint8Array | undefined) ?? new Uint8Array());
      if (payload['dataCrc32c'] !== undefined && Number(payload['dataCrc32c']) !== crc32c(data)) {
        throw invalid('data_crc32c does not match the payload');
      }
      const version: Obj = {
        name: `${String(stored.secret['name'])}/versions/${stored.versions.length + 1}`,
        createTime: now(),
        state: 1, // ENABLED
        etag: '"1"',
        clientSpecifiedPayloadChecksum: payload['dataCrc32c'] !== undefined,
      };
      stored.versions.push({ version, data });
      return version;
    },
    ListSecretVersions(request) {
      const stored = secretOf(request['parent']);
      const newestFirst = [...stored.versions].reverse().map((v) => v.version);
      let paged: { page: Obj[]; nextPageToken: string };
      try {
        paged = paginate(newestFirst, request);
      } catch (error) {
        throw invalid((error as Error).message);
      }
      return { versions: paged.page, nextPageToken: paged.nextPageToken, totalSize: newestFirst.length };
    },
    SetIamPolicy(request) {
      const stored = secretOf(request['resource']);
      const policy = { ...((request['policy'] ?? {}) as Obj) };
      policy['etag'] = Buffer.from(`etag-${Date.now()}\u0000\u00ff`, 'latin1');
      stored.policy = policy;
      return policy;
    },
    GetIamPolicy(request) {
      const stored = secretOf(request['resource']);
      const requested = Number(((request['options'] ?? {}) as Obj)['requestedPolicyVersion'] ?? 0);
      const policy = stored.policy ?? { version: 1, bindings: [], etag: Buffer.from([0xac, 0x1d]) };
      // Policies with conditions are only returned to callers asking for version 3.
      const conditional = ((policy['bindings'] ?? []) as Obj[]).some((binding) => binding['condition']);
      if (conditional && requested < 3) throw invalid('the policy has conditions: request options.requested_policy_version=3');
      return policy;
    },
    GetSecretVersion(request) {
      return versionOf(request['name']).version.version;
    },
    AccessSecretVersion(request) {
      const { version } = versionOf(request['name']);
      return { name: version.version['name'], payload: { data: version.data, dataCrc32c: String(crc32c(version.data)) } };
    },
  };

  const server = new grpc.Server();
  const definition: Record<string, grpc.MethodDefinition<Obj, Obj>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const requestType = method.resolvedRequestType!;
    const responseType = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${SERVICE}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: Obj) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => requestType.toObject(requestType.decode(bytes), { longs: String }),
      responseSerialize: (value: Obj) => Buffer.from(responseType.encode(responseType.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => responseType.toObject(responseType.decode(bytes), { longs: String }),
    };
    const handler = handlers[method.name];
    if (!handler) continue;
    implementation[method.name] = (call: grpc.ServerUnaryCall<Obj, Obj>, callback: grpc.sendUnaryData<Obj>) => {
      calls.push({ method: method.name, request: call.request, metadata: call.metadata });
      // Secrets whose id starts with "slow-" answer GetSecret after a second (for deadline tests).
      const delay = method.name === 'GetSecret' && /\/secrets\/slow-/.test(String(call.request['name'])) ? 1000 : 0;
      setTimeout(() => {
        try {
          callback(null, handler(call.request));
        } catch (error) {
          callback(error as grpc.ServiceError);
        }
      }, delay);
    };
  }
  server.addService(definition, implementation);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port,
    target: `127.0.0.1:${port}`,
    calls,
    lastCall(method) {
      const call = calls.findLast((seen) => seen.method === method);
      if (!call) throw new Error(`the backend saw no ${method} call`);
      return call;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 1000).unref();
      }),
  };
}

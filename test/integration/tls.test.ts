// TLS termination (server.tls) with certificates made in the test by openssl: a CA, a server
// certificate for 127.0.0.1 and a client certificate. Real HTTPS requests through node:https;
// unreadable or mismatched files stop the gateway at startup, naming the key and the file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { configSchema } from '../../src/config/config-schema.js';
import { startTestGateway, testProtosDir, type TestGateway } from '../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../helpers/grpc-server.js';

let dir: string;
let backend: RunningGrpcServer;
const gateways: TestGateway[] = [];
const file = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate for `cn` signed by the test CA, with `san` as subjectAltName. */
function issue(name: string, cn: string, extensions: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  writeFileSync(file(`${name}.ext`), extensions);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
}

before(async () => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('openssl is not installed; the TLS tests make their certificates with it (apt-get install openssl)');
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'protogate-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=protogate test CA');
  issue('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', 'test-client', 'extendedKeyUsage=clientAuth\n');
  // a second, unrelated key: a certificate and a key that do not belong together
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '1', '-subj', '/CN=other');
  backend = await startRawGrpcServer({ '/echo.v1.EchoService/Echo': (request) => request });
});
after(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  await backend?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function tlsGateway(tls: Record<string, unknown>): Promise<TestGateway> {
  const gateway = await startTestGateway({
    protos: { paths: [testProtosDir], files: ['echo/v1/echo.proto'] },
    upstreams: [{ service: '*', target: backend.target }],
    server: { tls: { certFile: file('server.pem'), keyFile: file('server.key'), ...tls } },
  });
  gateways.push(gateway);
  return gateway;
}

function httpsGet(port: number, options: https.RequestOptions & Pick<tls.ConnectionOptions, 'ALPNProtocols'>): Promise<{ status: number; json: any; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/v1/echo/secure', agent: false, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), protocol: (res.socket as tls.TLSSocket).alpnProtocol || null }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('server.tls', () => {
  it('serves HTTPS (HTTP/1.1) with the configured certificate', async () => {
    const gateway = await tlsGateway({});
    const res = await httpsGet(gateway.port, { ca: [readFileSync(file('ca.pem'))], ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(res.status, 200);
    assert.equal(res.json.id, 'secure');
    assert.equal(res.protocol, 'http/1.1');
  });

  it('is real TLS: a client that does not trust the CA fails the handshake, and plain HTTP gets no answer', async () => {
    const gateway = await tlsGateway({});
    await assert.rejects(httpsGet(gateway.port, {}), /self-signed certificate|unable to (get|verify)/);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: gateway.port, path: '/v1/echo/a', agent: false }, resolve);
        req.on('error', reject);
      }),
    );
  });

  it('with requireClientCert, refuses clients without a certificate from caFile and serves those with one', async () => {
    const gateway = await tlsGateway({ caFile: file('ca.pem'), requireClientCert: true });
    const ca = [readFileSync(file('ca.pem'))];
    await assert.rejects(httpsGet(gateway.port, { ca }));
    const wrongClient = { ca, cert: readFileSync(file('other.pem')), key: readFileSync(file('other.key')) };
    await assert.rejects(httpsGet(gateway.port, wrongClient));
    const res = await httpsGet(gateway.port, { ca, cert: readFileSync(file('client.pem')), key: readFileSync(file('client.key')) });
    assert.equal(res.status, 200);
  });

  it('stops at startup on an unreadable file, naming the key and the file', async () => {
    await assert.rejects(tlsGateway({ keyFile: file('missing.key') }), (error: Error) => {
      assert.equal(error.name, 'StartupError');
      assert.match(error.message, /^server\.tls\.keyFile: cannot read .*missing\.key \(ENOENT\)/);
      return true;
    });
    await assert.rejects(tlsGateway({ caFile: file('server.csr.nope') }), /server\.tls\.caFile: cannot read/);
    writeFileSync(file('not-pem.txt'), 'hello');
    await assert.rejects(tlsGateway({ certFile: file('not-pem.txt') }), /server\.tls\.certFile: .*not-pem\.txt is not a PEM file/);
  });

  it('stops at startup when the key does not belong to the certificate', async () => {
    await assert.rejects(tlsGateway({ keyFile: file('other.key') }), /server\.tls: .*server\.pem and .*other\.key cannot be used/);
  });

  it('refuses requireClientCert without caFile in the config', () => {
    const result = configSchema.safeParse({ server: { tls: { certFile: 'c.pem', keyFile: 'k.pem', requireClientCert: true } } });
    assert.equal(result.success, false);
    const issue = result.error!.issues[0]!;
    assert.deepEqual(issue.path, ['server', 'tls', 'requireClientCert']);
    assert.match(issue.message, /needs caFile/);
  });
});

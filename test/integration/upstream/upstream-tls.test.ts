// TLS and mTLS to upstreams, through the whole gateway, for every transport: a CA, a server and a
// client certificate are made here with openssl; grpc-js backends serve with
// ServerCredentials.createSsl (requiring a client certificate for mTLS). Verification is never
// skipped: a wrong CA or name fails the call with 503 before it reaches the backend.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fetchJson, startTestGateway, testProtosDir } from '../../helpers/gateway.js';
import { startRawGrpcServer, type RunningGrpcServer } from '../../helpers/grpc-server.js';

const ECHO = { paths: [testProtosDir], files: ['echo/v1/echo.proto'] };
/** The only name in the server certificate: 127.0.0.1 is not in it, so serverName is needed. */
const SERVER_NAME = 'upstream.protogate.test';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for SERVER_NAME and a client certificate, all signed by the CA; and a second, unrelated CA. */
function makeCertificates(dir: string): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('openssl is not installed: the upstream TLS tests need it to make their certificates (apt-get install openssl)');
  }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, 'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=protogate test CA');
  openssl(dir, 'req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=someone else');
  writeFileSync(path.join(dir, 'server.ext'), `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [
    ['server', `/CN=${SERVER_NAME}`],
    ['client', '/CN=protogate'],
  ] as const) {
    openssl(dir, 'req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  }
}

describe('TLS to upstreams', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  let tlsBackend: RunningGrpcServer;
  let mtlsBackend: RunningGrpcServer;
  const calls = { tls: 0, mtls: 0 };
  const echo = (counter: 'tls' | 'mtls') => ({
    '/echo.v1.EchoService/Echo': (request: Buffer) => {
      calls[counter]++;
      return request;
    },
  });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'protogate-upstream-tls-'));
    makeCertificates(dir);
    const ca = readFileSync(file('ca.crt'));
    const serverKeys = [{ cert_chain: readFileSync(file('server.crt')), private_key: readFileSync(file('server.key')) }];
    tlsBackend = await startRawGrpcServer(echo('tls'), 0, grpc.ServerCredentials.createSsl(null, serverKeys, false));
    mtlsBackend = await startRawGrpcServer(echo('mtls'), 0, grpc.ServerCredentials.createSsl(ca, serverKeys, true));
  });
  after(async () => {
    await Promise.all([tlsBackend?.close(), mtlsBackend?.close()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** One GET through a gateway whose only upstream is `target` with `tls`; the gateway is closed after. */
  async function getThrough(transport: 'http2' | 'grpc-js' | 'wire', target: string, tls: Record<string, string> | undefined) {
    const gateway = await startTestGateway({
      protos: ECHO,
      upstreams: [{ service: '*', target, ...(tls === undefined ? {} : { tls }) }],
      upstream: { transport },
      resilience: { retry: { maxRetries: 0 } },
      timeouts: { default: '3s' },
    });
    try {
      return await fetchJson(`${gateway.base}/v1/echo/secure`);
    } finally {
      await gateway.close();
    }
  }

  for (const transport of ['http2', 'grpc-js', 'wire'] as const) {
    describe(`over ${transport}`, () => {
      it('calls a TLS upstream verified with caFile and serverName', async () => {
        const before = calls.tls;
        const res = await getThrough(transport, tlsBackend.target, { caFile: file('ca.crt'), serverName: SERVER_NAME });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.id, 'secure');
        assert.equal(calls.tls, before + 1);
      });

      it('presents the client certificate to an mTLS upstream', async () => {
        const before = calls.mtls;
        const res = await getThrough(transport, mtlsBackend.target, {
          caFile: file('ca.crt'),
          certFile: file('client.crt'),
          keyFile: file('client.key'),
          serverName: SERVER_NAME,
        });
        assert.equal(res.status, 200, res.text);
        assert.equal(calls.mtls, before + 1);
      });

      it('fails (503) when the mTLS upstream gets no client certificate', async () => {
        const before = calls.mtls;
        const res = await getThrough(transport, mtlsBackend.target, { caFile: file('ca.crt'), serverName: SERVER_NAME });
        assert.equal(res.status, 503, res.text);
        assert.equal(calls.mtls, before, 'the backend never ran the call');
      });

      it('refuses an upstream certificate from another CA, or for another name (503, nothing reaches the backend)', async () => {
        const before = calls.tls;
        const otherCa = await getThrough(transport, tlsBackend.target, { caFile: file('other-ca.crt'), serverName: SERVER_NAME });
        assert.equal(otherCa.status, 503, otherCa.text);
        const wrongName = await getThrough(transport, tlsBackend.target, { caFile: file('ca.crt') });
        assert.equal(wrongName.status, 503, `127.0.0.1 is not in the certificate: ${wrongName.text}`);
        assert.doesNotMatch(otherCa.text + wrongName.text, /127\.0\.0\.1|certificate|\.crt/, 'no address or TLS detail reaches the client');
        assert.equal(calls.tls, before);
      });

      it('a plaintext upstream entry cannot talk to a TLS backend (503)', async () => {
        const res = await getThrough(transport, tlsBackend.target, undefined);
        assert.equal(res.status, 503, res.text);
      });
    });
  }

  it('a missing or mismatched PEM file stops the gateway at startup, naming the key', async () => {
    await assert.rejects(
      startTestGateway({ protos: ECHO, upstreams: [{ service: '*', target: tlsBackend.target, tls: { caFile: file('missing.crt') } }] }),
      /upstreams\[0\]\.tls\.caFile: cannot read .*missing\.crt \(ENOENT\)/,
    );
    await assert.rejects(
      startTestGateway({ protos: ECHO, upstreams: [{ service: '*', target: tlsBackend.target, tls: { certFile: file('client.crt'), keyFile: file('server.key') } }] }),
      /upstreams\[0\]\.tls: the PEM files do not make a TLS client/,
    );
  });
});

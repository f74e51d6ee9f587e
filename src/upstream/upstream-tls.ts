// TLS to an upstream, for both transports: the PEM files of an upstream's `tls` config read once
// at startup (a missing or unreadable file is a startup error naming its key), and the options
// each client takes. Certificates are always verified: there is deliberately no switch to skip
// verification; a private CA goes in caFile, a name other than the address's host in serverName.
import { readFileSync } from 'node:fs';
import type { SecureClientSessionOptions } from 'node:http2';
import { createSecureContext } from 'node:tls';

/** What a transport needs for TLS (absent: plaintext h2c). */
export interface UpstreamTls {
  /** trusted CA certificates (PEM); default: Node's bundled public CAs */
  readonly ca?: Buffer | undefined;
  /** client certificate and key (PEM) for mTLS */
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  /** name the certificate must carry, sent as SNI; default: the target's host */
  readonly serverName?: string | undefined;
}

/** An upstream's `tls` config as written. */
export interface UpstreamTlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly serverName?: string | undefined;
}

/** Reads the PEM files; throws an Error naming `keyPath`.<key> and the file when one cannot be read. */
export function readUpstreamTls(files: UpstreamTlsFiles, keyPath: string): UpstreamTls {
  const read = (key: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    const file = files[key];
    if (file === undefined) return undefined;
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (error) {
      throw new Error(`${keyPath}.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}); give the path of a PEM file`);
    }
    if (!pem.includes('-----BEGIN ')) throw new Error(`${keyPath}.${key}: ${file} is not a PEM file (no "-----BEGIN" line)`);
    return pem;
  };
  const tls = { ca: read('caFile'), cert: read('certFile'), key: read('keyFile'), serverName: files.serverName };
  try {
    // parses every PEM and checks that the key belongs to the certificate, now rather than at the first call
    createSecureContext({ ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }) });
  } catch (error) {
    throw new Error(`${keyPath}: the PEM files do not make a TLS client (${(error as Error).message}); check that keyFile is the key of certFile and caFile holds certificates`);
  }
  return tls;
}

/** node:http2 `connect` options for `tls` (ALPN h2, as gRPC requires). */
export function http2TlsOptions(tls: UpstreamTls): SecureClientSessionOptions {
  return {
    ALPNProtocols: ['h2'],
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }),
    ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
  };
}

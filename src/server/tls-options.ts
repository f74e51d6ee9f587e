// TLS termination on the main port (config key `server.tls`): the PEM files are read and checked
// once at startup, so a missing file or a key that does not match its certificate stops the
// gateway before it listens, with a message naming the config key and the file.
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';

/** The `server.tls` config section, as validated by the config schema. */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string | undefined;
  readonly requireClientCert: boolean;
}

/** Reads the files and builds the https server options; throws an Error whose message names the key and the fix. */
export function readTlsOptions(config: TlsConfig): https.ServerOptions {
  const cert = readPem('server.tls.certFile', config.certFile);
  const key = readPem('server.tls.keyFile', config.keyFile);
  const ca = config.caFile === undefined ? undefined : readPem('server.tls.caFile', config.caFile);
  const options: https.ServerOptions = {
    cert,
    key,
    ...(ca === undefined ? {} : { ca }),
    // With a CA, client certificates are asked for (and verified when sent); requireClientCert
    // makes one mandatory: the handshake fails without it, before any HTTP is read.
    requestCert: ca !== undefined,
    rejectUnauthorized: config.requireClientCert,
    // HTTP/1.1 only: the gateway speaks JSON over HTTP/1.1 (DESIGN §1).
    ALPNProtocols: ['http/1.1'],
  };
  try {
    tls.createSecureContext(options);
  } catch (error) {
    throw new Error(
      `server.tls: ${path.resolve(config.certFile)} and ${path.resolve(config.keyFile)} cannot be used (${(error as Error).message}); ` +
        'give a PEM certificate and the private key it was made for',
    );
  }
  return options;
}

function readPem(key: string, file: string): Buffer {
  const resolved = path.resolve(file);
  let data: Buffer;
  try {
    data = readFileSync(resolved);
  } catch (error) {
    throw new Error(`${key}: cannot read ${resolved} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the path of a readable PEM file`);
  }
  if (!data.includes('-----BEGIN ')) throw new Error(`${key}: ${resolved} is not a PEM file (no "-----BEGIN" line)`);
  return data;
}

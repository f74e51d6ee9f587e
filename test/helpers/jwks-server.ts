// Test helper: an identity provider's JWKS endpoint on loopback (a real node:http server), whose
// answer a test can change (rotate keys, fail with a status, hang) and whose fetches it counts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** What the endpoint answers next. */
export type JwksMode = { readonly kind: 'keys' } | { readonly kind: 'status'; readonly status: number } | { readonly kind: 'hang' } | { readonly kind: 'body'; readonly body: string };

export interface JwksServer {
  readonly url: string;
  /** Fetches served so far (every answer counts, failures included). */
  readonly fetches: () => number;
  /** The public keys served in `keys` mode. */
  keys: JWK[];
  mode: JwksMode;
  close(): Promise<void>;
}

/** Starts the endpoint on 127.0.0.1:0 serving `keys`. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let fetches = 0;
  const hanging = new Set<http.ServerResponse>();
  const state: JwksServer = {
    url: '',
    fetches: () => fetches,
    keys,
    mode: { kind: 'keys' },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((request, response) => {
    fetches++;
    // one connection per fetch: after close() the next fetch is refused (ECONNREFUSED), never
    // sent on a kept-alive socket the client has not yet seen closed (an undici socket error)
    response.setHeader('connection', 'close');
    const mode = state.mode;
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end();
    } else if (mode.kind === 'hang') {
      hanging.add(response);
    } else if (mode.kind === 'status') {
      response.writeHead(mode.status, { 'content-type': 'text/plain' }).end('unavailable');
    } else {
      const body = mode.kind === 'body' ? mode.body : JSON.stringify({ keys: state.keys });
      response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, { url: `http://127.0.0.1:${port}/.well-known/jwks.json` });
}

/** A signing key made in the test, with its public JWK (kid and alg set). */
export interface TestSigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export async function makeSigningKey(alg: 'RS256' | 'ES256', kid: string): Promise<TestSigningKey> {
  const pair = await generateKeyPair(alg);
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

/** A token signed with `key`, valid for five minutes, with the given claims on top of sub/iss/aud. */
export function signToken(key: TestSigningKey, claims: Record<string, unknown> = {}, issuer = 'https://idp.test', audience = 'protogate-test'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', iss: issuer, aud: audience, iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.privateKey);
}

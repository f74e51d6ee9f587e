// `npm start`: the demo — the library gRPC backend and protogate in front of it, with the
// URLs to try. Ports: PORT (default 8080) for HTTP, BACKEND_PORT (default 50051) for gRPC.
// The library is public; the staff-only LibraryAdminService needs a credential, so the demo
// makes a DEMO-ONLY signing secret and API key at each start (random, never written anywhere)
// and prints a ready-to-use token and the key. Restarting the demo invalidates both.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { SignJWT } from 'jose';
import pino from 'pino';
import { configSchema } from '../config/config-schema.js';
import { bundledProtosDir } from '../package-paths.js';
import { startGateway } from '../server/start-gateway.js';
import { LIBRARY_ADMIN_PROTO, LIBRARY_ADMIN_SERVICE, LIBRARY_PROTO, LIBRARY_SERVICE, startLibraryBackend } from './library-backend.js';

const httpPort = Number(process.env['PORT'] ?? 8080);
const backendPort = Number(process.env['BACKEND_PORT'] ?? 50051);

const DEMO_ISSUER = 'protogate-demo';
const DEMO_AUDIENCE = 'library-demo';
const demoSecret = randomBytes(32).toString('base64url');
const demoApiKey = `demo-${randomBytes(16).toString('hex')}`;

const backend = await startLibraryBackend({ port: backendPort, host: '127.0.0.1' });
const target = `127.0.0.1:${backend.port}`;
const config = configSchema.parse({
  server: { host: '127.0.0.1', port: httpPort, adminPort: Number(process.env['ADMIN_PORT'] ?? 9090) },
  protos: { paths: [bundledProtosDir], files: [LIBRARY_PROTO, LIBRARY_ADMIN_PROTO].map((file) => path.join(...file.split('/'))) },
  upstreams: [
    { service: LIBRARY_SERVICE, target },
    { service: LIBRARY_ADMIN_SERVICE, target },
  ],
  auth: {
    jwt: { secret: demoSecret, issuer: DEMO_ISSUER, audience: DEMO_AUDIENCE },
    apiKeys: {
      query: 'api_key',
      keys: [{ sha256: createHash('sha256').update(demoApiKey).digest('hex'), principal: 'demo-robot', scopes: ['library.read'] }],
    },
  },
  streaming: { sseIdFields: { [`${LIBRARY_SERVICE}/WatchShelf`]: 'cursor' } },
  log: { level: process.env['LOG_LEVEL'] ?? 'info', access: true },
});
const gateway = await startGateway(config, pino({ level: config.log.level }));
const base = `http://127.0.0.1:${gateway.port}`;
const token = await new SignJWT({ scope: 'library.read library.write', roles: ['librarian'] })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject('ada')
  .setIssuer(DEMO_ISSUER)
  .setAudience(DEMO_AUDIENCE)
  .setIssuedAt()
  .setExpirationTime('12h')
  .sign(new TextEncoder().encode(demoSecret));

process.stderr.write(`
protogate demo
  gRPC backend (${LIBRARY_SERVICE}, ${LIBRARY_ADMIN_SERVICE}): ${target}
  REST gateway: ${base}   docs: ${base}/docs   admin: http://127.0.0.1:${gateway.adminPort ?? '-'}/readyz

Try (public):
  curl ${base}/v1/shelves
  curl ${base}/v1/shelves/classics
  curl ${base}/v1/shelves/classics/theme
  curl '${base}/v1/shelves/classics/books?pageSize=2&genre=GENRE_FICTION'
  curl ${base}/v1/shelves/classics/books/frankenstein
  curl -X POST ${base}/v1/shelves -H 'content-type: application/json' -d '{"shelf":{"theme":"Poetry"},"shelfId":"poetry"}'
  curl -X PATCH '${base}/v1/shelves/classics/books/frankenstein?updateMask=title' -H 'content-type: application/json' -d '{"title":"Frankenstein (1818 text)"}'
  curl -X POST ${base}/v1/shelves/classics/books/middlemarch:checkout -H 'content-type: application/json' -d '{"borrower":"ada","loanPeriod":"1209600s"}'
  curl ${base}/v1/shelves/missing          (NOT_FOUND as a google.rpc.Status JSON body)
  curl '${base}/v1/shelves?pageSize=x'     (INVALID_ARGUMENT naming the field)
  curl -N ${base}/v1/shelves/classics:watch   (a server stream: the books, then each change as NDJSON;
                                              -H 'accept: text/event-stream' for Server-Sent Events)
  printf '%s\\n' '{"title":"Emma","author":"Jane Austen"}' '{"title":"Persuasion","author":"Jane Austen"}' | curl -X POST ${base}/v1/shelves/classics/books:import -H 'content-type: application/x-ndjson' --data-binary @-
                                              (a client stream: one book per NDJSON line, sent on as each arrives)

Try (protected, library.v1.LibraryAdminService):
  DEMO ONLY — made at this start with a random secret, invalid after a restart:
  DEMO_TOKEN=${token}
  DEMO_API_KEY=${demoApiKey}
  (the token: subject "ada", role "librarian", valid 12 hours; the API key: principal "demo-robot", no roles)

  curl ${base}/v1/admin/caller                                         (401 UNAUTHENTICATED, WWW-Authenticate)
  curl ${base}/v1/admin/caller -H "Authorization: Bearer $DEMO_TOKEN"  (the identity the backend received)
  curl ${base}/v1/admin/loans -H "Authorization: Bearer $DEMO_TOKEN"   (librarians only)
  curl ${base}/v1/admin/loans -H "x-api-key: $DEMO_API_KEY"            (403 PERMISSION_DENIED: no librarian role)
  curl "${base}/v1/admin/caller?api_key=$DEMO_API_KEY"                 (the key as a query parameter)
`);

const stop = async () => {
  await gateway.close();
  await backend.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

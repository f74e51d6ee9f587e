// `npm start`: the demo — the library gRPC backend and protogate in front of it, with the
// URLs to try. Ports: PORT (default 8080) for HTTP, BACKEND_PORT (default 50051) for gRPC.
import path from 'node:path';
import pino from 'pino';
import { configSchema } from '../config/config-schema.js';
import { bundledProtosDir } from '../package-paths.js';
import { startGateway } from '../server/start-gateway.js';
import { startLibraryBackend } from './library-backend.js';

const httpPort = Number(process.env['PORT'] ?? 8080);
const backendPort = Number(process.env['BACKEND_PORT'] ?? 50051);

const backend = await startLibraryBackend({ port: backendPort, host: '127.0.0.1' });
const config = configSchema.parse({
  server: { host: '127.0.0.1', port: httpPort, adminPort: Number(process.env['ADMIN_PORT'] ?? 9090) },
  protos: { paths: [bundledProtosDir], files: [path.join('library', 'v1', 'library.proto')] },
  upstreams: [{ service: 'library.v1.LibraryService', target: `127.0.0.1:${backend.port}` }],
  log: { level: process.env['LOG_LEVEL'] ?? 'info', access: true },
});
const gateway = await startGateway(config, pino({ level: config.log.level }));
const base = `http://127.0.0.1:${gateway.port}`;
process.stderr.write(`
protogate demo
  gRPC backend (library.v1.LibraryService): 127.0.0.1:${backend.port}
  REST gateway: ${base}   admin: http://127.0.0.1:${gateway.adminPort ?? '-'}/readyz

Try:
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
`);

const stop = async () => {
  await gateway.close();
  await backend.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

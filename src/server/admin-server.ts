// The admin port: liveness and readiness for orchestrators (metrics join later).
import Fastify, { type FastifyInstance } from 'fastify';

/** What readiness depends on. */
export interface AdminChecks {
  ready(): boolean;
}

/** A Fastify instance with /healthz (process alive) and /readyz (serving). */
export function createAdminServer(checks: AdminChecks): FastifyInstance {
  const admin = Fastify({ logger: false });
  admin.get('/healthz', async () => ({ status: 'ok' }));
  admin.get('/readyz', async (_request, reply) => {
    const ready = checks.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  return admin;
}

// Test helper: the demo's gRPC backend (src/demo/library-backend.ts) on a free port with a
// gateway in front of it serving library/v1/library.proto.
import type { GatewayConfigInput } from '../../src/config/config-schema.js';
import { LIBRARY_PROTO, LIBRARY_SERVICE, startLibraryBackend, type LibraryBackend } from '../../src/demo/library-backend.js';
import { bundledProtosDir } from '../../src/package-paths.js';
import { startTestGateway, type TestGateway } from './gateway.js';

export interface DemoGateway {
  readonly backend: LibraryBackend;
  readonly gateway: TestGateway;
  close(): Promise<void>;
}

/** Starts the demo backend and a gateway for it; `config` adds to the gateway's config. */
export async function startDemoGateway(config: Omit<GatewayConfigInput, 'protos' | 'upstreams'> = {}): Promise<DemoGateway> {
  const backend = await startLibraryBackend({ port: 0 });
  const gateway = await startTestGateway({
    ...config,
    protos: { paths: [bundledProtosDir], files: [LIBRARY_PROTO] },
    upstreams: [{ service: LIBRARY_SERVICE, target: `127.0.0.1:${backend.port}` }],
  });
  return {
    backend,
    gateway,
    async close() {
      await gateway.close();
      await backend.close();
    },
  };
}

// Test helper: test protos loaded with protobufjs the way the gateway resolves imports — the test
// protos directory first, then the bundled google/api, google/rpc and well-known types.
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { bundledProtosDir } from '../../src/package-paths.js';
import { testProtosDir } from './gateway.js';

/** A resolved Root holding `files` (relative to the test protos) and their imports. */
export function loadTestRoot(files: string | string[], options: protobuf.IParseOptions = { keepCase: true }): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of [testProtosDir, bundledProtosDir]) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(files, options);
  root.resolveAll();
  return root;
}

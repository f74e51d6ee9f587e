// Where the package's own files are, whether running from src/ (tsx) or dist/src/ (compiled).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`protogate: no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The protogate package's root directory. */
export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** The bundled protos (google/api, google/rpc, well-known types, protogate options, the demo). */
export const bundledProtosDir = path.join(packageRoot, 'protos');

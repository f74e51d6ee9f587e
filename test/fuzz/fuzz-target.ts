// The shape every fuzz target shares, and the runner both the bounded test (npm test) and the
// long run (npm run fuzz) use. Property-based (fast-check) rather than coverage-guided: the
// prebuilt libFuzzer addon of Jazzer.js needs glibc 2.38 (this machine has 2.36) and its npm
// package ships no C++ sources to build from, so coverage guidance is not practical here.
// fast-check shrinks a failure to a small counterexample, which is what the corpus keeps.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

/** A fuzz target: inputs are JSON-serialisable so every crash can be kept in the corpus. */
export interface FuzzTarget<T> {
  /** Also the corpus directory name: test/fuzz/corpus/<name>/. */
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws (an AssertionError) when an invariant does not hold for `input`. */
  check(input: T): void;
}

export const corpusRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

/** The inputs kept for `target` (each file one JSON input). */
export function corpusInputs<T>(target: FuzzTarget<T>): Array<{ file: string; input: T }> {
  const dir = path.join(corpusRoot, target.name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, input: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T }));
}

/** What one run found. */
export interface FuzzOutcome {
  readonly runs: number;
  /** The shrunk counterexample and the error, when an invariant failed. */
  readonly failure?: { input: unknown; error: string; seed: number };
}

/**
 * Runs `target` for at most `numRuns` inputs or `timeLimitMs`, whichever comes first. A time limit
 * reached is not a failure: the bounded test stays bounded on a busy machine.
 */
export function runTarget<T>(target: FuzzTarget<T>, options: { seed: number; numRuns: number; timeLimitMs: number }): FuzzOutcome {
  let runs = 0;
  const details = fc.check(
    fc.property(target.arbitrary, (input) => {
      runs++;
      target.check(input);
    }),
    { seed: options.seed, numRuns: options.numRuns, interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: false },
  );
  if (!details.failed || details.counterexample === null) return { runs };
  const error = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance);
  return { runs, failure: { input: details.counterexample[0], error, seed: options.seed } };
}

/** Keeps a failing input as test/fuzz/corpus/<target>/<hash>.json; returns the file's path. */
export function saveToCorpus(targetName: string, input: unknown): string {
  const dir = path.join(corpusRoot, targetName);
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(input, null, 1);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  const file = path.join(dir, `crash-${hash.toString(16).padStart(8, '0')}.json`);
  writeFileSync(file, `${text}\n`);
  return file;
}

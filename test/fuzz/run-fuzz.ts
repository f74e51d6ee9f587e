// `npm run fuzz [-- --seconds N] [-- --target NAME] [-- --seed S]`: the long fuzz run. Each target
// runs for N seconds (default 60) from a fresh seed, printed so a run can be repeated; a failing
// input is shrunk, saved under test/fuzz/corpus/<target>/ (the bounded test replays it from then
// on) and the run exits 1.
import { parseArgs } from 'node:util';
import { runTarget, saveToCorpus } from './fuzz-target.js';
import { fuzzTargets } from './targets.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, target: { type: 'string' }, seed: { type: 'string' } },
});
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);

let failed = false;
for (const { target: t } of fuzzTargets) {
  if (values.target !== undefined && values.target !== t.name) continue;
  const seed = values.seed === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(values.seed);
  const started = Date.now();
  const outcome = runTarget(t, { seed, numRuns: Number.MAX_SAFE_INTEGER, timeLimitMs: seconds * 1000 });
  const elapsed = ((Date.now() - started) / 1000).toFixed(1);
  if (outcome.failure === undefined) {
    console.log(`${t.name}: ${outcome.runs} inputs in ${elapsed} s, seed ${seed}: ok`);
    continue;
  }
  failed = true;
  const file = saveToCorpus(t.name, outcome.failure.input);
  console.log(`${t.name}: FAILED after ${outcome.runs} inputs, seed ${seed}; kept as ${file}\n${outcome.failure.error}\n`);
}
process.exitCode = failed ? 1 : 0;

// The bounded fuzz run of npm test: every target for a fixed number of inputs from a fixed seed
// (capped in time so a busy machine cannot stretch it past ~60 s in all), then every input kept
// in its corpus as a regression case. `npm run fuzz` runs the same targets for minutes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { corpusInputs, runTarget } from './fuzz-target.js';
import { fuzzTargets } from './targets.js';

const SEED = 20261201;

for (const { target: t, boundedRuns } of fuzzTargets) {
  describe(`fuzz ${t.name}`, () => {
    it(`holds its invariants for ${boundedRuns} inputs (seed ${SEED})`, () => {
      const outcome = runTarget(t, { seed: SEED, numRuns: boundedRuns, timeLimitMs: 8000 });
      if (outcome.failure !== undefined) {
        assert.fail(`counterexample ${JSON.stringify(outcome.failure.input)}\n${outcome.failure.error}`);
      }
      assert.ok(outcome.runs > 0);
    });
    for (const { file, input } of corpusInputs(t)) {
      it(`corpus ${file}`, () => t.check(input));
    }
  });
}

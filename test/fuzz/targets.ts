// Every fuzz target, with how many inputs the bounded run in npm test gives it (sized so the
// whole bounded run takes well under a minute on a shared two-core machine).
import type { FuzzTarget } from './fuzz-target.js';
import { grpcFramesTarget } from './grpc-frames.fuzz.js';
import { hpackTarget } from './hpack.fuzz.js';
import { jsonDecoderTarget } from './json-decoder.fuzz.js';
import { jsonEncoderTarget } from './json-encoder.fuzz.js';
import { pathTemplateTarget } from './path-template.fuzz.js';
import { queryBinderTarget } from './query-binder.fuzz.js';
import { routeMatchTarget } from './route-match.fuzz.js';

/** Erases a target's input type: the runner only hands a target the inputs it generated or kept. */
function entry<T>(target: FuzzTarget<T>, boundedRuns: number): { target: FuzzTarget<unknown>; boundedRuns: number } {
  return { target: target as unknown as FuzzTarget<unknown>, boundedRuns };
}

export const fuzzTargets: ReadonlyArray<{ target: FuzzTarget<unknown>; boundedRuns: number }> = [
  entry(pathTemplateTarget, 20_000),
  entry(routeMatchTarget, 5_000),
  entry(queryBinderTarget, 10_000),
  entry(jsonDecoderTarget, 5_000),
  entry(jsonEncoderTarget, 5_000),
  entry(grpcFramesTarget, 20_000),
  entry(hpackTarget, 5_000),
];

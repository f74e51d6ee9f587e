// Overload protection (config key `overload`): above an event-loop delay or heap threshold the
// gateway answers 503 UNAVAILABLE with Retry-After at once, instead of queueing work it cannot do
// in time; it serves again as soon as a sample is back under the thresholds. The measuring runs on
// a timer, so a request pays one boolean read.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Code } from '../errors/codes.js';
import { gatewayError, type GatewayError } from '../errors/gateway-error.js';

/** Thresholds; a limit left out is not checked. */
export interface OverloadLimits {
  /** Event-loop delay (the 99th percentile over one sample interval) above which requests are shed. */
  readonly maxEventLoopDelayMs?: number | undefined;
  /** V8 heap in use above which requests are shed. */
  readonly maxHeapUsedBytes?: number | undefined;
  /** How often the delay and heap are sampled (default 250 ms). */
  readonly sampleIntervalMs?: number | undefined;
  /** The Retry-After given to shed requests, in seconds (default 1). */
  readonly retryAfterSeconds?: number | undefined;
}

/** The state the HTTP layer reads on every request. */
export interface OverloadGuard {
  /** True while the last sample was over a threshold. */
  readonly overloaded: boolean;
  /** What a shed request is answered (one shared error: no allocation per shed request). */
  readonly refusal: GatewayError;
  /** The last sample, for logs and tests. */
  readonly lastSample: { readonly eventLoopDelayMs: number; readonly heapUsedBytes: number };
  stop(): void;
}

/** Starts sampling; call `stop()` when the server closes. */
export function startOverloadGuard(limits: OverloadLimits): OverloadGuard {
  const maxDelayMs = limits.maxEventLoopDelayMs ?? Infinity;
  const maxHeap = limits.maxHeapUsedBytes ?? Infinity;
  const retryAfter = limits.retryAfterSeconds ?? 1;
  // 10 ms resolution: finer costs a timer wake-up per millisecond for nothing a threshold needs.
  const histogram: IntervalHistogram | undefined = Number.isFinite(maxDelayMs) ? monitorEventLoopDelay({ resolution: 10 }) : undefined;
  histogram?.enable();
  const guard = {
    overloaded: false,
    refusal: gatewayError(Code.UNAVAILABLE, 'PG_OVERLOADED', 'the gateway is overloaded; retry later', {
      httpStatus: 503,
      headers: { 'retry-after': String(retryAfter) },
    }),
    lastSample: { eventLoopDelayMs: 0, heapUsedBytes: 0 },
    stop() {
      clearInterval(timer);
      histogram?.disable();
    },
  };
  const intervalMs = limits.sampleIntervalMs ?? 250;
  let lastTick = performance.now();
  const sample = (): void => {
    // The histogram is in nanoseconds; reset so each sample covers one interval only. Its own
    // timer may record a stall only after this one has run, so this timer's lateness counts too:
    // a stall is seen by the first sample after it, before the requests that queued behind it.
    const now = performance.now();
    const lateMs = now - lastTick - intervalMs;
    lastTick = now;
    const histogramMs = histogram === undefined || histogram.count === 0 ? 0 : histogram.percentile(99) / 1e6;
    const delayMs = histogram === undefined ? 0 : Math.max(histogramMs, lateMs);
    histogram?.reset();
    const heapUsed = Number.isFinite(maxHeap) ? process.memoryUsage().heapUsed : 0;
    guard.lastSample = { eventLoopDelayMs: delayMs, heapUsedBytes: heapUsed };
    guard.overloaded = delayMs > maxDelayMs || heapUsed > maxHeap;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return guard;
}

// Wraps one target's transport with its circuit breaker and, for idempotent calls, retries under
// a retry budget. The pipeline sees an ordinary UpstreamTransport (STYLE: retries wrap, they do
// not leak into callers); it only says per call whether the call may be repeated
// (`UnaryRequest.idempotent`). A closed breaker on a call that does not retry costs a branch,
// one `.then` and a classification of the result.
import { ExponentialBackoff, fullJitterGenerator, type IBackoff } from 'cockatiel';
import { Code } from '../errors/codes.js';
import { isNoAddressFailure } from './balancer.js';
import { CircuitBreaker, Outcome, Ticket, type BreakerState, type FailureRatioOptions } from './circuit-breaker.js';
import { RetryBudget } from './retry-budget.js';
import { failedBidiStream, failedClientStream } from './client-stream.js';
import { ServerStreamQueue } from './server-stream.js';
import type { BidiStreamCall, CancelSignal, ClientStreamCall, ServerStreamCall, StreamStatus, TransportState, UnaryRequest, UnaryResult, UpstreamTransport } from './transport.js';
import { exceededLocalLimit, localFailure } from './unary-call.js';

export interface ResilienceOptions {
  /** Absent: no breaker. */
  readonly breaker?:
    | { readonly failureThreshold: number; readonly cooldownMs: number; readonly failureRatio?: FailureRatioOptions | undefined }
    | undefined;
  /** Absent, or maxRetries 0: no retries. */
  readonly retry?:
    | {
        readonly maxRetries: number;
        readonly onDeadlineExceeded: boolean;
        readonly baseDelayMs: number;
        readonly maxDelayMs: number;
        readonly budgetRatio: number;
        readonly budgetMinPerSecond: number;
      }
    | undefined;
  /** Called on every breaker state change, with the target. */
  readonly onBreakerStateChange?: ((target: string, state: BreakerState, previous: BreakerState) => void) | undefined;
  /** Tests only: a fake clock (epoch ms). */
  readonly now?: () => number;
}

/** The client-facing text of a call the open breaker refused. */
export const CIRCUIT_OPEN_MESSAGE = 'upstream circuit open';

/** The refusals of open breakers (one object per transport), told apart from failed calls. */
const circuitOpenFailures = new WeakSet<UnaryResult>();

/**
 * Whether `result` says the upstream is out rather than that one call failed: its breaker is open,
 * or no address is in rotation (balancer.ts). Static fallbacks answer only these.
 */
export function isUpstreamOut(result: UnaryResult): boolean {
  return !result.ok && (circuitOpenFailures.has(result) || isNoAddressFailure(result));
}

/** A transport with a breaker (and retries); `breakerState` is undefined without a breaker. */
export interface ResilientTransport extends UpstreamTransport {
  state(): TransportState;
  breakerState(): BreakerState | undefined;
}

/** A balancer (balancer.ts) also offers `unaryRetry`, which sends a retry to another address. */
type Inner = UpstreamTransport & { state?(): TransportState; unaryRetry?(request: UnaryRequest, previous: UnaryResult): Promise<UnaryResult> };

/** How a result counts for the breaker: only outage-like codes are failures. */
function classify(result: UnaryResult | StreamStatus): Outcome {
  if (result.ok) return Outcome.Success;
  switch (result.code) {
    case Code.UNAVAILABLE:
    case Code.DEADLINE_EXCEEDED:
      return Outcome.Failure;
    case Code.CANCELLED:
      // the client went away (or the gateway is closing): says nothing about the upstream
      return Outcome.Neutral;
    default:
      // business errors (NOT_FOUND, INVALID_ARGUMENT, …) and the gateway's own size limits
      // (INTERNAL/RESOURCE_EXHAUSTED, see exceededLocalLimit) prove the upstream answers
      return Outcome.Success;
  }
}

/** Wraps `inner` (the transport of `target`); returns it with pass-through methods when nothing is enabled. */
export function createResilientTransport(target: string, inner: Inner, options: ResilienceOptions): ResilientTransport {
  const now = options.now ?? Date.now;
  const onChange = options.onBreakerStateChange;
  const breaker =
    options.breaker === undefined
      ? undefined
      : new CircuitBreaker({
          failureThreshold: options.breaker.failureThreshold,
          cooldownMs: options.breaker.cooldownMs,
          failureRatio: options.breaker.failureRatio,
          now,
          ...(onChange === undefined ? {} : { onStateChange: (state: BreakerState, previous: BreakerState) => onChange(target, state, previous) }),
        });
  const retry = options.retry !== undefined && options.retry.maxRetries > 0 ? options.retry : undefined;
  const budget = retry === undefined ? undefined : new RetryBudget({ ratio: retry.budgetRatio, minPerSecond: retry.budgetMinPerSecond }, now());
  // Keeps the budget's seconds aligned while traffic flows; unref'd, cleared on close.
  const ticker = budget === undefined ? undefined : setInterval(() => budget.advance(now()), 1000).unref();
  const backoff =
    retry === undefined ? undefined : new ExponentialBackoff({ generator: fullJitterGenerator, initialDelay: retry.baseDelayMs, maxDelay: retry.maxDelayMs });
  const circuitOpen = localFailure(Code.UNAVAILABLE, CIRCUIT_OPEN_MESSAGE, `circuit breaker for ${target} is open`);
  circuitOpenFailures.add(circuitOpen);

  const send = (request: UnaryRequest, previous: UnaryResult | undefined): Promise<UnaryResult> =>
    previous === undefined || inner.unaryRetry === undefined ? inner.unary(request) : inner.unaryRetry(request, previous);

  /** One attempt through the breaker; `previous`: the result a retry follows. */
  const attempt = (request: UnaryRequest, previous?: UnaryResult): Promise<UnaryResult> => {
    if (breaker === undefined) return send(request, previous);
    const ticket = breaker.admit();
    if (ticket === Ticket.Rejected) return Promise.resolve(circuitOpen);
    return send(request, previous).then((result) => {
      breaker.settle(ticket, classify(result));
      return result;
    });
  };

  const retryable = (result: UnaryResult): boolean => {
    if (result.ok || result === circuitOpen || exceededLocalLimit(result) !== undefined || isNoAddressFailure(result)) return false;
    return result.code === Code.UNAVAILABLE || (result.code === Code.DEADLINE_EXCEEDED && retry!.onDeadlineExceeded);
  };

  // The first attempt stays off the async path: a success costs one more `.then`, no async frame.
  const withRetries = (request: UnaryRequest): Promise<UnaryResult> => {
    budget!.recordRequest();
    return attempt(request).then((result) => (retryable(result) ? retryAfter(request, result) : result));
  };

  const retryAfter = async (request: UnaryRequest, first: UnaryResult): Promise<UnaryResult> => {
    let result = first;
    let delay: IBackoff<unknown> | undefined;
    for (let retries = 0; retries < retry!.maxRetries && retryable(result); retries++) {
      delay = delay === undefined ? backoff!.next() : delay.next(undefined);
      // never past the request's deadline: a retry needs time to run after the pause
      if (now() + delay.duration >= request.deadline || request.signal?.aborted === true) break;
      if (!budget!.tryRetry(now())) break;
      if (!(await pause(delay.duration, request.signal))) break;
      result = await attempt(request, result);
    }
    return result;
  };

  // Streams pass the breaker but are never retried: a retry could repeat messages already sent
  // to the client. The first message (or the end, if none comes) settles the breaker's ticket, so
  // an hour-long watch does not hold a half-open probe for an hour.
  const serverStream = (request: UnaryRequest): ServerStreamCall => {
    if (breaker === undefined) return inner.serverStream(request);
    const ticket = breaker.admit();
    if (ticket === Ticket.Rejected) return ServerStreamQueue.failed(circuitOpen);
    return onFirstOutcome(inner.serverStream(request), (outcome) => breaker.settle(ticket, outcome));
  };

  // Client streams: the breaker's check, settled by the response; never retried (the messages
  // were consumed from the HTTP body as they were sent).
  const clientStream = (open: NonNullable<Inner['clientStream']>) => (request: UnaryRequest): ClientStreamCall => {
    if (breaker === undefined) return open.call(inner, request);
    const ticket = breaker.admit();
    if (ticket === Ticket.Rejected) return failedClientStream(circuitOpen);
    const call = open.call(inner, request);
    void call.result.then((result) => breaker.settle(ticket, classify(result)));
    return call;
  };

  // Bidirectional streams: settled as server streams are, at the first response message.
  const bidiStream = (open: NonNullable<Inner['bidiStream']>) => (request: UnaryRequest): BidiStreamCall => {
    if (breaker === undefined) return open.call(inner, request);
    const ticket = breaker.admit();
    if (ticket === Ticket.Rejected) return failedBidiStream(circuitOpen);
    const call = open.call(inner, request);
    return { ...onFirstOutcome(call, (outcome) => breaker.settle(ticket, outcome)), write: (message) => call.write(message), end: () => call.end() };
  };

  return {
    serverStream,
    ...(inner.clientStream === undefined ? {} : { clientStream: clientStream(inner.clientStream) }),
    ...(inner.bidiStream === undefined ? {} : { bidiStream: bidiStream(inner.bidiStream) }),
    unary: retry === undefined ? attempt : (request) => (request.idempotent === true ? withRetries(request) : attempt(request)),
    state: () => inner.state?.() ?? 'idle',
    breakerState: () => breaker?.state(),
    close() {
      if (ticker !== undefined) clearInterval(ticker);
      return inner.close();
    },
  };
}

/** `call`, reporting once how it went: Success at its first message, else how it ended or Neutral if cancelled. */
function onFirstOutcome(call: ServerStreamCall, report: (outcome: Outcome) => void): ServerStreamCall {
  let pending = true;
  return {
    read: () =>
      call.read().then((message) => {
        if (pending) {
          pending = false;
          report(message === undefined ? classify(call.status()) : Outcome.Success);
        }
        return message;
      }),
    headers: () => call.headers(),
    status: () => call.status(),
    cancel: () => {
      if (pending) {
        pending = false;
        report(Outcome.Neutral);
      }
      call.cancel();
    },
  };
}

/** Waits `ms`; resolves false early if `signal` aborts. */
function pause(ms: number, signal: CancelSignal | undefined): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(signal?.aborted !== true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// The resilient wrapper (src/upstream/resilient-transport.ts) over a scripted fake transport.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '../../../src/errors/codes.js';
import { CIRCUIT_OPEN_MESSAGE, createResilientTransport, type ResilienceOptions } from '../../../src/upstream/resilient-transport.js';
import type { UnaryRequest, UnaryResult } from '../../../src/upstream/transport.js';
import { localFailure } from '../../../src/upstream/unary-call.js';

const OK: UnaryResult = { ok: true, message: Buffer.alloc(0), headers: [], trailers: [] };
const fail = (code: number): UnaryResult => localFailure(code, 'down', 'test');

/** A transport answering from `script` in order (the last answer repeats). */
function scripted(script: UnaryResult[]) {
  const fake = {
    calls: 0,
    unary: async (_request: UnaryRequest) => script[Math.min(fake.calls++, script.length - 1)]!,
    serverStream: (): never => {
      throw new Error('not called in these tests');
    },
    close: async () => {},
  };
  return fake;
}

const retry = { maxRetries: 2, onDeadlineExceeded: false, baseDelayMs: 1, maxDelayMs: 2, budgetRatio: 0.2, budgetMinPerSecond: 100 };
const request = (idempotent: boolean, deadlineMs = 10_000): UnaryRequest => ({
  path: '/a.A/M',
  message: new Uint8Array(),
  metadata: [],
  deadline: Date.now() + deadlineMs,
  idempotent,
});

async function withTransport(options: ResilienceOptions, script: UnaryResult[], run: (t: ReturnType<typeof createResilientTransport>, fake: ReturnType<typeof scripted>) => Promise<void>) {
  const fake = scripted(script);
  const transport = createResilientTransport('h:1', fake, options);
  try {
    await run(transport, fake);
  } finally {
    await transport.close();
  }
}

describe('resilient transport', () => {
  it('retries only idempotent calls, only on UNAVAILABLE', async () => {
    await withTransport({ retry }, [fail(Code.UNAVAILABLE), OK], async (t, fake) => {
      assert.equal((await t.unary(request(true))).ok, true);
      assert.equal(fake.calls, 2);
    });
    await withTransport({ retry }, [fail(Code.UNAVAILABLE), OK], async (t, fake) => {
      assert.equal((await t.unary(request(false))).ok, false);
      assert.equal(fake.calls, 1);
    });
    await withTransport({ retry }, [fail(Code.DEADLINE_EXCEEDED), OK], async (t, fake) => {
      assert.equal((await t.unary(request(true))).ok, false, 'DEADLINE_EXCEEDED is not retried unless configured');
      assert.equal(fake.calls, 1);
    });
    await withTransport({ retry: { ...retry, onDeadlineExceeded: true } }, [fail(Code.DEADLINE_EXCEEDED), OK], async (t, fake) => {
      assert.equal((await t.unary(request(true))).ok, true);
      assert.equal(fake.calls, 2);
    });
    await withTransport({ retry }, [fail(Code.NOT_FOUND), OK], async (t, fake) => {
      assert.equal((await t.unary(request(true))).ok, false);
      assert.equal(fake.calls, 1);
    });
  });

  it('does not retry when the pause would reach the deadline', async () => {
    await withTransport({ retry: { ...retry, baseDelayMs: 1000, maxDelayMs: 1000 } }, [fail(Code.UNAVAILABLE), OK], async (t, fake) => {
      // full jitter may draw 0 ms; a deadline already reached never allows a retry
      assert.equal((await t.unary(request(true, 0))).ok, false);
      assert.equal(fake.calls, 1);
    });
  });

  it('stops retrying when the budget is spent', async () => {
    await withTransport({ retry: { ...retry, maxRetries: 1, budgetRatio: 0, budgetMinPerSecond: 0.2 } }, [fail(Code.UNAVAILABLE)], async (t, fake) => {
      await t.unary(request(true));
      assert.equal(fake.calls, 2, 'the 2 retries of the 10 s window (0.2/s)');
      await t.unary(request(true));
      assert.equal(fake.calls, 4);
      await t.unary(request(true));
      assert.equal(fake.calls, 5, 'budget spent: no retry');
    });
  });

  it('answers "upstream circuit open" once open and does not retry that answer', async () => {
    await withTransport({ breaker: { failureThreshold: 2, cooldownMs: 60_000 }, retry }, [fail(Code.UNAVAILABLE)], async (t, fake) => {
      const result = await t.unary(request(true));
      assert.equal(fake.calls, 2, 'the second failure opened the breaker; the second retry was refused by it');
      assert.equal(t.breakerState(), 'open');
      assert.equal(result.ok ? '' : result.message, CIRCUIT_OPEN_MESSAGE);
      const again = await t.unary(request(false));
      assert.equal(again.ok ? -1 : again.code, Code.UNAVAILABLE);
      assert.equal(fake.calls, 2);
    });
  });
});

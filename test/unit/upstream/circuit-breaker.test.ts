// The breaker's state machine (src/upstream/circuit-breaker.ts) with a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker, Outcome, Ticket, type BreakerState } from '../../../src/upstream/circuit-breaker.js';

function breaker(threshold = 3, cooldownMs = 1000) {
  const clock = { now: 0 };
  const changes: Array<[BreakerState, BreakerState]> = [];
  const machine = new CircuitBreaker({
    failureThreshold: threshold,
    cooldownMs,
    now: () => clock.now,
    onStateChange: (state, previous) => changes.push([previous, state]),
  });
  const fail = () => machine.settle(machine.admit(), Outcome.Failure);
  return { machine, clock, changes, fail };
}

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    const { machine, fail, changes } = breaker(3);
    fail();
    fail();
    assert.equal(machine.state(), 'closed');
    fail();
    assert.equal(machine.state(), 'open');
    assert.equal(machine.admit(), Ticket.Rejected);
    assert.deepEqual(changes, [['closed', 'open']]);
  });

  it('a success (or a business error, which counts as one) resets the count', () => {
    const { machine, fail } = breaker(3);
    fail();
    fail();
    machine.settle(machine.admit(), Outcome.Success);
    fail();
    fail();
    assert.equal(machine.state(), 'closed');
    machine.settle(machine.admit(), Outcome.Neutral);
    assert.equal(machine.state(), 'closed', 'a neutral outcome neither counts nor resets');
    fail();
    assert.equal(machine.state(), 'open');
  });

  it('turns half-open after the cooldown and lets exactly one probe through', () => {
    const { machine, clock, fail } = breaker(1, 1000);
    fail();
    clock.now = 999;
    assert.equal(machine.state(), 'open');
    assert.equal(machine.admit(), Ticket.Rejected);
    clock.now = 1000;
    assert.equal(machine.state(), 'half-open');
    const probe = machine.admit();
    assert.equal(probe, Ticket.Probe);
    assert.equal(machine.admit(), Ticket.Rejected, 'a second call while the probe is in flight');
    machine.settle(probe, Outcome.Success);
    assert.equal(machine.state(), 'closed');
    assert.equal(machine.admit(), Ticket.Normal);
  });

  it('a failed probe reopens with a fresh cooldown', () => {
    const { machine, clock, fail, changes } = breaker(1, 1000);
    fail();
    clock.now = 1500;
    machine.settle(machine.admit(), Outcome.Failure);
    assert.equal(machine.state(), 'open');
    clock.now = 2499;
    assert.equal(machine.state(), 'open');
    clock.now = 2500;
    assert.equal(machine.state(), 'half-open');
    assert.deepEqual(changes, [
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'open'],
      ['open', 'half-open'],
    ]);
  });

  it('a neutral probe (client cancelled) frees the probe slot without deciding', () => {
    const { machine, clock, fail } = breaker(1, 10);
    fail();
    clock.now = 10;
    machine.settle(machine.admit(), Outcome.Neutral);
    assert.equal(machine.state(), 'half-open');
    assert.equal(machine.admit(), Ticket.Probe);
  });

  it('ignores outcomes of calls admitted before it opened', () => {
    const { machine, clock, fail } = breaker(1, 10);
    const early = machine.admit();
    fail();
    machine.settle(early, Outcome.Success);
    assert.equal(machine.state(), 'open', 'a late success does not close an open breaker');
    clock.now = 10;
    const probe = machine.admit();
    machine.settle(early, Outcome.Failure);
    assert.equal(machine.state(), 'half-open', 'only the probe decides');
    machine.settle(probe, Outcome.Success);
    assert.equal(machine.state(), 'closed');
  });
});

// The breaker's failure-ratio trigger (src/upstream/circuit-breaker.ts) with a fake clock; the
// consecutive trigger is tested in circuit-breaker.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker, Outcome } from '../../../src/upstream/circuit-breaker.js';

function breaker(ratio: number, minRequests: number, windowMs = 10_000) {
  const clock = { now: 1_000_000 };
  const machine = new CircuitBreaker({ failureThreshold: 1000, cooldownMs: 1000, now: () => clock.now, failureRatio: { ratio, windowMs, minRequests } });
  const call = (outcome: Outcome) => machine.settle(machine.admit(), outcome);
  return { machine, clock, call };
}

describe('circuit breaker failure ratio', () => {
  it('opens when failures reach the ratio over the window, never in a row', () => {
    const { machine, call } = breaker(0.5, 10);
    // alternating: no two failures in a row, half of the calls fail
    for (let i = 0; i < 4; i++) {
      call(Outcome.Success);
      call(Outcome.Failure);
    }
    assert.equal(machine.state(), 'closed', '8 calls: below minRequests');
    call(Outcome.Success);
    assert.equal(machine.state(), 'closed', 'successes never open it');
    call(Outcome.Failure);
    assert.equal(machine.state(), 'open', '5 of 10 failed');
  });

  it('stays closed below the ratio, and neutral outcomes do not count', () => {
    const { machine, call } = breaker(0.5, 4);
    for (let i = 0; i < 30; i++) {
      call(Outcome.Success);
      call(Outcome.Success);
      call(Outcome.Neutral);
      call(Outcome.Failure);
    }
    assert.equal(machine.state(), 'closed', 'one in three');
  });

  it('forgets calls older than the window', () => {
    const { machine, clock, call } = breaker(0.5, 4, 1000);
    for (let i = 0; i < 3; i++) call(Outcome.Failure);
    clock.now += 1500; // those three fall out of the window
    call(Outcome.Success);
    call(Outcome.Success);
    call(Outcome.Success);
    call(Outcome.Failure);
    assert.equal(machine.state(), 'closed', '1 of 4 in the window');
    call(Outcome.Failure);
    call(Outcome.Failure);
    assert.equal(machine.state(), 'open', '3 of 6');
  });

  it('starts counting afresh after a probe closes the breaker', () => {
    const { machine, clock, call } = breaker(0.5, 4);
    for (let i = 0; i < 4; i++) call(Outcome.Failure);
    assert.equal(machine.state(), 'open');
    clock.now += 1000;
    call(Outcome.Success); // the probe
    assert.equal(machine.state(), 'closed');
    call(Outcome.Success);
    call(Outcome.Success);
    call(Outcome.Success);
    call(Outcome.Failure);
    assert.equal(machine.state(), 'closed', 'the failures before opening are gone (else 5 of 8)');
  });
});

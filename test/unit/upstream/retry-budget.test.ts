// The retry budget (src/upstream/retry-budget.ts) with a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget } from '../../../src/upstream/retry-budget.js';

function take(budget: RetryBudget, now: number, attempts: number): number {
  let granted = 0;
  for (let i = 0; i < attempts; i++) if (budget.tryRetry(now)) granted++;
  return granted;
}

describe('retry budget', () => {
  it('allows the minimum per second over the window without traffic', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 3, windowSeconds: 10 }, 0);
    assert.equal(take(budget, 0, 100), 30, '3/s over a 10 s window');
  });

  it('allows retries up to the ratio of the requests in the window', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowSeconds: 10 }, 0);
    for (let i = 0; i < 1000; i++) budget.recordRequest();
    assert.equal(take(budget, 500, 1000), 200);
  });

  it('forgets requests and retries that left the window', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowSeconds: 10 }, 0);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    assert.equal(take(budget, 0, 100), 20);
    budget.advance(5_000);
    for (let i = 0; i < 50; i++) budget.recordRequest();
    assert.equal(take(budget, 5_000, 100), 10, '150 requests in the window allow 30, 20 are spent');
    assert.equal(take(budget, 10_000, 100), 0, 'at 10 s the first second has left: 50 requests allow 10, all spent');
    assert.equal(take(budget, 15_000, 100), 0, 'at 15 s the window holds nothing');
    for (let i = 0; i < 5; i++) budget.recordRequest();
    assert.equal(take(budget, 15_000, 100), 1);
  });

  it('cannot amplify an outage: under steady load retries stay at the ratio', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 3, windowSeconds: 10 }, 0);
    let retries = 0;
    for (let second = 0; second < 60; second++) {
      budget.advance(second * 1000);
      for (let i = 0; i < 100; i++) {
        budget.recordRequest();
        // every request fails and would like two retries
        retries += take(budget, second * 1000, 2);
      }
    }
    assert.ok(retries <= 0.2 * 6000 + 30, `retries ${retries}`);
    assert.ok(retries >= 0.2 * 6000 - 30, `retries ${retries}`);
  });
});

/**
 * `priority` (GreedyDual-Size-Frequency with priority classes): the shared
 * contract, then the business cases it exists for.
 */
import { describe, expect, it } from 'vitest';
import { LruPolicy } from '../../../src/policy/lru.ts';
import type { EntryInfo, Policy } from '../../../src/policy/policy.ts';
import { CLASS_WEIGHTS, classWeight, PriorityPolicy } from '../../../src/policy/priority.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  'priority',
  (c) => new PriorityPolicy(c),
  (s, c) => PriorityPolicy.restore(s, c),
);

const FOREVER = Number.POSITIVE_INFINITY;
const entry = (size: number, cost = 1, priority = 1): EntryInfo => ({
  size,
  expiresAt: FOREVER,
  cost,
  priority,
});

/** A costly model output, then a stream of cheap pages, some read again. */
function modelOutputThenPages(policy: Policy): void {
  policy.set('model:answer', entry(40, 500, 3), 0);
  for (let i = 0; i < 400; i++) {
    const page = `page:${i}`;
    policy.set(page, entry(5), i);
    if (i % 3 === 0) policy.get(`page:${i - 1}`, i); // some pages are popular for a while
  }
}

describe('priority: business cases', () => {
  it('a costly, high-priority model output outlives cheap pages when bytes are short', () => {
    // 100 bytes: the 40-byte answer plus 12 of the 5-byte pages at most.
    const priority = new PriorityPolicy({ maxWeight: 100 });
    modelOutputThenPages(priority);
    expect(priority.has('model:answer')).toBe(true);
    expect(priority.weight).toBeLessThanOrEqual(100);
    // The pages churned through the rest.
    expect(priority.count).toBeGreaterThan(1);
    // LRU, blind to cost, lets it go within the first dozen pages.
    const lru = new LruPolicy({ maxWeight: 100 });
    modelOutputThenPages(lru);
    expect(lru.has('model:answer')).toBe(false);
  });

  it('evicts priority 0 before priority 3 at equal cost and size, whatever the recency', () => {
    const policy = new PriorityPolicy({ maxWeight: 2 });
    policy.set('keep', entry(1, 1, 3), 0);
    policy.set('drop', entry(1, 1, 0), 1); // newer, but class 0
    expect(policy.set('next', entry(1, 1, 1), 2)).toEqual(['drop']);
    expect(policy.has('keep')).toBe(true);
  });

  it('orders the classes 0 < 1 < 2 < 3 at equal cost, size and frequency', () => {
    const policy = new PriorityPolicy({ maxWeight: 4 });
    // Inserted highest class first, so recency alone would evict class 3 first.
    for (const p of [3, 2, 1, 0]) policy.set(`p${p}`, entry(1, 1, p), 0);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Class-3 newcomers: H = L + 16, above every resident until L catches up.
      order.push(...policy.set(`n${i}`, entry(1, 1, 3), 1));
    }
    expect(order).toEqual(['p0', 'p1', 'p2', 'p3']);
  });

  it('at equal cost and class, a large entry goes before small ones (per byte)', () => {
    const policy = new PriorityPolicy({ maxWeight: 30 });
    policy.set('big', entry(20), 0);
    policy.set('small1', entry(5), 1);
    policy.set('small2', entry(5), 2);
    expect(policy.set('small3', entry(5), 3)).toEqual(['big']);
  });

  it('a frequently read entry outlives one read once', () => {
    const policy = new PriorityPolicy({ maxWeight: 2 });
    policy.set('hot', entry(1), 0);
    policy.set('cold', entry(1), 1);
    for (let i = 0; i < 5; i++) policy.get('hot', 2);
    expect(policy.set('new', entry(1), 3)).toEqual(['cold']);
  });

  it('ages: an expensive entry that is never read again leaves once L passes it', () => {
    const policy = new PriorityPolicy({ maxWeight: 3 });
    policy.set('stale', entry(1, 10, 2), 0); // H = 0 + 10 × 4 = 40
    let gone = -1;
    for (let i = 0; i < 200 && gone < 0; i++) {
      const key = `page:${i}`;
      policy.set(key, entry(1), i);
      policy.get(key, i); // each page read twice: H = L + 2
      if (!policy.has('stale')) gone = i;
    }
    expect(gone).toBeGreaterThan(10);
    expect(gone).toBeLessThan(200);
    expect(policy.aging).toBeGreaterThanOrEqual(40);
  });

  it('an update re-ranks with the new cost and class', () => {
    const policy = new PriorityPolicy({ maxWeight: 2 });
    policy.set('a', entry(1, 1, 1), 0);
    policy.set('b', entry(1, 1, 1), 1);
    policy.set('a', entry(1, 1, 0), 2); // demoted to class 0 by a re-write
    expect(policy.set('c', entry(1), 3)).toEqual(['a']);
  });
});

describe('classWeight', () => {
  it('is the documented table, rounding and clamping other values', () => {
    expect([0, 1, 2, 3].map(classWeight)).toEqual([...CLASS_WEIGHTS]);
    expect(CLASS_WEIGHTS).toEqual([0.25, 1, 4, 16]);
    expect(classWeight(-5)).toBe(0.25);
    expect(classWeight(9)).toBe(16);
    expect(classWeight(1.6)).toBe(4);
    expect(classWeight(Number.NaN)).toBe(1);
  });
});

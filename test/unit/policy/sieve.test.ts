/** SIEVE: the shared contract and hand-checked orders (NSDI'24, Fig. 2). */
import { describe, expect, it } from 'vitest';
import { SievePolicy } from '../../../src/policy/sieve.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  'sieve',
  (c) => new SievePolicy(c),
  (s, c) => SievePolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };

describe('SIEVE order', () => {
  it('the hand clears visited bits from oldest to newest and stays where it evicted', () => {
    const sieve = new SievePolicy({ maxWeight: 3 });
    for (const k of ['a', 'b', 'c']) sieve.set(k, forever, 0);
    sieve.get('a', 0);
    // The hand starts at the oldest: a is visited (cleared, kept), b is not: b goes.
    expect(sieve.set('d', forever, 0)).toEqual(['b']); // queue a c d, hand at c
    sieve.get('c', 0);
    // From c: visited (cleared), then d: evicted; the hand falls off the new end.
    expect(sieve.set('e', forever, 0)).toEqual(['d']); // queue a c e
    // The hand wraps to the oldest: a's bit was cleared on the first pass.
    expect(sieve.set('f', forever, 0)).toEqual(['a']); // queue c e f, hand at c
    expect(sieve.set('g', forever, 0)).toEqual(['c']);
  });

  it('a hit does not move the entry', () => {
    const sieve = new SievePolicy({ maxWeight: 2 });
    sieve.set('a', forever, 0);
    sieve.set('b', forever, 0);
    sieve.get('b', 0);
    expect(sieve.set('c', forever, 0)).toEqual(['a']);
  });
});

/** LFU-DA: the shared contract and hand-checked orders (K = L + F, ties least recently used). */
import { describe, expect, it } from 'vitest';
import { LfuPolicy } from '../../../src/policy/lfu.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  'lfu',
  (c) => new LfuPolicy(c),
  (s, c) => LfuPolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };

describe('LFU-DA order', () => {
  it('evicts the smallest K, least recently used among equals, and ages', () => {
    const lfu = new LfuPolicy({ maxWeight: 3 });
    for (const k of ['a', 'b', 'c']) lfu.set(k, forever, 0); // K = 0 + 1 each
    lfu.get('a', 0); // F 2, K 2
    lfu.get('a', 0); // F 3, K 3
    lfu.get('b', 0); // F 2, K 2
    expect(lfu.set('d', forever, 0)).toEqual(['c']); // K 1 goes; L = 1; d: K 2
    expect(lfu.set('e', forever, 0)).toEqual(['b']); // K 2: b came before d; L = 2; e: K 3
    expect(lfu.set('f', forever, 0)).toEqual(['d']); // L = 2; f: K 3
    // Aging: a was read three times but K = 3 now ties with newcomers; it is the oldest.
    expect(lfu.set('g', forever, 0)).toEqual(['a']);
    expect([...lfu.keys()].sort()).toEqual(['e', 'f', 'g']);
  });

  it('a hit re-keys from the current age, not from the old K', () => {
    const lfu = new LfuPolicy({ maxWeight: 2 });
    lfu.set('a', forever, 0);
    for (let i = 0; i < 4; i++) lfu.get('a', 0); // F 5, K 5
    lfu.set('b', forever, 0); // K 1
    // Each newcomer evicts the other one: L climbs 1, 2, 3, 4 and f arrives at K 5.
    expect(['c', 'd', 'e', 'f'].map((k) => lfu.set(k, forever, 0))).toEqual([
      ['b'],
      ['c'],
      ['d'],
      ['e'],
    ]);
    lfu.get('a', 0); // F 6: K = L + F = 4 + 6 = 10 (K + 1 would be 6)
    expect(lfu.set('g', forever, 0)).toEqual(['f']); // L 5, g at K 6
    expect(lfu.set('h', forever, 0)).toEqual(['g']); // with K 6, a would have gone here
    expect([...lfu.keys()].sort()).toEqual(['a', 'h']);
  });

  it('evicts until a larger entry fits', () => {
    const lfu = new LfuPolicy({ maxWeight: 6 });
    for (const k of ['a', 'b', 'c'])
      lfu.set(k, { size: 2, expiresAt: Number.POSITIVE_INFINITY }, 0);
    lfu.get('a', 0);
    expect(lfu.set('big', { size: 5, expiresAt: Number.POSITIVE_INFINITY }, 0)).toEqual([
      'b',
      'c',
      'a',
    ]);
  });
});

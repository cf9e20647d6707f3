/** LRU: the shared contract plus hand-checked orders. */
import { describe, expect, it } from 'vitest';
import { LruPolicy } from '../../../src/policy/lru.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  'lru',
  (c) => new LruPolicy(c),
  (s, c) => LruPolicy.restore(s, c),
);

describe('LRU order', () => {
  it('evicts the least recently used', () => {
    const lru = new LruPolicy({ maxWeight: 3 });
    const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };
    for (const k of ['a', 'b', 'c']) lru.set(k, forever, 0);
    lru.get('a', 0);
    expect(lru.set('d', forever, 0)).toEqual(['b']);
    expect(lru.set('e', forever, 0)).toEqual(['c']);
    expect(lru.set('f', forever, 0)).toEqual(['a']);
  });
});

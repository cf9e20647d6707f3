/** TTL-first: the shared contract and hand-checked orders. */
import { describe, expect, it } from 'vitest';
import { TtlPolicy } from '../../../src/policy/ttl.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  'ttl',
  (c) => new TtlPolicy(c),
  (s, c) => TtlPolicy.restore(s, c),
);

const at = (expiresAt: number) => ({ size: 1, expiresAt });
const never = at(Number.POSITIVE_INFINITY);

describe('TTL-first order', () => {
  it('evicts the soonest expiry first, never-expiring entries last and LRU among them', () => {
    const ttl = new TtlPolicy({ maxWeight: 3 });
    ttl.set('a', at(100), 0);
    ttl.set('b', never, 0);
    ttl.set('c', at(50), 0);
    expect(ttl.set('d', at(200), 0)).toEqual(['c']);
    expect(ttl.get('b', 1)).toBe(true);
    expect(ttl.set('e', never, 1)).toEqual(['a']);
    expect(ttl.set('f', never, 1)).toEqual(['d']);
    // Only never-expiring entries are left: b is the least recently used.
    expect(ttl.set('g', at(10), 2)).toEqual(['b']);
    expect(ttl.get('e', 2)).toBe(true);
    expect(ttl.set('h', never, 3)).toEqual(['g']);
    expect(ttl.set('i', never, 3)).toEqual(['f']);
  });

  it('breaks expiry ties by key, so a restored snapshot decides the same', () => {
    const ttl = new TtlPolicy({ maxWeight: 2 });
    ttl.set('y', at(100), 0);
    ttl.set('x', at(100), 0);
    const copy = TtlPolicy.restore(JSON.parse(JSON.stringify(ttl.snapshot())), { maxWeight: 2 });
    expect(ttl.set('z', never, 0)).toEqual(['x']);
    expect(copy.set('z', never, 0)).toEqual(['x']);
  });

  it('an update that changes the expiry moves the entry', () => {
    const ttl = new TtlPolicy({ maxWeight: 2 });
    ttl.set('a', at(10), 0);
    ttl.set('b', at(20), 0);
    ttl.set('a', at(30), 0);
    expect(ttl.set('c', at(40), 0)).toEqual(['b']);
  });
});

/** The adaptive default: the shared contract plus how its miniature simulations steer the window. */
import { describe, expect, it } from 'vitest';
import { AdaptivePolicy } from '../../../src/policy/adaptive.ts';
import type { Policy, PolicySnapshot } from '../../../src/policy/policy.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  'adaptive',
  (c) => new AdaptivePolicy(c),
  (s, c) => AdaptivePolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };

/** Replays `keys` as a cache would (read, fill on a miss); returns the hit ratio. */
function replay(policy: Policy, keys: Iterable<string>, size = 1): number {
  let hits = 0;
  let n = 0;
  for (const key of keys) {
    if (policy.get(key, n)) hits++;
    else policy.set(key, { size, expiresAt: Number.POSITIVE_INFINITY }, n);
    n++;
  }
  return hits / n;
}

/** Each new key is read, then read again 20 requests later, then never: only recency helps. */
function* recencyStream(n: number, prefix = 'r'): Generator<string> {
  for (let i = 0; i < n; i++) yield i % 2 === 0 ? `${prefix}${i}` : `${prefix}${i - 21}`;
}

/** A loop over `length` keys, `rounds` times. */
function* loopStream(length: number, rounds: number): Generator<string> {
  for (let r = 0; r < rounds; r++) for (let i = 0; i < length; i++) yield `k${i}`;
}

describe('adaptive', () => {
  it('grows the window on a recency-only workload and hits like LRU', () => {
    const policy = new AdaptivePolicy({ maxWeight: 200 });
    const ratio = replay(policy, recencyStream(60_000));
    expect(policy.windowFraction).toBeGreaterThanOrEqual(0.15);
    expect(ratio).toBeGreaterThan(0.45); // LRU gets ~0.5 (every second request), no window ~0
  });

  it('keeps no window on a loop longer than the cache and stays near the optimum', () => {
    const policy = new AdaptivePolicy({ maxWeight: 500 });
    const ratio = replay(policy, loopStream(1000, 60));
    expect(policy.windowFraction).toBe(0);
    expect(ratio).toBeGreaterThan(0.47); // OPT ≈ 0.5; LRU = 0
  });

  it('moves back when the workload turns from recency to a loop', () => {
    const policy = new AdaptivePolicy({ maxWeight: 300 });
    replay(policy, recencyStream(40_000));
    expect(policy.windowFraction).toBeGreaterThan(0);
    replay(policy, loopStream(600, 100));
    expect(policy.windowFraction).toBeLessThanOrEqual(0.05);
  });

  it('adapts with byte weights too (the sample rate follows the resident count)', () => {
    const policy = new AdaptivePolicy({ maxWeight: 1_000_000 });
    const ratio = replay(policy, recencyStream(40_000), 5_000); // ~200 entries of 5 kB
    expect(policy.windowFraction).toBeGreaterThanOrEqual(0.15);
    expect(ratio).toBeGreaterThan(0.4);
  });

  it('restores mid-adaptation and then decides exactly as the original', () => {
    const original = new AdaptivePolicy({ maxWeight: 200 });
    replay(original, recencyStream(9_000));
    const snapshot = JSON.parse(JSON.stringify(original.snapshot())) as PolicySnapshot;
    const copy = AdaptivePolicy.restore(snapshot, { maxWeight: 200 });
    const trace = (p: AdaptivePolicy): unknown[] => {
      const out: unknown[] = [];
      let n = 9_000;
      for (const key of recencyStream(20_000, 's')) {
        const hit = p.get(key, n);
        out.push(hit ? 'hit' : p.set(key, forever, n), p.windowFraction);
        n++;
      }
      return out;
    };
    expect(trace(copy)).toEqual(trace(original));
    expect(copy.windowFraction).toBeGreaterThan(0);
  });
});

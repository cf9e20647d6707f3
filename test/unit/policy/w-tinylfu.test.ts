/** W-TinyLFU: the shared contract plus admission, window, SLRU and climbing cases. */
import { describe, expect, it } from 'vitest';
import { HillClimber } from '../../../src/policy/hill-climber.ts';
import type { Policy } from '../../../src/policy/policy.ts';
import { WTinyLfuPolicy } from '../../../src/policy/w-tinylfu.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  'w-tinylfu',
  (c) => new WTinyLfuPolicy(c),
  (s, c) => WTinyLfuPolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };

/** A read, and a fill on a miss, as a cache does; returns the evicted keys. */
function access(policy: Policy, key: string, now = 0): string[] {
  return policy.get(key, now) ? [] : policy.set(key, forever, now);
}

describe('W-TinyLFU admission', () => {
  it('keeps a frequently used working set against a scan of one-hit wonders', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 100 }, { climb: false });
    for (let round = 0; round < 5; round++) for (let i = 0; i < 90; i++) access(policy, `hot${i}`);
    for (let i = 0; i < 1000; i++) {
      // The 1-entry window passes each scan key on as a candidate, which loses to main's victim.
      for (const key of access(policy, `scan${i}`)) expect(key.startsWith('scan')).toBe(true);
    }
    for (let i = 0; i < 90; i++) expect(policy.has(`hot${i}`)).toBe(true);
  });

  it('admits a candidate seen more often than the victim, evicting the victim', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 10 }, { climb: false, windowFraction: 0 });
    for (let i = 0; i < 10; i++) access(policy, `k${i}`);
    // `new` was requested (and missed) three times before it is written.
    for (let i = 0; i < 3; i++) policy.get('new', 0);
    const evicted = policy.set('new', forever, 0);
    expect(evicted).toEqual(['k0']);
    expect(policy.has('new')).toBe(true);
  });

  it('refuses a candidate no more frequent than the victim', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 4 }, { climb: false, windowFraction: 0 });
    for (let i = 0; i < 4; i++) access(policy, `k${i}`);
    expect(access(policy, 'x')).toEqual(['x']); // one access each: the victim stays
    expect(access(policy, 'x')).toEqual(['k0']); // two against one: x gets in
  });

  it('counts the write of a key nobody read (a PUT) as its access, a read-through fill once', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 4 }, { climb: false, windowFraction: 0 });
    for (let i = 0; i < 4; i++) policy.set(`k${i}`, forever, 0);
    expect(policy.set('x', forever, 0)).toEqual(['x']); // one write against one: refused
    expect(policy.set('x', forever, 0)).toEqual(['k0']); // written twice: it beats k0
    // A read miss then its fill is one access, not two.
    policy.get('y', 0);
    expect(policy.set('y', forever, 0)).toEqual(['y']);
  });

  it('lets every candidate in when admission is off (the window feeds an SLRU)', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 10 }, { climb: false, admission: 'none' });
    for (let round = 0; round < 3; round++) for (let i = 0; i < 10; i++) access(policy, `hot${i}`);
    expect(access(policy, 'cold')).not.toContain('cold');
  });

  it('serves recency from the window: a new key re-read at once is a hit', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 100 }, { climb: false, windowFraction: 0.1 });
    for (let round = 0; round < 5; round++) for (let i = 0; i < 100; i++) access(policy, `hot${i}`);
    for (let i = 0; i < 50; i++) {
      access(policy, `burst${i}`);
      expect(policy.get(`burst${i}`, 0)).toBe(true);
    }
  });

  it('promotes probation hits to protected, which survive a flood of admitted candidates', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 10 }, { climb: false, admission: 'none' });
    for (let i = 0; i < 10; i++) access(policy, `k${i}`);
    for (const key of ['k3', 'k4']) policy.get(key, 0);
    for (let i = 0; i < 30; i++) access(policy, `flood${i}`);
    expect(policy.has('k3') && policy.has('k4')).toBe(true);
    expect(policy.has('k0')).toBe(false);
  });

  it('weighs entries: a heavy newcomer evicts as many victims as it needs', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 10 }, { climb: false, admission: 'none' });
    for (let i = 0; i < 10; i++) policy.set(`k${i}`, forever, 0);
    const evicted = policy.set('big', { size: 4, expiresAt: Number.POSITIVE_INFINITY }, 0);
    expect(evicted).toHaveLength(4);
    expect(policy.weight).toBe(10);
    expect(policy.has('big')).toBe(true);
  });

  it('moves window overflow into main when the window shrinks, evicting nothing', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 10 }, { climb: false, windowFraction: 1 });
    for (let i = 0; i < 10; i++) policy.set(`k${i}`, forever, 0);
    policy.setWindowFraction(0.1);
    expect(policy.count).toBe(10);
    expect(policy.windowFraction).toBe(0.1);
  });
});

describe('frequency-recency admission', () => {
  const loop = (policy: Policy, length: number, rounds: number): number => {
    let hits = 0;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < length; i++) {
        if (policy.get(`k${i}`, 0)) hits++;
        else policy.set(`k${i}`, forever, 0);
      }
    }
    return hits / (length * rounds);
  };

  it('holds a loop longer than the cache where plain TinyLFU churns', () => {
    const options = { climb: false, windowFraction: 0 } as const;
    const recency = new WTinyLfuPolicy(
      { maxWeight: 100 },
      { ...options, admission: 'frequency-recency' },
    );
    const plain = new WTinyLfuPolicy({ maxWeight: 100 }, options);
    // Belady's optimum on a 200-key loop with 100 entries is just under 50%.
    expect(loop(recency, 200, 50)).toBeGreaterThan(0.46);
    expect(loop(plain, 200, 50)).toBeLessThan(loop(recency, 200, 50) - 0.03);
  });

  it('breaks a tie for the key whose previous read is more recent than the victim', () => {
    const policy = new WTinyLfuPolicy(
      { maxWeight: 3 },
      { climb: false, windowFraction: 0, admission: 'frequency-recency' },
    );
    for (const key of ['a', 'b', 'c']) access(policy, key);
    // `x` is read twice; its earlier read came after the victim `a` was last read.
    expect(access(policy, 'x')).toEqual(['x']);
    expect(access(policy, 'x')).toEqual(['a']);
  });
});

describe('HillClimber', () => {
  it('keeps its direction while the hit rate improves and reverses when it falls', () => {
    const climber = new HillClimber(1000);
    const sample = (hits: number): number => {
      let delta = 0;
      for (let i = 0; i < 100; i++) delta = climber.record(i < hits, 100);
      return delta;
    };
    // The first step shrinks the window by 6.25%; the jump from 0 restarts the step at 6.25%.
    expect(sample(50)).toBeCloseTo(-62.5);
    expect(sample(51)).toBeCloseTo(-62.5); // better: the same way (the step decays after it)
    expect(sample(50)).toBeCloseTo(62.5 * 0.98); // worse: reversed
    expect(sample(60)).toBeCloseTo(62.5 * 0.98 ** 2); // better: the same way
    // That jump of 5 points or more restarted the step at 6.25% of the capacity.
    expect(sample(60)).toBeCloseTo(62.5);
  });

  it('moves the window once per sample period of 10 x capacity requests', () => {
    const policy = new WTinyLfuPolicy({ maxWeight: 100 });
    for (let i = 0; i < 1279; i++) access(policy, `k${i % 150}`, i);
    expect(policy.windowFraction).toBe(0.01);
    access(policy, 'k0', 1279); // the 1,280th request (the sketch is sized for 128 entries)
    expect(policy.windowFraction).toBe(0);
  });
});

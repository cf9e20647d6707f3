/**
 * `learned` (regret-weighted LRU / LFU / CR-LFU experts): the shared
 * contract, then behaviour on small synthetic streams whose best policy is
 * known, and the expert weights (the frequency buckets: rank-buckets.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ExpertWeights, LEADER_SHARE, WEIGHT_FLOOR } from '../../../src/policy/expert-weights.ts';
import { LearnedPolicy } from '../../../src/policy/learned.ts';
import { LruPolicy } from '../../../src/policy/lru.ts';
import type { Policy } from '../../../src/policy/policy.ts';
import { registerPolicyContract } from './contract.ts';
import { type GoldenRow, haveTraces, hitPercent, readLinesTrace } from './golden-replay.ts';

registerPolicyContract(
  'learned',
  (c) => new LearnedPolicy(c),
  (s, c) => LearnedPolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };

/** Cold replay, `get` then `set` on a miss; returns hits. */
function replay(policy: Policy, keys: readonly string[], from = 0): number {
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (policy.get(key, from + i)) hits++;
    else policy.set(key, forever, from + i);
  }
  return hits;
}

function loop(length: number, rounds: number): string[] {
  const keys: string[] = [];
  for (let r = 0; r < rounds; r++) for (let k = 0; k < length; k++) keys.push(`k${k}`);
  return keys;
}

describe('learned: what it learns', () => {
  it('learns a loop longer than the cache, where LRU never hits', () => {
    // 300 keys in a loop, 100 entries: LRU 0%, OPT about 1/3 after the first round.
    const keys = loop(300, 60);
    const learned = new LearnedPolicy({ maxWeight: 100 });
    expect(replay(new LruPolicy({ maxWeight: 100 }), keys)).toBe(0);
    const hits = replay(learned, keys);
    expect(hits / keys.length).toBeGreaterThan(0.2);
    // The churn-resistant expert carries the decision by the end.
    const [lru, , crLfu] = learned.weights as [number, number, number];
    expect(crLfu).toBeGreaterThan(0.9);
    expect(lru).toBeLessThan(0.05);
  });

  it('ties LRU where every reuse is immediate (LRU = OPT), like corda', () => {
    // Each key is read twice in a row and never again: OPT and LRU hit every second read.
    const keys: string[] = [];
    for (let i = 0; i < 20_000; i++) keys.push(`k${i}`, `k${i}`);
    const lruHits = replay(new LruPolicy({ maxWeight: 64 }), keys);
    expect(lruHits).toBe(20_000);
    expect(replay(new LearnedPolicy({ maxWeight: 64 }), keys)).toBe(lruHits);
  });

  it('keeps a hot set through scans that flush LRU', () => {
    // 50 hot keys read in turn, then a scan of 200 new keys, repeated; 100 entries.
    const keys: string[] = [];
    let fresh = 0;
    for (let round = 0; round < 200; round++) {
      for (let rep = 0; rep < 3; rep++) for (let h = 0; h < 50; h++) keys.push(`hot${h}`);
      for (let s = 0; s < 200; s++) keys.push(`scan${fresh++}`);
    }
    const lru = replay(new LruPolicy({ maxWeight: 100 }), keys);
    const learned = replay(new LearnedPolicy({ maxWeight: 100 }), keys);
    expect(learned).toBeGreaterThan(lru * 1.3);
  });

  it('penalises the expert whose evicted key is written back', () => {
    // Capacity 2: 'a' is old but read three times, 'b' is new and unread.
    // Inserting 'c' makes LRU propose 'a' and both LFUs propose 'b'.
    const policy = new LearnedPolicy({ maxWeight: 2 });
    policy.set('a', forever, 0);
    for (let i = 0; i < 3; i++) policy.get('a', 0);
    policy.set('b', forever, 0);
    const [evicted] = policy.set('c', forever, 0);
    const before = policy.weights;
    expect(policy.get(evicted as string, 0)).toBe(false);
    policy.set(evicted as string, forever, 0); // written back: whoever evicted it pays
    const after = policy.weights;
    if (evicted === 'a') expect(after[0]).toBeLessThan(before[0] as number);
    else {
      expect(evicted).toBe('b');
      expect(after[1]).toBeLessThan(before[1] as number);
      expect(after[2]).toBeLessThan(before[2] as number);
    }
    expect(after.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
  });

  it('re-admits a ghost with its old frequency + 1', () => {
    const policy = new LearnedPolicy({ maxWeight: 1 });
    policy.set('a', forever, 0);
    for (let i = 0; i < 4; i++) policy.get('a', 0); // frequency 5
    policy.set('b', forever, 0); // 'a' goes (the only other resident): all experts agree
    policy.set('c', forever, 0); // 'b' goes, likewise
    const state = policy.snapshot().state as { entries: [unknown, number][] };
    expect(state.entries.map(([, f]) => f)).toEqual([1]);
    // Agreement of all experts leaves no ghost (LeCaR), so no frequency is restored.
    policy.get('a', 0);
    policy.set('a', forever, 0);
    expect((policy.snapshot().state as { entries: [unknown, number][] }).entries[0]?.[1]).toBe(1);
  });

  it('snapshots JSON-safe state, including weights, ghosts and the PRNG', () => {
    const policy = new LearnedPolicy({ maxWeight: 50 });
    replay(policy, loop(120, 10));
    const snap = JSON.parse(JSON.stringify(policy.snapshot()));
    const copy = LearnedPolicy.restore(snap, { maxWeight: 50 });
    expect(copy.weights).toEqual(policy.weights);
    const more = loop(130, 5);
    expect(replay(copy, more, 10_000)).toBe(replay(policy, more, 10_000));
    expect(new Set(copy.keys())).toEqual(new Set(policy.keys()));
  });
});

/**
 * Measured on the shared traces (cold, size 1), beside the README's LRU golden
 * values: a regression guard, and the rows the issue asks it to win.
 */
const MEASURED: [trace: string, size: number, learned: number, lru: number][] = [
  ['glimpse', 500, 31.29, 0.95],
  ['glimpse', 1000, 49.73, 11.21],
  ['multi2', 600, 48.73, 37.13],
  ['multi2', 1800, 68.02, 48.49],
  ['multi2', 3000, 74.22, 71.18],
  ['sprite', 100, 31.52, 21.58],
  ['sprite', 400, 72.03, 70.77],
  ['loop', 512, 50.18, 0],
];

describe.skipIf(!haveTraces())('learned on the shared traces (±0.05 points)', () => {
  it.each(MEASURED)('%s at %i entries: %f percent (LRU %f)', (trace, size, learned, lru) => {
    const hit = hitPercent(new LearnedPolicy({ maxWeight: size }), readLinesTrace(trace));
    expect(Math.abs(hit - learned)).toBeLessThanOrEqual(0.05);
    expect(hit).toBeGreaterThanOrEqual(lru);
  });

  it('ties LRU on corda, where LRU = OPT, but for the exploration it starts with', () => {
    const keys = readLinesTrace('corda');
    const lru = hitPercent(new LruPolicy({ maxWeight: 512 }), keys);
    const hit = hitPercent(new LearnedPolicy({ maxWeight: 512 }), keys);
    expect(lru).toBeCloseTo(33.333, 3);
    expect(hit).toBeLessThanOrEqual(lru);
    expect(lru - hit).toBeLessThan(0.01); // 11 hits of 135,702
  });

  it('ties LRU on glimpse at 2,000 entries (3,453 hits each; OPT 3,486)', () => {
    const keys = readLinesTrace('glimpse');
    const lru = hitPercent(new LruPolicy({ maxWeight: 2000 }), keys);
    const hit = hitPercent(new LearnedPolicy({ maxWeight: 2000 }), keys);
    expect(hit).toBe(lru);
    expect(hit).toBeCloseTo(57.4065, 3);
  });

  it('loses to LRU on sprite at 1,000 entries (LRU-friendly; reported in the README)', () => {
    const row: GoldenRow = ['sprite', 1000, 90.64];
    const hit = hitPercent(new LearnedPolicy({ maxWeight: row[1] }), readLinesTrace(row[0]));
    expect(hit).toBeLessThan(row[2]);
    expect(hit).toBeGreaterThan(row[2] - 0.5);
  });
});

describe('ExpertWeights', () => {
  it('samples deterministically from a seed: the leader half the time, else by weight', () => {
    const a = new ExpertWeights(3, 42);
    const b = new ExpertWeights(3, 42);
    a.penalise(0b001, 0, 100, 1);
    b.penalise(0b001, 0, 100, 1);
    // Expert 0 was penalised: 1 and 2 tie for the lead, and 1 (the lower index) leads.
    const counts = [0, 0, 0];
    for (let i = 0; i < 60_000; i++) {
      const e = a.sample();
      expect(b.sample()).toBe(e);
      counts[e] = (counts[e] as number) + 1;
    }
    for (let e = 0; e < 3; e++) {
      const expected = a.chance(1 << e);
      expect((counts[e] as number) / 60_000).toBeCloseTo(expected, 2);
    }
    expect(a.chance(0b010)).toBeCloseTo(LEADER_SHARE + (1 - LEADER_SHARE) * a.weight(1), 12);
    expect(a.chance(0b111)).toBeCloseTo(1, 12);
  });

  it('discounts old regret and never drops a weight below the floor', () => {
    const fresh = new ExpertWeights(2);
    fresh.penalise(0b01, 0, 100, 0.5);
    const old = new ExpertWeights(2);
    old.penalise(0b01, 300, 100, 0.5);
    expect(fresh.weight(0)).toBeLessThan(old.weight(0));
    expect(old.weight(0)).toBeGreaterThan(0.49); // 0.005^3 of the regret
    for (let i = 0; i < 1000; i++) fresh.penalise(0b01, 0, 100, 0.5);
    expect(fresh.weight(0)).toBeCloseTo(WEIGHT_FLOOR, 6);
    expect(fresh.weight(0) + fresh.weight(1)).toBeCloseTo(1, 12);
  });

  it('weighs a mistake by how unlikely the eviction was (capped)', () => {
    const likely = new ExpertWeights(2);
    likely.penalise(0b01, 0, 100, 1);
    const unlikely = new ExpertWeights(2);
    unlikely.penalise(0b01, 0, 100, 0.1);
    expect(unlikely.weight(0)).toBeLessThan(likely.weight(0));
  });
});

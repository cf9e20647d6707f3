/** LIRS: the shared contract (bounded and unbounded stack), hand-checked orders, and the golden values. */
import { describe, expect, it } from 'vitest';
import { LirsPolicy } from '../../../src/policy/lirs.ts';
import { registerPolicyContract } from './contract.ts';
import type { GoldenRow } from './golden-replay.ts';
import { haveTraces, hitPercent, readLinesTrace } from './golden-replay.ts';

registerPolicyContract(
  'lirs',
  (c) => new LirsPolicy(c),
  (s, c) => LirsPolicy.restore(s, c),
);

// A tight non-resident bound exercises the bound on every random sequence.
registerPolicyContract(
  'lirs (non-resident bound 0.5 x capacity)',
  (c) => new LirsPolicy(c, { nonResident: 0.5 }),
  (s, c) => LirsPolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };
const stack = (lirs: LirsPolicy) => (lirs.snapshot().state as { s: string[] }).s;
const queue = (lirs: LirsPolicy) => (lirs.snapshot().state as { q: string[] }).q;

describe("LIRS order (SIGMETRICS'02 cases, 3 entries: 2 LIR + 1 HIR)", () => {
  it('promotes HIR entries re-referenced within S and demotes the bottom LIR', () => {
    const lirs = new LirsPolicy({ maxWeight: 3 }, { nonResident: Number.POSITIVE_INFINITY });
    lirs.set('a', forever, 0);
    lirs.set('b', forever, 0); // the LIR set fills: a, b
    lirs.set('c', forever, 0); // HIR resident
    expect(queue(lirs)).toEqual(['c']);
    // Case 3b: d is new; c (front of Q) is evicted but stays in S as non-resident.
    expect(lirs.set('d', forever, 0)).toEqual(['c']);
    expect(stack(lirs)).toEqual(['a', 'b', 'c', 'd']);
    // Case 3a: c is in S, so it comes back as LIR; bottom LIR a is demoted to Q.
    expect(lirs.get('c', 0)).toBe(false);
    expect(lirs.set('c', forever, 0)).toEqual(['d']);
    expect(stack(lirs)).toEqual(['b', 'd', 'c']);
    expect(queue(lirs)).toEqual(['a']);
    // Case 2b: a is a resident HIR not in S: a hit, it goes to the top of S and end of Q.
    expect(lirs.get('a', 0)).toBe(true);
    expect(stack(lirs)).toEqual(['b', 'd', 'c', 'a']);
    expect(lirs.set('e', forever, 0)).toEqual(['a']);
    // Case 1 at the bottom: b moves to the top and pruning drops non-resident d.
    expect(lirs.get('b', 0)).toBe(true);
    expect(stack(lirs)).toEqual(['c', 'a', 'e', 'b']);
    // d was pruned from S, so it returns as HIR (Case 3b), evicting e.
    expect(lirs.set('d', forever, 0)).toEqual(['e']);
    expect(queue(lirs)).toEqual(['d']);
    // Case 2a: d is a resident HIR in S: it turns LIR, bottom LIR c is demoted to Q,
    // and pruning then drops the non-resident a and e from the bottom of S.
    expect(lirs.get('d', 0)).toBe(true);
    expect(queue(lirs)).toEqual(['c']);
    expect(stack(lirs)).toEqual(['b', 'd']);
  });

  it('bounds the non-resident entries in S, oldest first', () => {
    const lirs = new LirsPolicy({ maxWeight: 100 }, { nonResident: 0.02 }); // 2 ghosts
    for (let i = 0; i < 99; i++) lirs.set(`l${i}`, forever, 0); // the LIR set
    for (const k of ['h1', 'h2', 'h3', 'h4']) lirs.set(k, forever, 0);
    // h1, h2, h3 were evicted in turn; only the two most recent ghosts remain in S.
    expect(stack(lirs).filter((k) => k.startsWith('h'))).toEqual(['h2', 'h3', 'h4']);
  });
});

// Traces README, "Reference values computed on these exact files": LIRS column
// ("LIRS with 1% HIR and unbounded stack S").
const GOLDEN: GoldenRow[] = [
  ['glimpse', 500, 33.6],
  ['glimpse', 1000, 50.72],
  ['glimpse', 2000, 57.96],
  ['sprite', 100, 25.31],
  ['sprite', 400, 69.63],
  ['sprite', 1000, 87.71],
  ['multi2', 600, 52.5],
  ['multi2', 1800, 69.24],
  ['multi2', 3000, 78.12],
  ['loop', 256, 24.97],
  ['loop', 512, 50.05],
  ['corda', 512, 0.22],
];

describe.skipIf(!haveTraces())(
  'LIRS golden values (cold, size 1, 1% HIR, unbounded S, ±0.05)',
  () => {
    it.each(GOLDEN)('%s at %i entries: %f percent', (trace, size, percent) => {
      const lirs = new LirsPolicy({ maxWeight: size }, { nonResident: Number.POSITIVE_INFINITY });
      const hit = hitPercent(lirs, readLinesTrace(trace));
      expect(Math.abs(hit - percent)).toBeLessThanOrEqual(0.05);
    });
  },
);

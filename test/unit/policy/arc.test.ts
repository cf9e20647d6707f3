/** ARC: the shared contract, hand-checked REPLACE/adaptation orders, and the traces README's golden values. */
import { describe, expect, it } from 'vitest';
import { ArcPolicy } from '../../../src/policy/arc.ts';
import { registerPolicyContract } from './contract.ts';
import type { GoldenRow } from './golden-replay.ts';
import { haveTraces, hitPercent, readLinesTrace } from './golden-replay.ts';

registerPolicyContract(
  'arc',
  (c) => new ArcPolicy(c),
  (s, c) => ArcPolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };
const pOf = (arc: ArcPolicy) => (arc.snapshot().state as { p: number }).p;

describe("ARC order (FAST'03 Fig. 4, c = 2)", () => {
  it('follows Cases I-IV and adapts p on ghost hits', () => {
    const arc = new ArcPolicy({ maxWeight: 2 });
    arc.set('a', forever, 0);
    arc.set('b', forever, 0);
    expect(arc.get('a', 0)).toBe(true); // Case I: a moves to T2
    // Case IV.B: REPLACE takes T1's LRU (|T1| = 1 > p = 0) into B1.
    expect(arc.set('c', forever, 0)).toEqual(['b']);
    // Case II: b in B1 raises p to 1; |T1| = 1 is not > 1, so T2's LRU (a) goes to B2.
    expect(arc.get('b', 0)).toBe(false);
    expect(arc.set('b', forever, 0)).toEqual(['a']);
    expect(pOf(arc)).toBe(1);
    // Case IV.B: |T1| = 1 = p, the newcomer is not from B2: T2's LRU (b) goes.
    expect(arc.set('d', forever, 0)).toEqual(['b']);
    // Case III: a in B2 lowers p to 0; T1 (c, d) gives its LRU.
    expect(arc.set('a', forever, 0)).toEqual(['c']);
    expect(pOf(arc)).toBe(0);
    expect([...arc.keys()].sort()).toEqual(['a', 'd']);
  });

  it('keeps the ghost lists within c and 2c', () => {
    const arc = new ArcPolicy({ maxWeight: 3 });
    for (let i = 0; i < 50; i++) {
      arc.set(`k${i % 9}`, forever, i);
      arc.get(`k${(i * 7) % 5}`, i);
      const { t1, t2, b1, b2 } = arc.snapshot().state as Record<
        't1' | 't2' | 'b1' | 'b2',
        unknown[]
      >;
      expect(t1.length + b1.length).toBeLessThanOrEqual(3);
      expect(t1.length + t2.length + b1.length + b2.length).toBeLessThanOrEqual(6);
    }
  });

  it('with sizes, REPLACE repeats until the newcomer fits', () => {
    const arc = new ArcPolicy({ maxWeight: 10 });
    for (const k of ['a', 'b', 'c', 'd', 'e'])
      arc.set(k, { size: 2, expiresAt: Number.POSITIVE_INFINITY }, 0);
    expect(arc.set('big', { size: 5, expiresAt: Number.POSITIVE_INFINITY }, 0)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(arc.weight).toBe(9);
  });
});

// Traces README, "Reference values computed on these exact files": ARC column.
const GOLDEN: GoldenRow[] = [
  ['glimpse', 500, 1.38],
  ['glimpse', 1000, 21.31],
  ['glimpse', 2000, 57.41],
  ['sprite', 100, 25.66],
  ['sprite', 400, 70.02],
  ['sprite', 1000, 89.7],
  ['multi2', 600, 39.84],
  ['multi2', 1800, 50.93],
  ['multi2', 3000, 72.71],
  ['loop', 256, 0],
  ['loop', 512, 0],
  ['corda', 512, 33.3],
];

describe.skipIf(!haveTraces())('ARC golden values (cold, size 1, ±0.05 points)', () => {
  it.each(GOLDEN)('%s at %i entries: %f percent', (trace, size, percent) => {
    const hit = hitPercent(new ArcPolicy({ maxWeight: size }), readLinesTrace(trace));
    expect(Math.abs(hit - percent)).toBeLessThanOrEqual(0.05);
  });
});

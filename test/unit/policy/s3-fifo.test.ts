/** S3-FIFO: the shared contract and hand-checked orders (SOSP'23). */
import { describe, expect, it } from 'vitest';
import { S3FifoPolicy } from '../../../src/policy/s3-fifo.ts';
import { registerPolicyContract } from './contract.ts';

registerPolicyContract(
  's3-fifo',
  (c) => new S3FifoPolicy(c),
  (s, c) => S3FifoPolicy.restore(s, c),
);

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };
type Queues = {
  small: Array<[[string], number]>;
  main: Array<[[string], number]>;
  ghost: string[][];
};
const queues = (s3: S3FifoPolicy) => {
  const st = s3.snapshot().state as Queues;
  return {
    small: st.small.map(([[k]]) => k),
    main: st.main.map(([[k], f]) => `${k}${f}`),
    ghost: st.ghost.map(([k]) => k),
  };
};

describe('S3-FIFO order', () => {
  it('moves entries read twice from S to M, ghosts the rest, and admits ghosts to M', () => {
    const s3 = new S3FifoPolicy({ maxWeight: 10 }); // S holds 10% = 1
    for (let i = 0; i < 10; i++) s3.set(`k${i}`, forever, 0);
    s3.get('k0', 0);
    s3.get('k0', 0); // freq 2
    s3.get('k1', 0); // freq 1
    // S is over 10%: k0 (freq 2) moves to M, k1 (freq 1) is evicted into G.
    expect(s3.set('x', forever, 0)).toEqual(['k1']);
    expect(queues(s3).main).toEqual(['k00']);
    expect(queues(s3).ghost).toEqual(['k1']);
    // k1 is in G: it enters M directly; S gives up its oldest (k2).
    expect(s3.set('k1', forever, 0)).toEqual(['k2']);
    expect(queues(s3).main).toEqual(['k00', 'k10']);
    expect(queues(s3).ghost).toEqual(['k2']);
  });

  it('M reinserts entries with freq > 0 with one less, and evicts one at 0', () => {
    const s3 = new S3FifoPolicy({ maxWeight: 4 });
    for (const k of ['a', 'b', 'c', 'd']) {
      s3.set(k, forever, 0);
      s3.get(k, 0);
      s3.get(k, 0);
    }
    // All of S was read twice: it moves to M with counts cleared, then M evicts a.
    expect(s3.set('e', forever, 0)).toEqual(['a']);
    s3.get('b', 0);
    expect(s3.set('f', forever, 0)).toEqual(['e']); // S is at 10%+: e (freq 0) to G
    expect(s3.set('g', forever, 0)).toEqual(['f']);
    expect(s3.set('e', forever, 0)).toEqual(['g']); // e from G to M
    expect(queues(s3).main).toEqual(['b1', 'c0', 'd0', 'e0']);
    // S is empty: M's head b has freq 1 (reinserted with 0), then c goes.
    expect(s3.set('h', forever, 0)).toEqual(['c']);
    expect(queues(s3).main).toEqual(['d0', 'e0', 'b0']);
  });

  it('evicts from M after moving S to it when M was empty (fast-check regression)', () => {
    // S is under 10% (1 of 17) and M is empty; the only entry was read twice.
    const s3 = new S3FifoPolicy({ maxWeight: 17, maxEntries: 1 });
    s3.set('i', forever, 0);
    s3.get('i', 0);
    s3.get('i', 0);
    expect(s3.set('e', forever, 0)).toEqual(['i']);
  });

  it('caps the frequency at 3 (2 bits)', () => {
    const s3 = new S3FifoPolicy({ maxWeight: 1 });
    s3.set('a', forever, 0);
    for (let i = 0; i < 10; i++) s3.get('a', 0);
    expect((s3.snapshot().state as Queues).small[0]?.[1]).toBe(3);
  });
});

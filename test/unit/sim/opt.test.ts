/**
 * Belady's OPT (src/sim/opt.ts) on sequences worked by hand, against an
 * exhaustive search over every eviction choice on tiny traces, and never
 * below LRU. Demand paging, always admit (the traces README's convention).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactTrace } from '../../../src/sim/compact-trace.ts';
import { NEVER, nextUses, simulateOpt } from '../../../src/sim/opt.ts';
import { replayPolicy } from '../../../src/sim/replay.ts';

const optHits = (keys: string, capacity: number): number =>
  simulateOpt(compactTrace(keys.split(' ')), capacity).hits;

describe('next uses', () => {
  it('points each request at the next request for its key', () => {
    //              a  b  a      c      b
    expect([...nextUses(compactTrace(['a', 'b', 'a', 'c', 'b']))]).toEqual([
      2,
      4,
      NEVER,
      NEVER,
      NEVER,
    ]);
  });
});

describe('OPT by count, worked by hand', () => {
  it('evicts the furthest next use: the textbook reference string', () => {
    // Silberschatz's string with 3 frames: OPT takes 9 faults, so 11 hits of 20.
    //  7 m [7]        0 m [7 0]      1 m [7 0 1]
    //  2 m evict 7 (next at 17; 0 at 4, 1 at 13)        [2 0 1]
    //  0 h            3 m evict 1 (13; 2 at 8, 0 at 6)  [2 0 3]
    //  0 h            4 m evict 0 (10; 2 at 8, 3 at 9)  [2 4 3]
    //  2 h  3 h       0 m evict 4 (never)               [2 0 3]
    //  3 h  2 h       1 m evict 3 (never)               [2 0 1]
    //  2 h  0 h  1 h  7 m evict 2 (never)               [7 0 1]
    //  0 h  1 h
    const keys = '7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1';
    expect(optHits(keys, 3)).toBe(11);
  });

  it('always admits (demand paging), even a key never requested again', () => {
    // Capacity 1, a b a: b must come in and push a out, so the second a misses.
    // (A bypassing OPT would keep a and hit once; the README's OPT does not bypass.)
    expect(optHits('a b a', 1)).toBe(0);
    // Capacity 2, a b c a b: c evicts b (next at 4, a at 3); a hits; b misses. 1 hit.
    expect(optHits('a b c a b', 2)).toBe(1);
    // Capacity 2, a b c b a c: c evicts a (next 4; b at 3): [b c]; b hits;
    // a evicts b (never again): [a c]; c hits. 2 hits.
    expect(optHits('a b c b a c', 2)).toBe(2);
  });

  it('hits every repeat when everything fits, and nothing with no room', () => {
    expect(optHits('a b c a b c d a', 4)).toBe(4);
    expect(optHits('a b c a b c d a', 100)).toBe(4);
    expect(optHits('a a a', 0)).toBe(0);
  });

  it('on a loop longer than the cache, still hits (LRU would not)', () => {
    // a b c d looped 3 times (positions 0..11), capacity 2:
    //   0 a m [a]     1 b m [a b]
    //   2 c m evict b (next 5; a at 4)   [a c]
    //   3 d m evict c (next 6; a at 4)   [a d]
    //   4 a h (a next 8, d next 7)
    //   5 b m evict a (8 > 7)            [b d]
    //   6 c m evict b (next 9; d at 7)   [c d]
    //   7 d h (d next 11, c next 10)
    //   8 a m evict d (11 > 10)          [c a]
    //   9 b m evict a (never)            [c b]
    //  10 c h        11 d m: 3 hits
    const keys = 'a b c d a b c d a b c d';
    expect(optHits(keys, 2)).toBe(3);
    expect(bruteForceHits(keys.split(' '), 2)).toBe(3);
    expect(replayPolicy('lru', compactTrace(keys.split(' ')), 2).hits).toBe(0);
  });
});

describe('OPT by size (bytes)', () => {
  const run = (keys: string[], sizes: number[], capacity: number) =>
    simulateOpt(compactTrace(keys, sizes), capacity);

  it('evicts furthest next uses until the newcomer fits', () => {
    // Capacity 10: a(4) b(4) in (8); c(4) must evict one: b (next at 4) goes, a
    // stays (next at 3): a hits; b misses and evicts c or a (both never again).
    const r = run(['a', 'b', 'c', 'a', 'b'], [4, 4, 4, 4, 4], 10);
    expect(r).toMatchObject({ hits: 1, requests: 5, bytes: 20, byteHits: 4 });
    // Capacity 10: a(6) then b(5) cannot share: a goes although it is requested next.
    expect(run(['a', 'b', 'a'], [6, 5, 6], 10).hits).toBe(0);
  });

  it('never admits what is larger than the cache, and keeps the others', () => {
    const r = run(['a', 'x', 'a', 'x'], [3, 11, 3, 11], 10);
    expect(r).toMatchObject({ hits: 1, bytes: 28, byteHits: 3 });
  });

  it("counts the hit request's own size as hit bytes", () => {
    const r = run(['a', 'a'], [5, 7], 10);
    expect(r).toMatchObject({ hits: 1, bytes: 12, byteHits: 7 });
  });
});

/**
 * The best number of hits any demand-paging cache can get: tries every
 * choice of victim at every miss of a full cache.
 */
function bruteForceHits(keys: string[], capacity: number): number {
  const best = (i: number, resident: string[]): number => {
    if (i === keys.length) return 0;
    const key = keys[i] as string;
    if (resident.includes(key)) return 1 + best(i + 1, resident);
    if (capacity === 0) return best(i + 1, resident);
    if (resident.length < capacity) return best(i + 1, [...resident, key]);
    let most = 0;
    for (let v = 0; v < resident.length; v++) {
      const next = resident.map((r, j) => (j === v ? key : r));
      most = Math.max(most, best(i + 1, next));
    }
    return most;
  };
  return best(0, []);
}

describe('OPT properties', () => {
  const trace = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 11 });

  it('equals an exhaustive search over every eviction choice (tiny traces)', () => {
    fc.assert(
      fc.property(trace, fc.integer({ min: 0, max: 3 }), (keys, capacity) => {
        expect(simulateOpt(compactTrace(keys), capacity).hits).toBe(bruteForceHits(keys, capacity));
      }),
      { numRuns: 300 },
    );
  });

  it('never hits less than LRU, nor more than the repeats', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }).map(String), { maxLength: 300 }),
        fc.integer({ min: 1, max: 20 }),
        (keys, capacity) => {
          const t = compactTrace(keys);
          const opt = simulateOpt(t, capacity).hits;
          expect(opt).toBeGreaterThanOrEqual(replayPolicy('lru', t, capacity).hits);
          expect(opt).toBeLessThanOrEqual(t.length - t.keyCount);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sized OPT with every size 1 decides exactly like count OPT', () => {
    fc.assert(
      fc.property(trace, fc.integer({ min: 0, max: 4 }), (keys, capacity) => {
        const count = simulateOpt(compactTrace(keys), capacity);
        const sized = simulateOpt(
          compactTrace(
            keys,
            keys.map(() => 1),
          ),
          capacity,
        );
        expect(sized.hits).toBe(count.hits);
      }),
      { numRuns: 200 },
    );
  });
});

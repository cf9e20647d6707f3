/**
 * RankBuckets (the frequency-ordered policies' buckets) and RankHeap (the
 * buckets' order, and GDSF's slots): both agree with a plain sorted model
 * under random operations, and RankBuckets offers both ends of the lowest
 * bucket as LFU and CR-LFU need.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryTable, NONE } from '../../../src/policy/entry-table.ts';
import { RankBuckets } from '../../../src/policy/rank-buckets.ts';
import { RankHeap } from '../../../src/policy/rank-heap.ts';

const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };

function setup(...keys: string[]) {
  const table = new EntryTable();
  const slots = keys.map((k) => table.alloc(k, forever));
  return { table, buckets: new RankBuckets(table), slots };
}

describe('RankBuckets', () => {
  it('offers both ends of the lowest bucket, at any re-entry rank', () => {
    const { table, buckets: b, slots } = setup('x', 'y', 'z');
    const [x, y, z] = slots as [number, number, number];
    const key = (slot: number) => table.keys[slot];
    b.add(x, 3);
    b.add(y, 1);
    b.add(z, 1);
    expect(key(b.oldest(b.lowest()))).toBe('y');
    expect(key(b.newest(b.lowest()))).toBe('z');
    b.move(y, 2);
    expect(key(b.oldest(b.lowest()))).toBe('z');
    b.remove(z);
    expect(b.rank[z]).toBe(1); // a ghost keeps its rank
    expect(key(b.oldest(b.lowest()))).toBe('y'); // rank 2 now
    b.move(y, 3);
    b.move(y, 4); // x at 3 is the lowest
    expect(key(b.newest(b.lowest()))).toBe('x');
    expect(b.ranks()).toEqual([3, 4]);
    b.remove(x);
    b.remove(y);
    expect(b.oldest(b.lowest())).toBe(NONE);
    expect(b.ranks()).toEqual([]);
  });

  it('keeps one bucket per rank in use while a hot key climbs', () => {
    const { table, buckets: b, slots } = setup('hot', 'cold');
    const [hot, cold] = slots as [number, number];
    b.add(hot, 1);
    b.add(cold, 1);
    for (let i = 2; i <= 100_000; i++) b.move(hot, i);
    expect(table.keys[b.oldest(b.lowest())]).toBe('cold');
    expect(b.ranks()).toEqual([1, 100_000]);
  });

  it('orders like a list sorted by (rank, order of arrival) under random operations', () => {
    const rankArb = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(0.5, 2.25, 1e12));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('add', 'move', 'remove'), fc.nat(7), rankArb), {
          maxLength: 200,
        }),
        (ops) => {
          const { buckets: b, slots } = setup('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
          // The model: [slot, rank, arrival] of every slot in a bucket.
          let model: [number, number, number][] = [];
          let arrival = 0;
          for (const [op, i, rank] of ops) {
            const slot = slots[i] as number;
            const inModel = model.some(([s]) => s === slot);
            if (op === 'remove' || (op === 'move' && inModel)) {
              if (op === 'remove') b.remove(slot);
              else b.move(slot, rank);
              model = model.filter(([s]) => s !== slot);
              if (op === 'move') model.push([slot, rank, arrival++]);
            } else if (!inModel) {
              b.add(slot, rank);
              model.push([slot, rank, arrival++]);
            }
            const sorted = [...model].sort((p, q) => p[1] - q[1] || p[2] - q[2]);
            const lowestRank = sorted[0]?.[1];
            const lowest = sorted.filter(([, r]) => r === lowestRank);
            expect(b.oldest(b.lowest())).toBe(lowest[0]?.[0] ?? NONE);
            expect(b.newest(b.lowest())).toBe(lowest.at(-1)?.[0] ?? NONE);
            expect(b.ranks()).toEqual([...new Set(sorted.map(([, r]) => r))]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('RankHeap', () => {
  it('agrees with a sorted list of (rank, seq) under pushes, updates and removals', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('push', 'update', 'remove', 'replaceRoot'),
            fc.nat(40),
            fc.integer({ min: 0, max: 5 }),
          ),
          { maxLength: 300 },
        ),
        (ops) => {
          const heap = new RankHeap();
          const model = new Map<number, [number, number]>();
          let seq = 0;
          const order = () =>
            [...model].sort((p, q) => p[1][0] - q[1][0] || p[1][1] - q[1][1]).map(([id]) => id);
          for (const [op, id, rank] of ops) {
            if (op === 'push' && !model.has(id)) {
              heap.push(id, rank, seq);
              model.set(id, [rank, seq++]);
            } else if (op === 'update' && model.has(id)) {
              heap.update(id, rank, seq);
              model.set(id, [rank, seq++]);
            } else if (op === 'remove' && model.has(id)) {
              heap.remove(id);
              model.delete(id);
            } else if (op === 'replaceRoot' && model.size > 0 && !model.has(id)) {
              model.delete(order()[0] as number);
              heap.replaceRoot(id, rank, seq);
              model.set(id, [rank, seq++]);
            }
            const sorted = order();
            expect(heap.size).toBe(model.size);
            expect(heap.peek()).toBe(sorted[0] ?? NONE);
            expect(heap.peekExcept(heap.peek())).toBe(sorted[1] ?? NONE);
            for (const [i, [r, q]] of model) {
              expect(heap.rank(i)).toBe(r);
              expect(heap.seq(i)).toBe(q);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

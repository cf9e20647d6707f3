/** IntMap agrees with a Map under random sets and deletes (backward-shift deletion included). */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { IntMap } from '../../../src/policy/int-map.ts';

it('behaves like a Map<number, number>', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 1000 })),
        { maxLength: 300 },
      ),
      (ops) => {
        const ours = new IntMap(4);
        const model = new Map<number, number>();
        for (const [isSet, key, value] of ops) {
          if (isSet) {
            ours.set(key, value);
            model.set(key, value);
          } else {
            ours.delete(key);
            model.delete(key);
          }
          expect(ours.size).toBe(model.size);
        }
        for (let key = 0; key <= 60; key++) expect(ours.get(key)).toBe(model.get(key) ?? -1);
        const values: number[] = [];
        ours.forEachValue((v) => values.push(v));
        expect(values.sort()).toEqual([...model.values()].sort());
      },
    ),
    { numRuns: 300 },
  );
});

it('handles keys up to 2^30 - 1', () => {
  const m = new IntMap(2);
  m.set(2 ** 30 - 1, 5);
  m.set(0, 6);
  expect(m.get(2 ** 30 - 1)).toBe(5);
  expect(m.get(0)).toBe(6);
});

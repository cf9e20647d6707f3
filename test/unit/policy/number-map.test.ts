/** NumberMap agrees with a Map under random sets and deletes, for integer and fractional keys. */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { NumberMap } from '../../../src/policy/number-map.ts';

const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.integer({ min: 2 ** 31 - 3, max: 2 ** 31 + 3 }),
  fc.constantFrom(2 ** 53 - 1, 1e15, 0.1, 0.25, 1 / 3, 1000.000244140625, -7, -0.5),
  fc.integer({ min: 0, max: 30 }).map((n) => 5 + n / 1024),
);

it('behaves like a Map<number, number>', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), keyArb, fc.integer({ min: 0, max: 1000 })), {
        maxLength: 300,
      }),
      (ops) => {
        const ours = new NumberMap(4);
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
        for (const [, key] of ops) expect(ours.get(key)).toBe(model.get(key) ?? -1);
        expect(ours.keyList().sort((a, b) => a - b)).toEqual(
          [...model.keys()].sort((a, b) => a - b),
        );
      },
    ),
    { numRuns: 300 },
  );
});

it('treats -0 and 0 as one key, as a Map does', () => {
  const m = new NumberMap(2);
  m.set(-0, 3);
  expect(m.get(0)).toBe(3);
  m.set(0, 4);
  expect(m.size).toBe(1);
  m.delete(-0);
  expect(m.get(0)).toBe(-1);
});

it('spreads many consecutive integers and close fractions without losing any', () => {
  const m = new NumberMap(16);
  for (let i = 0; i < 5000; i++) m.set(1e6 + i, i);
  for (let i = 0; i < 5000; i++) m.set(7 + i / 4096, 5000 + i);
  for (let i = 0; i < 5000; i += 7) expect(m.get(1e6 + i)).toBe(i);
  for (let i = 0; i < 5000; i += 7) expect(m.get(7 + i / 4096)).toBe(5000 + i);
  expect(m.size).toBe(10000);
});

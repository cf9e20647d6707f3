/** ExpiryQueue: soonest first, ties by key, lazy deletion. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpiryQueue } from '../../../src/policy/expiry-queue.ts';

describe('ExpiryQueue', () => {
  it('pops expired keys soonest first, ties by key whatever the insertion order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 5 })),
          {
            selector: ([k]) => k,
            maxLength: 40,
          },
        ),
        (items) => {
          const q = new ExpiryQueue();
          for (const [k, t] of items) q.set(k, t);
          const expected = [...items]
            .sort(([ka, ta], [kb, tb]) => ta - tb || (ka < kb ? -1 : ka > kb ? 1 : 0))
            .map(([k]) => k);
          expect(q.popExpired(5)).toEqual(expected);
        },
      ),
    );
  });

  it('ignores deleted and superseded entries and never queues Infinity', () => {
    const q = new ExpiryQueue();
    q.set('a', 1);
    q.set('b', 2);
    q.set('a', 10);
    q.delete('b');
    q.set('c', Number.POSITIVE_INFINITY);
    expect(q.size).toBe(1);
    expect(q.peekExpired(5)).toBeUndefined();
    expect(q.popExpired(10)).toEqual(['a']);
  });
});

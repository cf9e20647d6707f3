/** The TinyLFU sketch: never underestimates, doorkeeper first, aging halves, growth keeps counts. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrequencySketch } from '../../../src/policy/frequency-sketch.ts';
import { hashKey } from '../../../src/policy/key-hash.ts';

describe('FrequencySketch', () => {
  it('never estimates below the true count within an aging period (up to the 4-bit cap)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 16 })),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 16, max: 256 }),
        (counts, expected) => {
          const sketch = new FrequencySketch(expected);
          const truth = new Map<string, number>();
          for (const [key, n] of counts) {
            for (let i = 0; i < n; i++) sketch.increment(hashKey(key));
            truth.set(key, (truth.get(key) ?? 0) + n);
          }
          // Stay inside one period so no aging has happened.
          fc.pre(sketch.sampleCount === [...truth.values()].reduce((a, b) => a + b, 0));
          for (const [key, n] of truth) {
            expect(sketch.frequency(hashKey(key))).toBeGreaterThanOrEqual(Math.min(n, 16));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts a first access in the doorkeeper only, later ones in the counters', () => {
    const sketch = new FrequencySketch(1024);
    const h = hashKey('a');
    expect(sketch.frequency(h)).toBe(0);
    sketch.increment(h);
    expect(sketch.frequency(h)).toBe(1);
    const saved = sketch.save();
    // The counters are still all zero: only doorkeeper bits are set.
    expect(new Set(atob(saved.table))).toEqual(new Set(['\0']));
    expect(new Set(atob(saved.door)).size).toBeGreaterThan(1);
    sketch.increment(h);
    sketch.increment(h);
    expect(sketch.frequency(h)).toBe(3);
  });

  it('saturates at 15 counted accesses plus the doorkeeper', () => {
    const sketch = new FrequencySketch(64);
    const h = hashKey('hot');
    for (let i = 0; i < 40; i++) sketch.increment(h);
    expect(sketch.frequency(h)).toBe(16);
  });

  it('aging halves every counter and clears the doorkeeper', () => {
    const sketch = new FrequencySketch(1024);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    keys.forEach((key, i) => {
      for (let n = 0; n < 2 * i + 3; n++) sketch.increment(hashKey(key));
    });
    const before = keys.map((key) => sketch.frequency(hashKey(key)));
    const samples = sketch.sampleCount;
    sketch.age();
    const after = keys.map((key) => sketch.frequency(hashKey(key)));
    expect(after).toEqual(before.map((f) => (f - 1) >>> 1));
    expect(sketch.sampleCount).toBe(samples >>> 1);
  });

  it('ages by itself after W = 10 x capacity recorded accesses', () => {
    const sketch = new FrequencySketch(16);
    expect(sketch.samplePeriod).toBe(160);
    const h = hashKey('steady');
    for (let i = 0; i < 11; i++) sketch.increment(h);
    expect(sketch.frequency(h)).toBe(11);
    for (let i = 0; i < 160 - 11; i++) sketch.increment(hashKey(`noise-${i}`));
    // The 160th access aged the sketch: 10 counted accesses became 5, the doorkeeper bit is gone.
    expect(sketch.sampleCount).toBe(80);
    expect(sketch.frequency(h)).toBe(5);
  });

  it('keeps every estimate when it grows', () => {
    const sketch = new FrequencySketch(16);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    keys.forEach((key, i) => {
      for (let n = 0; n <= i % 7; n++) sketch.increment(hashKey(key));
    });
    const before = keys.map((key) => sketch.frequency(hashKey(key)));
    sketch.ensureCapacity(1000);
    expect(sketch.capacity).toBe(1024);
    expect(keys.map((key) => sketch.frequency(hashKey(key)))).toEqual(before);
  });

  it('restores from a snapshot with the same estimates', () => {
    const sketch = new FrequencySketch(64);
    for (let i = 0; i < 300; i++) sketch.increment(hashKey(`k${i % 37}`));
    const copy = FrequencySketch.load(JSON.parse(JSON.stringify(sketch.save())));
    for (let i = 0; i < 37; i++) {
      expect(copy.frequency(hashKey(`k${i}`))).toBe(sketch.frequency(hashKey(`k${i}`)));
    }
    expect(copy.sampleCount).toBe(sketch.sampleCount);
  });
});

/** The replication-lag benchmark's histogram quantile (scripts/bench/regions.ts), as Prometheus interpolates. */
import { describe, expect, it } from 'vitest';
import { histogramQuantile } from '../../scripts/bench/regions.ts';

const cumulative = (pairs: [number, number][]) => new Map<number, number>(pairs);

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket holding the rank', () => {
    // 10 observations ≤ 0.01, 10 more in (0.01, 0.02], none beyond.
    const h = cumulative([
      [0.01, 10],
      [0.02, 20],
      [Number.POSITIVE_INFINITY, 20],
    ]);
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.01, 10);
    expect(histogramQuantile(0.75, h)).toBeCloseTo(0.015, 10);
    expect(histogramQuantile(0.25, h)).toBeCloseTo(0.005, 10);
  });

  it('answers the last finite bound for ranks in +Inf, and 0 for an empty histogram', () => {
    const h = cumulative([
      [0.01, 1],
      [Number.POSITIVE_INFINITY, 10],
    ]);
    expect(histogramQuantile(0.99, h)).toBe(0.01);
    expect(histogramQuantile(0.5, cumulative([[Number.POSITIVE_INFINITY, 0]]))).toBe(0);
  });
});

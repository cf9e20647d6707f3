/**
 * Golden values on the LIRS paper's small traces (glimpse, multi2, sprite,
 * loop), plus OPT figures published by cache2k-benchmark at sizes the
 * reference table does not list.
 */
import { describe, expect, it } from 'vitest';
import { simulateOpt } from '../../../src/sim/opt.ts';
import { registerGoldenRows, TOLERANCE } from './golden.ts';
import { sharedTrace } from './helpers.ts';

registerGoldenRows({
  glimpse: [500, 1000, 2000],
  multi2: [600, 1800, 3000],
  sprite: [100, 400, 1000],
  loop: [256, 512],
});

describe('published OPT figures (cache2k-benchmark, via the traces README)', () => {
  it('glimpse at 100: 461 hits (7.66%)', async () => {
    expect(simulateOpt(await sharedTrace('glimpse'), 100).hits).toBe(461);
  });

  // Published to one decimal (sprite) or truncated to 0.01 (multi2, given in ‱).
  it.each([
    ['sprite', 200, 68.9, 0.05],
    ['sprite', 600, 89.9, 0.05],
    ['sprite', 800, 92.2, 0.05],
    ['multi2', 100, 35.38, TOLERANCE],
  ] as const)('%s at %i: %f%%', async (trace, size, percent, tolerance) => {
    const r = simulateOpt(await sharedTrace(trace), size);
    expect(Math.abs((100 * r.hits) / r.requests - percent)).toBeLessThanOrEqual(tolerance);
  });
});

/**
 * The shared traces and the hit ratios they are known to give, transcribed
 * from ../shared/traces/README.md ("Reference values computed on these exact
 * files" and "Published hit ratios"). The golden values (LRU, ARC, LIRS with
 * 1% HIR, OPT with demand paging) come from the traces' reference simulator,
 * which reproduces every published LRU and OPT number exactly; they validate
 * this simulator to ±0.05 points (test/unit/sim/golden-*.test.ts).
 *
 * @example
 * REFERENCE_ROWS.filter((row) => row.trace === 'oltp').map((row) => row.golden.lru)
 */
import type { TraceFormat } from './trace-reader.ts';

export interface TraceSpec {
  /** Files under the traces directory, read one after another as one trace. */
  files: string[];
  format: TraceFormat;
}

/** Every trace of the table, by the name the traces README uses. */
export const TRACES: Record<string, TraceSpec> = {
  oltp: { files: ['oltp.trace.gz'], format: 'arc' },
  p12: { files: ['p12.trace.gz'], format: 'arc' },
  'scarab-recs': { files: ['scarab-recs.trace.gz'], format: 'lines' },
  loop: { files: ['loop.trace.gz'], format: 'lines' },
  glimpse: { files: ['glimpse.trace.gz'], format: 'lines' },
  sprite: { files: ['sprite.trace.gz'], format: 'lines' },
  multi2: { files: ['multi2.trace.gz'], format: 'lines' },
  corda: { files: ['corda.trace.gz'], format: 'lines' },
  // The adaptivity stress test of Caffeine/theine: 776,904 requests.
  'corda+loop+corda': {
    files: ['corda.trace.gz', 'loop.trace.gz', 'corda.trace.gz'],
    format: 'lines',
  },
  'orm-busy': { files: ['orm-busy.trace.gz'], format: 'lines' },
  // Count-based, key = id (sizes ignored), as in the reference table.
  'cdn-sized': { files: ['cdn-sized.trace.gz'], format: 'tis' },
};

/** Hit ratios in percent, as the README prints them. */
export interface GoldenValues {
  lru: number;
  arc: number;
  /** Null where the reference simulator gave none (p12 at 524,288). */
  lirs: number | null;
  opt: number;
}

export interface ReferenceRow {
  trace: string;
  /** Cache size in entries. */
  size: number;
  golden: GoldenValues;
  /** Published figures for this row, by label, in percent (the README's citations). */
  published: Record<string, number>;
}

const row = (
  trace: string,
  size: number,
  [lru, arc, lirs, opt]: [number, number, number | null, number],
  published: Record<string, number> = {},
): ReferenceRow => ({ trace, size, golden: { lru, arc, lirs, opt }, published });

/** Sources: ARC paper Tables IV/V; cache2k-benchmark; dw-cache; Caffeine issue #106. */
export const REFERENCE_ROWS: readonly ReferenceRow[] = [
  row('oltp', 1000, [32.83, 38.95, 34.8, 53.61], { LRU: 32.83, ARC: 38.93, OPT: 53.61 }),
  row('oltp', 2000, [42.47, 46.08, 42.51, 60.4], { LRU: 42.47, ARC: 46.08, OPT: 60.4 }),
  row('oltp', 5000, [53.65, 55.25, 52.8, 68.27], { LRU: 53.65, ARC: 55.25, OPT: 68.27 }),
  row('oltp', 10000, [60.7, 61.87, 60.35, 73.02], { LRU: 60.7, ARC: 61.87, OPT: 73.02 }),
  row('oltp', 15000, [64.63, 65.4, 63.99, 75.14], { LRU: 64.63, ARC: 65.4, OPT: 75.14 }),
  row('p12', 4096, [5.61, 5.76, 1.39, 11.73], { LRU: 5.61, ARC: 5.76 }),
  row('p12', 32768, [8.93, 15.93, 14.2, 30.74], { LRU: 8.93, ARC: 15.94 }),
  row('p12', 131072, [29.22, 38.67, 40.29, 55.21], { LRU: 29.21, ARC: 38.68 }),
  row('p12', 524288, [60.91, 63.56, null, 72.82], { LRU: 60.91, ARC: 63.56 }),
  row('scarab-recs', 25000, [60.13, 61.99, 61.76, 74.79]),
  row('scarab-recs', 50000, [69.15, 69.75, 68.96, 78.63]),
  row('scarab-recs', 100000, [75.91, 76.08, 74.32, 79.25], {
    LRU: 75.91,
    ARC: 76.09,
    LIRS: 74.3,
    LFU: 73.95,
    'W-TinyLFU 1%': 71.57,
    'adaptive W-TinyLFU': 72.08,
    OPT: 79.25,
  }),
  row('loop', 256, [0, 0, 24.97, 25.22]),
  row('loop', 512, [0, 0, 50.05, 50.54]),
  row('glimpse', 500, [0.95, 1.38, 33.6, 34.26]),
  row('glimpse', 1000, [11.21, 21.31, 50.72, 53.13], { LRU: 11.2 }),
  row('glimpse', 2000, [57.41, 57.41, 57.96, 57.96], { LRU: 57.4 }),
  row('sprite', 100, [21.58, 25.66, 25.31, 50.8], { OPT: 50.8 }),
  row('sprite', 400, [70.77, 70.02, 69.63, 84.56], { OPT: 84.6 }),
  row('sprite', 1000, [90.64, 89.7, 87.71, 93.24], { OPT: 93.2 }),
  row('multi2', 600, [37.13, 39.84, 52.5, 55.51], { OPT: 55.5 }),
  row('multi2', 1800, [48.49, 50.93, 69.24, 73.13], { OPT: 73.12 }),
  row('multi2', 3000, [71.18, 72.71, 78.12, 78.4]),
  row('corda', 512, [33.33, 33.3, 0.22, 33.33]),
  row('corda+loop+corda', 512, [11.64, 11.64, 32.54, 44.53]),
  row('orm-busy', 625, [70.84, 71.23, 69.41, 81.39]),
  row('orm-busy', 2500, [82.19, 82.35, 79.98, 88.24]),
  row('orm-busy', 10000, [89.49, 89.68, 89.47, 94.41]),
  row('cdn-sized', 1000, [27.95, 30.79, 29.13, 40.25]),
  row('cdn-sized', 5000, [35.71, 39.24, 38.53, 45.04]),
];

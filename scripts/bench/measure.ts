/**
 * Side-by-side measurement: each series warms up, then the duration is cut
 * into slices the series take in turn (A B B A …); each series' slices are
 * combined into one Measurement, with the share of answers that came from the
 * tier its `Cache-Status` should name.
 */
import { Agent } from 'node:http';
import { progress } from './lifecycle.ts';
import { combine, type LoadResult, type RawLoad, type RequestSpec, runLoad } from './load.ts';
import type { Options } from './options.ts';
import { cacheStatusShape, type Measurement, pct } from './report.ts';
import { type DevWorker, logTail } from './wrangler-dev.ts';

/** A series to measure: which Worker, which requests, which `Cache-Status` it must show. */
export interface Series {
  worker: DevWorker;
  name: string;
  next: (i: number) => RequestSpec;
  expect?: string;
}

/**
 * Measures series side by side: after a warm-up of each, the duration is
 * cut into slices of about a second, and the series take turns slice by
 * slice (A B B A …), so a noisy neighbour or a slow drift weighs on all
 * of them alike instead of on whichever ran at the wrong moment.
 *
 * @example const [get, match] = await measureTogether([strataGetL1, cacheMatch], opts, signal);
 */
export async function measureTogether(
  series: Series[],
  opts: Options,
  signal: AbortSignal,
): Promise<Measurement[]> {
  const agents = series.map(() => new Agent({ keepAlive: true, maxSockets: opts.connections }));
  const runs: RawLoad[][] = series.map(() => []);
  // At least two slices, so even a short run is A B B A rather than A B.
  const slices = Math.max(2, Math.min(10, Math.round(opts.durationS)));
  const sliceMs = (opts.durationS * 1000) / slices;
  progress(
    `measuring ${series.map((s) => s.name).join(' | ')}: ${opts.warmupS} s warm-up each, then ${slices} x ${(sliceMs / 1000).toFixed(1)} s slices in turn…`,
  );
  const run = (k: number, durationMs: number) => {
    const s = series[k] as Series;
    return runLoad({
      origin: s.worker.origin,
      agent: agents[k] as Agent,
      connections: opts.connections,
      durationMs,
      next: s.next,
      signal,
      ...(s.expect ? { tallyBy: cacheStatusShape } : {}),
    });
  };
  try {
    if (opts.warmupS > 0) for (let k = 0; k < series.length; k++) await run(k, opts.warmupS * 1000);
    for (let slice = 0; slice < slices; slice++) {
      const order = series.map((_, k) => k);
      if (slice % 2 === 1) order.reverse();
      for (const k of order) {
        signal.throwIfAborted();
        (runs[k] as RawLoad[]).push(await run(k, sliceMs));
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  signal.throwIfAborted();
  return series.map((s, k) => toMeasurement(s, combine(runs[k] as RawLoad[])));
}

/** One series' combined load as a Measurement, logged on one progress line. */
function toMeasurement(s: Series, result: LoadResult): Measurement {
  const sample = s.next(0);
  const m: Measurement = {
    name: s.name,
    worker: s.worker.label,
    request: `${sample.method} ${sample.path}`,
    result,
  };
  if (s.expect) {
    const expected = s.expect;
    m.expectedCacheStatus = expected;
    const hits = Object.entries(result.tally)
      .filter(([status]) => status.startsWith(expected))
      .reduce((sum, [, n]) => sum + n, 0);
    m.tierHitFraction = result.ok ? hits / result.ok : 0;
  }
  const errors = result.requests - result.ok;
  progress(
    `${s.name.padEnd(22)} ${String(result.ok).padStart(7)} ok  ${result.rps.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${result.latencyMs.p50.toFixed(2)} ms  p99 ${result.latencyMs.p99.toFixed(2)} ms` +
      (m.tierHitFraction !== undefined ? `  ${s.expect}: ${pct(m.tierHitFraction)}` : '') +
      (errors ? `  ERRORS ${errors} (${result.errorSample})` : ''),
  );
  if (errors && result.ok === 0) {
    progress(`--- ${s.worker.logFile} (last lines) ---\n${logTail(s.worker.logFile)}`);
  }
  return m;
}

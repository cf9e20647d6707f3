/**
 * The pure part of `npm run bench -- --purge` (purge.ts): how samples are
 * planned, what a purge body is, and how samples become summaries and the
 * printed table. No I/O, so it is unit-tested (test/unit/bench-purge.test.ts).
 */
import { type LatencySummary, summarize } from './load.ts';

/** Regions of the benchmark's cluster. */
export const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];
/** Poll interval of a region during a sample. */
export const POLL_MS = 2;
/** Strata's default `PURGE_FEED_MS` (src/env.ts). */
export const DEFAULT_FEED_MS = 1000;

export const PURGE_KINDS = ['tag', 'key', 'prefix'] as const;
export type PurgeKind = (typeof PURGE_KINDS)[number];

/** The issue's target for a purge to be gone in every local region, at p99. */
export const TARGET_P99_MS = 150;
/**
 * Sample `i`'s purge kind and accepting region: kinds in turn, and the region
 * shifted by one every full turn of kinds, so every (kind, region) pair
 * occurs once in each `kinds × regions` samples.
 *
 * @example planSample(3, ['a', 'b', 'c']) // { kind: 'tag', region: 'b' }
 */
export function planSample(
  i: number,
  regions: readonly string[],
): { kind: PurgeKind; region: string } {
  const k = PURGE_KINDS.length;
  return {
    kind: PURGE_KINDS[i % k] as PurgeKind,
    region: regions[(i + Math.floor(i / k)) % regions.length] as string,
  };
}

/**
 * Sample `i`'s key, its tag and the body of a purge of `kind` that removes
 * exactly that key (the prefix `s<i>/` names no other sample's key).
 *
 * @example purgeOf('prefix', 'ns', 7).body // { namespace: 'ns', prefixes: ['s7/'] }
 */
export function purgeOf(
  kind: PurgeKind,
  namespace: string,
  i: number,
): { key: string; tag: string; body: Record<string, unknown> } {
  const key = `s${i}/item`;
  const tag = `t${i}`;
  const selector = { tag: { tags: [tag] }, key: { keys: [key] }, prefix: { prefixes: [`s${i}/`] } };
  return { key, tag, body: { namespace, ...selector[kind] } };
}

/**
 * The tier that answered, from `Cache-Status` (RFC 9211: the first member with `hit`).
 *
 * @example answeringTier('strata-l2; hit; ttl=59, strata-l1; fwd=miss; stored') // 'strata-l2'
 */
export function answeringTier(cacheStatus: string | null): string | null {
  const hit = (cacheStatus ?? '').split(',').find((m) => /;\s*hit\b/.test(m));
  return hit ? (hit.split(';')[0] as string).trim() : null;
}

/** A series' latencies with the samples that never completed (null) counted apart. */
export type SeriesSummary = LatencySummary & { samples: number; missed: number };

/**
 * Percentiles (load.ts `summarize`, nearest rank) of the completed samples.
 *
 * @example seriesSummary([10, null, 30]) // { samples: 3, missed: 1, p50: 10, max: 30, … }
 */
export function seriesSummary(ms: (number | null)[]): SeriesSummary {
  const done = ms.filter((v): v is number => v !== null);
  return { ...summarize(done), samples: ms.length, missed: ms.length - done.length };
}

/**
 * Whether a p99 meets the target; never when a sample was missed or nothing was measured.
 *
 * @example meetsTarget({ p99: 120, samples: 60, missed: 0 }, 150) // true
 */
export function meetsTarget(
  s: Pick<SeriesSummary, 'p99' | 'samples' | 'missed'>,
  targetMs: number,
): boolean {
  return s.samples > 0 && s.missed === 0 && s.p99 < targetMs;
}

/** One region's view of a sample: ms from the acknowledgement to the first answer wanted. */
export interface RegionSeen {
  ms: number | null;
  /** The tier of the last 200 before it (what kept serving the old state), null if none. */
  lastTier: string | null;
  polls: number;
  /** How long the GET that saw it took: the resolution of `ms`. */
  answerMs: number | null;
}

export interface Sample {
  series: 'purge' | 'write';
  kind?: PurgeKind;
  region: string;
  /** POST /v1/purge → 202, or PUT → 201. */
  ackMs: number;
  /** The slowest region; null when a region missed the bound. */
  ms: number | null;
  /** The slowest region's last GET (the one that saw the wanted answer): how long it took. */
  finalGetMs: number | null;
  regions: Record<string, RegionSeen>;
  /** Regions that went back to the old state on a read right after (should be none). */
  relapsed: string[];
  /** Purges: when each peer's shards had it, ms after the 202 (from the peer's purge status). */
  appliedInPeers?: Record<string, number | null>;
}

export interface SettingResult {
  purgeFeedMs: number;
  purgeFeedMsSet: boolean;
  vars: Record<string, string>;
  loadBefore: number[];
  loadAfter: number[];
  purge: Record<PurgeKind | 'all', SeriesSummary>;
  write: SeriesSummary;
  purgeAck: LatencySummary;
  writeAck: LatencySummary;
  /** The GET that saw the 404 / the new ETag in the slowest region: how long it took. */
  purgeFinalGet: LatencySummary;
  writeFinalGet: LatencySummary;
  /** Non-accepting regions of purge samples: their own time, and what served until the 404. */
  purgePeers: SeriesSummary & { lastFromL1: number; lastFromL2: number };
  /** Non-accepting regions: 202 → their shards had applied the purge (their purge status). */
  purgeApplied: SeriesSummary;
  relapsed: number;
  samples: Sample[];
}

/**
 * A sample from every region's view: done when the slowest region is (pure).
 *
 * @example sampleOf('write', 'a', 14, { a: seenA, b: seenB }, []).ms // the larger of the two
 */
export function sampleOf(
  series: Sample['series'],
  region: string,
  ackMs: number,
  seen: Record<string, RegionSeen>,
  relapsed: string[],
  kind?: PurgeKind,
): Sample {
  const views = Object.values(seen);
  const missed = views.some((v) => v.ms === null);
  const slowest = missed
    ? undefined
    : views.reduce((a, b) => ((b.ms as number) > (a.ms as number) ? b : a));
  return {
    series,
    ...(kind ? { kind } : {}),
    region,
    ackMs,
    ms: slowest?.ms ?? null,
    finalGetMs: slowest?.answerMs ?? null,
    regions: seen,
    relapsed,
  };
}

/** Summaries of one cluster's samples (pure). */
export function settingResult(
  feedMs: number | null,
  vars: Record<string, string>,
  samples: Sample[],
  loadBefore: number[],
  loadAfter: number[],
): SettingResult {
  const purges = samples.filter((s) => s.series === 'purge');
  const writes = samples.filter((s) => s.series === 'write');
  const peers = purges.flatMap((s) =>
    Object.entries(s.regions)
      .filter(([r]) => r !== s.region)
      .map(([, seen]) => seen),
  );
  const byKind = Object.fromEntries(
    PURGE_KINDS.map((k) => [k, seriesSummary(purges.filter((s) => s.kind === k).map((s) => s.ms))]),
  ) as Record<PurgeKind, SeriesSummary>;
  return {
    purgeFeedMs: feedMs ?? DEFAULT_FEED_MS,
    purgeFeedMsSet: feedMs !== null,
    vars,
    loadBefore,
    loadAfter,
    purge: { ...byKind, all: seriesSummary(purges.map((s) => s.ms)) },
    write: seriesSummary(writes.map((s) => s.ms)),
    purgeAck: summarize(purges.map((s) => s.ackMs)),
    writeAck: summarize(writes.map((s) => s.ackMs)),
    purgeFinalGet: summarize(purges.flatMap((s) => (s.finalGetMs === null ? [] : [s.finalGetMs]))),
    writeFinalGet: summarize(writes.flatMap((s) => (s.finalGetMs === null ? [] : [s.finalGetMs]))),
    purgePeers: {
      ...seriesSummary(peers.map((p) => p.ms)),
      lastFromL1: peers.filter((p) => p.lastTier === 'strata-l1').length,
      lastFromL2: peers.filter((p) => p.lastTier === 'strata-l2').length,
    },
    purgeApplied: seriesSummary(purges.flatMap((s) => Object.values(s.appliedInPeers ?? {}))),
    relapsed: samples.reduce((n, s) => n + s.relapsed.length, 0),
    samples,
  };
}

/** The Markdown report of every cluster measured (pure). */
export function purgeTable(
  results: SettingResult[],
  meta: { command: string; commit: string; cpus: number; wallS: number },
): string {
  const ms = (n: number) => n.toFixed(1);
  const feed = (r: SettingResult) =>
    r.purgeFeedMsSet ? `${r.purgeFeedMs}` : `${r.purgeFeedMs} (default)`;
  const row = (r: SettingResult, name: string, s: SeriesSummary) =>
    `| ${feed(r)} | ${name} | ${s.samples} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${s.missed} |`;
  const lines = [
    '',
    `### Purge: 202 → 404 in all ${REGIONS.length} regions, beside a write: 201 → new ETag in all ${REGIONS.length}`,
    '',
    '| PURGE_FEED_MS | series | samples | p50 ms | p99 ms | max ms | not done in 10 s |',
    '|--:|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of results) {
    for (const k of PURGE_KINDS) lines.push(row(r, `purge by ${k}`, r.purge[k]));
    lines.push(
      row(r, '**purge, all kinds**', r.purge.all),
      row(r, '**write (replication)**', r.write),
    );
  }
  lines.push('');
  for (const r of results) {
    const p = r.purge.all;
    const ratio = r.write.p99 > 0 ? `${(p.p99 / r.write.p99).toFixed(2)}×` : 'n/a';
    const verdict = meetsTarget(p, TARGET_P99_MS) ? 'met' : 'NOT met';
    const peers = r.purgePeers;
    const load = (l: number[]) => l.map((n) => n.toFixed(2)).join(' ');
    lines.push(
      `PURGE_FEED_MS ${feed(r)}:`,
      `- target purge p99 < ${TARGET_P99_MS} ms: **${verdict}** (p99 ${ms(p.p99)} ms over ${p.samples} purges${p.missed ? `, ${p.missed} not done in 10 s` : ''}); purge p99 / write p99 = ${ratio}`,
      `- regions that did not accept the purge: gone p50 ${ms(peers.p50)} ms, p99 ${ms(peers.p99)} ms; their shards had applied it p50 ${ms(r.purgeApplied.p50)} ms, p99 ${ms(r.purgeApplied.p99)} ms after the 202 (their purge status, 1 ms resolution); until the 404 they served from L1 in ${peers.lastFromL1} of ${peers.samples - peers.missed} cases, from L2 in ${peers.lastFromL2}`,
      `- the GET that saw the end took p50 ${ms(r.purgeFinalGet.p50)} ms (a 404: L1 and L2 miss, L3 read) for purges, ${ms(r.writeFinalGet.p50)} ms for writes (resolution of the figures above)`,
      `- POST /v1/purge answered 202 in p50 ${ms(r.purgeAck.p50)} ms (p99 ${ms(r.purgeAck.p99)}); PUT 201 in p50 ${ms(r.writeAck.p50)} ms (p99 ${ms(r.writeAck.p99)})`,
      `- load average ${load(r.loadBefore)} before, ${load(r.loadAfter)} after${r.relapsed ? `; ${r.relapsed} reads went back to the old state right after` : ''}`,
      '',
    );
  }
  const perKind = results[0]?.purge.tag.samples ?? 0;
  const all = results[0]?.purge.all.samples ?? 0;
  lines.push(
    `Nearest-rank percentiles${all <= 100 ? ` (with ${perKind} samples per kind and ${all} in all, p99 is the largest)` : ''}. ` +
      `${meta.cpus} CPUs shared by the three regions, redis-server, the L3 server and this poller (one GET in flight per region, ${POLL_MS} ms apart, during a sample).`,
    `Command: \`${meta.command}\` at ${meta.commit}; wall time ${meta.wallS.toFixed(0)} s.`,
    '',
  );
  return lines.join('\n');
}

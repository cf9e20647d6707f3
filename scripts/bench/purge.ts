/**
 * `npm run bench -- --purge`: how long a purge takes to be gone in every
 * region, beside how long a plain write takes to be seen in every region,
 * on this machine.
 *
 * Starts three local regions (scripts/lib/cluster.ts, one `wrangler dev`
 * each, one redis-server behind the L3 server) with L1 on (`L1_MAX_TTL=300`)
 * and `PURGE_FEED_MS` at its default (1000 ms) unless `--feed-ms` adds a
 * second cluster with another value. Anti-entropy is off, as in
 * regions.ts, so it does not compete for the CPU. Every sample starts from
 * the same state: a fresh key written in the first region and read until
 * every region answers it from its own L1 (`Cache-Status: strata-l1; hit`).
 * Then either
 *
 * - **purge**: `POST /v1/purge` in one region, by tag, key or prefix in
 *   turn; from its 202 to the first 404 in the last region to answer one; or
 * - **write**: a PUT of a new value in one region; from its 201 to the
 *   first GET in the last region to serve the new ETag.
 *
 * All three regions are polled at once, each every 2 ms (one request in
 * flight per region), for both kinds of sample, and the two alternate
 * (P W, W P, …) so a drift in the machine's load weighs on both alike. The
 * region that accepts a purge or a write rotates; kinds and accepting
 * regions are crossed so that every pair occurs equally often. A figure
 * can be no finer than the GET that saw the end, so its duration is
 * reported too; so is when each peer's shards had applied the purge (from
 * its `GET /v1/purge/:id`), which separates delivery from reading.
 *
 * A second cluster with `PURGE_FEED_MS=100` (`--feed-ms`) shows whether the
 * isolates' generation feed is what bounds a purge here. Results go to
 * bench-results/bench-purge-<stamp>.json (and latest.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { randomToken, startL3Server } from '../l3-server.ts';
import { type Cluster, startCluster } from '../lib/cluster.ts';
import { startRedis } from '../lib/redis-process.ts';
import { atCleanUp, controller, progress, ROOT, startedAt } from './lifecycle.ts';
import { type LatencySummary, once, summarize } from './load.ts';
import { numberOption } from './options.ts';
import { writeResults } from './results.ts';

export const PURGE_KINDS = ['tag', 'key', 'prefix'] as const;
export type PurgeKind = (typeof PURGE_KINDS)[number];

/** The issue's target for a purge to be gone in every local region, at p99. */
export const TARGET_P99_MS = 150;
/** Strata's default `PURGE_FEED_MS` (src/env.ts). */
const DEFAULT_FEED_MS = 1000;
const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];
const POLL_MS = 2;
/** A sample not complete within this is counted as missed, not as a latency. */
const BOUND_MS = 10_000;
const VALUE_BYTES = 1024;
/** The second cluster's PURGE_FEED_MS: is the default's feed what bounds a purge? */
const SECOND_FEED_MS = 100;

interface PurgeBenchOptions {
  purges: number;
  /** `PURGE_FEED_MS` of each cluster in turn; null = not set (the default). */
  feedMs: (number | null)[];
}

const USAGE = `Usage: npm run bench -- --purge [--purges <n>] [--feed-ms <ms>] [--quick]
  --purges <n>     purges measured, rotated over tag, key and prefix purges and over the
                   accepting region (default 60; 15 with --quick); as many plain writes are
                   measured beside them
  --feed-ms <ms>   PURGE_FEED_MS of a second cluster measured after the first, which always
                   runs with the default (${DEFAULT_FEED_MS} ms); default ${SECOND_FEED_MS}, \`none\` for no
                   second cluster (none with --quick unless given)
  --quick          smoke run: 15 purges, one cluster`;

function parse(argv: string[]): PurgeBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      purge: { type: 'boolean', default: false },
      purges: { type: 'string' },
      'feed-ms': { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = numberOption(USAGE);
  const purges = Math.floor(num('purges', values.purges, values.quick ? 15 : 60, 3, 1000));
  const second = values['feed-ms'] ?? (values.quick ? 'none' : undefined);
  return {
    purges,
    feedMs: second === 'none' ? [null] : [null, num('feed-ms', second, SECOND_FEED_MS, 0, 60_000)],
  };
}

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

/** What a sample waits for in every region, from one answer's status and ETag. */
type Wanted = (status: number, etag: string | null) => boolean;

/** A region's reads, all with the cluster's admin key. */
function client(cluster: Cluster, signal: AbortSignal) {
  const headers = { authorization: `Bearer ${cluster.adminKey}` };
  // Every write gets a new version (its HLC is the ETag): the bytes need not change.
  const value = Buffer.alloc(VALUE_BYTES, 0x61);
  const path = (ns: string, key: string) => `/v1/cache/${ns}/${encodeURIComponent(key)}`;
  const get = (region: string, ns: string, key: string) =>
    once(cluster.url(region), { method: 'GET', path: path(ns, key), headers });
  const put = async (region: string, ns: string, key: string, extra: Record<string, string>) => {
    const t = performance.now();
    const a = await once(cluster.url(region), {
      method: 'PUT',
      path: path(ns, key),
      headers: { ...headers, ...extra },
      body: value,
    });
    const etag = a.headers.get('etag');
    if (a.status !== 201 || !etag)
      throw new Error(`PUT ${ns}/${key} in ${region}: ${a.status} ${a.body}`);
    const at = performance.now();
    return { etag, at, ackMs: at - t };
  };
  const purge = async (region: string, body: Record<string, unknown>) => {
    const t = performance.now();
    const res = await fetch(`${cluster.url(region)}/v1/purge`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(BOUND_MS)]),
    });
    const text = await res.text();
    const at = performance.now();
    const wall = Date.now();
    if (res.status !== 202) throw new Error(`purge in ${region}: ${res.status} ${text}`);
    return { id: (JSON.parse(text) as { id: string }).id, at, wall, ackMs: at - t };
  };

  /**
   * When each peer's own shards had applied the purge (its `GET /v1/purge/:id`),
   * in ms after the 202 (same machine, same clock; 1 ms resolution); null if not known.
   */
  const appliedInPeers = (id: string, acceptor: string, wall: number) =>
    Promise.all(
      REGIONS.filter((r) => r !== acceptor).map(async (r): Promise<[string, number | null]> => {
        const a = await once(cluster.url(r), { method: 'GET', path: `/v1/purge/${id}`, headers });
        if (a.status !== 200) return [r, null];
        const status = JSON.parse(a.body) as { regions: Record<string, { at?: string }> };
        const at = status.regions[r]?.at;
        return [r, at ? Date.parse(at) - wall : null];
      }),
    ).then(Object.fromEntries<number | null>);

  /** Writes the key in the first region, then reads until every region answers it from its own L1 in one round. */
  const holdEverywhere = async (ns: string, key: string, extra: Record<string, string> = {}) => {
    const { etag } = await put(REGIONS[0] as string, ns, key, extra);
    const deadline = performance.now() + 15_000;
    for (;;) {
      const answers = await Promise.all(REGIONS.map((r) => get(r, ns, key)));
      const inL1 = answers.every(
        (a) =>
          a.headers.get('etag') === etag &&
          answeringTier(a.headers.get('cache-status')) === 'strata-l1',
      );
      if (inL1) return;
      if (performance.now() > deadline) {
        const seen = answers.map(
          (a, i) => `${REGIONS[i]} ${a.status} ${a.headers.get('cache-status')}`,
        );
        throw new Error(
          `${ns}/${key} not in every region's L1 within 15 s: ${seen.join('; ')}\n${cluster.output()}`,
        );
      }
      await sleep(5, undefined, { signal });
    }
  };

  /** Polls every region every POLL_MS (one request in flight each) until `wanted` holds there. */
  const pollAll = async (
    ns: string,
    key: string,
    from: number,
    wanted: Wanted,
  ): Promise<Record<string, RegionSeen>> => {
    const views = await Promise.all(
      REGIONS.map(async (region): Promise<RegionSeen> => {
        let lastTier: string | null = null;
        for (let polls = 1; ; polls++) {
          signal.throwIfAborted();
          const sent = performance.now();
          const a = await get(region, ns, key).catch(() => null);
          const at = performance.now();
          if (a && wanted(a.status, a.headers.get('etag')))
            return { ms: at - from, lastTier, polls, answerMs: at - sent };
          if (a?.status === 200) lastTier = answeringTier(a.headers.get('cache-status'));
          if (at - from > BOUND_MS) return { ms: null, lastTier, polls, answerMs: null };
          await sleep(POLL_MS, undefined, { signal });
        }
      }),
    );
    return Object.fromEntries(REGIONS.map((r, i) => [r, views[i] as RegionSeen]));
  };

  /** One more read per region: the regions that went back to the old state. */
  const relapsed = async (ns: string, key: string, wanted: Wanted) => {
    const answers = await Promise.all(REGIONS.map((r) => get(r, ns, key)));
    return REGIONS.filter((_, i) => {
      const a = answers[i];
      return !a || !wanted(a.status, a.headers.get('etag'));
    });
  };

  return { put, purge, appliedInPeers, holdEverywhere, pollAll, relapsed };
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

/** Starts a cluster with `PURGE_FEED_MS` = `feedMs` (null: unset), measures, and stops it. */
async function measureSetting(
  l3: { url: string; token: string },
  opts: PurgeBenchOptions,
  feedMs: number | null,
  signal: AbortSignal,
): Promise<SettingResult> {
  const vars: Record<string, string> = {
    L1_MAX_TTL: '300',
    ANTI_ENTROPY_INTERVAL: '0',
    ...(feedMs === null ? {} : { PURGE_FEED_MS: String(feedMs) }),
  };
  const label =
    feedMs === null ? `PURGE_FEED_MS default (${DEFAULT_FEED_MS})` : `PURGE_FEED_MS=${feedMs}`;
  progress(`starting ${REGIONS.length} regions (wrangler dev each), L1_MAX_TTL=300, ${label}…`);
  const cluster = await startCluster({ regions: REGIONS, l3Url: l3.url, l3Token: l3.token, vars });
  atCleanUp(() => cluster.stop());
  progress(`regions up: ${REGIONS.map((n) => `${n} ${cluster.url(n)}`).join(', ')}`);
  const loadBefore = loadavg();
  const c = client(cluster, signal);
  const run = Date.now().toString(36);
  const purgeNs = `purge-${run}`;
  const writeNs = `write-${run}`;
  const isGone = (status: number) => status === 404;

  const purgeSample = async (i: number): Promise<Sample> => {
    const { kind, region } = planSample(i, REGIONS);
    const { key, tag, body } = purgeOf(kind, purgeNs, i);
    await c.holdEverywhere(purgeNs, key, { 'cache-tag': tag });
    const accepted = await c.purge(region, body);
    const seen = await c.pollAll(purgeNs, key, accepted.at, isGone);
    const relapsed = await c.relapsed(purgeNs, key, isGone);
    return {
      ...sampleOf('purge', region, accepted.ackMs, seen, relapsed, kind),
      appliedInPeers: await c.appliedInPeers(accepted.id, region, accepted.wall),
    };
  };
  const writeSample = async (i: number): Promise<Sample> => {
    const region = REGIONS[i % REGIONS.length] as string;
    const key = `w${i}`;
    await c.holdEverywhere(writeNs, key);
    const written = await c.put(region, writeNs, key, {});
    const isNew = (status: number, etag: string | null) => status === 200 && etag === written.etag;
    const seen = await c.pollAll(writeNs, key, written.at, isNew);
    return sampleOf('write', region, written.ackMs, seen, await c.relapsed(writeNs, key, isNew));
  };

  // Warm-up, not counted: one purge of each kind and as many writes (first DO calls, JIT).
  for (let i = 0; i < PURGE_KINDS.length; i++) {
    await purgeSample(opts.purges + i);
    await writeSample(opts.purges + i);
  }
  const samples: Sample[] = [];
  for (let i = 0; i < opts.purges; i++) {
    signal.throwIfAborted();
    // P W, W P, …: neither kind always runs right after the other.
    if (i % 2 === 0) samples.push(await purgeSample(i), await writeSample(i));
    else samples.push(await writeSample(i), await purgeSample(i));
    if ((i + 1) % 10 === 0 || i + 1 === opts.purges) {
      const p = seriesSummary(samples.filter((s) => s.series === 'purge').map((s) => s.ms));
      const w = seriesSummary(samples.filter((s) => s.series === 'write').map((s) => s.ms));
      progress(
        `${label}: ${i + 1}/${opts.purges} pairs; purge p50 ${p.p50.toFixed(1)} ms max ${p.max.toFixed(1)} ms; ` +
          `write p50 ${w.p50.toFixed(1)} ms max ${w.max.toFixed(1)} ms${p.missed + w.missed ? `; MISSED ${p.missed + w.missed}` : ''}`,
      );
    }
  }
  const loadAfter = loadavg();
  await cluster.stop();
  progress(`${label}: regions stopped`);
  return settingResult(feedMs, vars, samples, loadBefore, loadAfter);
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

function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

export async function runPurgeBench(argv: string[]): Promise<void> {
  const opts = parse(argv);
  const signal = controller.signal;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tmp = mkdtempSync(join(tmpdir(), 'strata-bench-purge-'));
  atCleanUp(async () => rmSync(tmp, { recursive: true, force: true }));
  // Per cluster: ~5-10 s to start, then a pair of samples in well under a second (more on a busy machine).
  const estimateS = opts.feedMs.length * (15 + (opts.purges + PURGE_KINDS.length) * 0.8);
  const budgetS = Math.ceil(estimateS * 2 + 120);
  const watchdog = setTimeout(
    () => controller.abort(new Error(`wall-time budget of ${budgetS} s exceeded`)),
    budgetS * 1000,
  );
  watchdog.unref();
  const loadBefore = loadavg();
  progress(
    `purge bench: ${opts.purges} purges (tag, key, prefix in turn) and ${opts.purges} writes in ${REGIONS.length} regions, ` +
      `PURGE_FEED_MS ${opts.feedMs.map((f) => f ?? `default (${DEFAULT_FEED_MS})`).join(' then ')}; estimated ~${Math.round(estimateS)} s (hard limit ${budgetS} s)`,
  );
  if ((loadBefore[0] ?? 0) > cpus().length * 0.5) {
    progress(
      `warning: load average ${loadBefore.map((n) => n.toFixed(2)).join(' ')} on ${cpus().length} CPUs: ` +
        'something else is running; the figures will be noisy',
    );
  }

  progress('starting redis-server and the L3 server…');
  const redis = await startRedis({ dir: join(tmp, 'redis') });
  atCleanUp(() => redis.stop());
  const token = randomToken();
  const l3 = await startL3Server({ redisUrl: redis.url, token });
  atCleanUp(() => l3.close());

  const results: SettingResult[] = [];
  for (const feedMs of opts.feedMs)
    results.push(await measureSetting({ url: l3.url, token }, opts, feedMs, signal));
  clearTimeout(watchdog);

  const wallS = (performance.now() - startedAt) / 1000;
  const command = `npm run bench -- ${argv.join(' ')}`;
  const commit = commitOf();
  const record = {
    kind: 'purge',
    command,
    commit,
    date: new Date().toISOString(),
    wallS,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadBefore,
      loadAfter: loadavg(),
    },
    options: {
      ...opts,
      regions: REGIONS,
      pollMs: POLL_MS,
      boundMs: BOUND_MS,
      valueBytes: VALUE_BYTES,
    },
    targetP99Ms: TARGET_P99_MS,
    results,
  };
  const file = writeResults(`purge-${stamp}`, record);
  console.log(purgeTable(results, { command, commit, cpus: cpus().length, wallS }));
  progress(`done in ${wallS.toFixed(1)} s; raw numbers in ${relative(ROOT, file)}`);
}

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
import { once } from './load.ts';
import { numberOption } from './options.ts';
import {
  answeringTier,
  DEFAULT_FEED_MS,
  POLL_MS,
  PURGE_KINDS,
  planSample,
  purgeOf,
  purgeTable,
  REGIONS,
  type RegionSeen,
  type Sample,
  type SettingResult,
  sampleOf,
  seriesSummary,
  settingResult,
  TARGET_P99_MS,
} from './purge-report.ts';
import { writeResults } from './results.ts';

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

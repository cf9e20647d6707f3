/**
 * `npm run bench -- --regions 3`: what replication costs, on this machine.
 *
 * Starts a local cluster of N regions (scripts/lib/cluster.ts: one
 * `wrangler dev` each, one shared redis-server behind the L3 server) and,
 * beside it, a single region with no peers. Then:
 *
 * 1. Write latency per consistency level, measured side by side in turns
 *    (measure.ts): the single-region PUT (the baseline), `eventual`,
 *    `quorum`, `strong` from the namespace's home region, and `strong`
 *    forwarded from another region.
 * 2. Replication lag under a steady write load: `--rate` PUTs a second to
 *    the first region over keys every region already holds (so the new
 *    version cannot come from L3); for every `--sample`-th write, both other
 *    regions are polled every 2 ms until they serve it. Lag = first poll that
 *    sees the new ETag − the PUT's acknowledgement, so it over-counts by up
 *    to one poll interval.
 *
 * L1 is off (`L1_MAX_TTL=0`) so reads show L2, and anti-entropy is off so it
 * does not compete for the CPU. Results go to bench-results/regions-<stamp>.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { randomToken, startL3Server } from '../l3-server.ts';
import { type Cluster, startCluster } from '../lib/cluster.ts';
import { startRedis } from '../lib/redis-process.ts';
import { atCleanUp, controller, progress, ROOT, startedAt } from './lifecycle.ts';
import { type LatencySummary, type RequestSpec, summarize } from './load.ts';
import { measureTogether, type Series } from './measure.ts';
import { numberOption, type Options } from './options.ts';
import type { Measurement } from './report.ts';
import { writeResults } from './results.ts';
import type { DevWorker } from './wrangler-dev.ts';

interface RegionOptions {
  regions: number;
  durationS: number;
  warmupS: number;
  connections: number;
  valueBytes: number;
  rate: number;
  lagSeconds: number;
  sample: number;
}

const USAGE = `Usage: npm run bench -- --regions <n> [--duration <s>] [--connections <n>] [--value-bytes <n>] [--rate <writes/s>] [--lag-seconds <s>] [--sample <k>] [--quick]
  --regions <n>        regions in the cluster (2-5; 3 is the documented run)
  --duration <s>       seconds of load per write-latency measurement (default 5; 1 with --quick)
  --connections <n>    concurrent connections per measurement (default 4)
  --value-bytes <n>    value size (default 1024)
  --rate <n>           writes per second during the lag run (default 50)
  --lag-seconds <s>    length of the lag run (default 20; 5 with --quick)
  --sample <k>         measure the lag of every k-th write (default 2)`;

function parse(argv: string[]): RegionOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      regions: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'value-bytes': { type: 'string' },
      rate: { type: 'string' },
      'lag-seconds': { type: 'string' },
      sample: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const num = numberOption(USAGE);
  return {
    regions: num('regions', values.regions, 3, 2, 5),
    durationS: num('duration', values.duration, quick ? 1 : 5, 0.5, 120),
    warmupS: num('warmup', values.warmup, quick ? 0.3 : 1, 0, 30),
    connections: num('connections', values.connections, 4, 1, 64),
    valueBytes: num('value-bytes', values['value-bytes'], 1024, 1, 512 * 1024),
    rate: num('rate', values.rate, 50, 1, 1000),
    lagSeconds: num('lag-seconds', values['lag-seconds'], quick ? 5 : 20, 1, 300),
    sample: num('sample', values.sample, 2, 1, 100),
  };
}

/** measure.ts takes a DevWorker; a cluster region needs only its origin and a label. */
function target(label: string, origin: string): DevWorker {
  return { label, origin, logFile: '(cluster output)', startupMs: 0, stop: async () => {} };
}

export async function runRegionsBench(argv: string[]): Promise<void> {
  const opts = parse(argv);
  const signal = controller.signal;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tmp = mkdtempSync(join(tmpdir(), 'strata-bench-regions-'));
  atCleanUp(async () => rmSync(tmp, { recursive: true, force: true }));
  const estimateS = 5 * (opts.durationS + opts.warmupS) + opts.lagSeconds + 30;
  const watchdog = setTimeout(
    () => controller.abort(new Error('wall-time budget exceeded')),
    (estimateS * 2 + 180) * 1000,
  );
  watchdog.unref();
  progress(
    `regions bench: ${opts.regions} regions; write latency ${opts.durationS} s x 5 series, ${opts.connections} connections, ` +
      `${opts.valueBytes} B values; lag run ${opts.lagSeconds} s at ${opts.rate} writes/s; estimated ~${Math.round(estimateS)} s`,
  );
  const loadBefore = loadavg();

  progress('starting redis-server and the L3 server…');
  const redis = await startRedis({ dir: join(tmp, 'redis') });
  atCleanUp(() => redis.stop());
  const l3Token = randomToken();
  const l3 = await startL3Server({ redisUrl: redis.url, token: l3Token });
  atCleanUp(() => l3.close());

  const names = ['us-east', 'eu-west', 'ap-southeast', 'region-3', 'region-4'].slice(
    0,
    opts.regions,
  );
  const [origin, home] = names as [string, string];
  const vars = {
    L1_MAX_TTL: '0',
    ANTI_ENTROPY_INTERVAL: '0',
    NAMESPACE_CONSISTENCY: JSON.stringify({ strong: 'strong' }),
    NAMESPACE_HOMES: JSON.stringify({ strong: home }),
  };
  progress(`starting ${opts.regions} regions and one single region (wrangler dev each)…`);
  const [cluster, solo] = await Promise.all([
    startCluster({ regions: names, l3Url: l3.url, l3Token, vars }),
    startCluster({ regions: ['solo'], l3Url: l3.url, l3Token, vars: { L1_MAX_TTL: '0' } }),
  ]);
  atCleanUp(() => cluster.stop());
  atCleanUp(() => solo.stop());
  progress(
    `regions up: ${names.map((n) => `${n} ${cluster.url(n)}`).join(', ')}; single region ${solo.url('solo')}`,
  );

  const value = Buffer.alloc(opts.valueBytes, 0x61);
  const auth = (c: Cluster) => ({ authorization: `Bearer ${c.adminKey}` });
  const putSpec =
    (c: Cluster, ns: string, headers: Record<string, string> = {}) =>
    (i: number): RequestSpec => ({
      method: 'PUT',
      path: `/v1/cache/${ns}/k${i % 256}`,
      headers: { ...auth(c), ...headers },
      body: value,
    });
  const series: Series[] = [
    {
      worker: target('single region', solo.url('solo')),
      name: 'PUT single region',
      next: putSpec(solo, 'bench'),
    },
    {
      worker: target(origin, cluster.url(origin)),
      name: 'PUT eventual',
      next: putSpec(cluster, 'bench'),
    },
    {
      worker: target(origin, cluster.url(origin)),
      name: 'PUT quorum',
      next: putSpec(cluster, 'bench', { 'strata-consistency': 'quorum' }),
    },
    {
      worker: target(home, cluster.url(home)),
      name: 'PUT strong at home',
      next: putSpec(cluster, 'strong'),
    },
    {
      worker: target(origin, cluster.url(origin)),
      name: 'PUT strong forwarded',
      next: putSpec(cluster, 'strong'),
    },
  ];
  const latency = await measureTogether(series, { ...benchOptions(opts) }, signal);

  progress(
    `lag run: ${opts.lagSeconds} s at ${opts.rate} writes/s to ${origin}, every ${opts.sample}th write followed in ${names.slice(1).join(', ')}…`,
  );
  const lag = await lagRun(cluster, names, opts, value, signal);
  clearTimeout(watchdog);
  // Delivery failures explain a long tail: a failed batch waits out its backoff.
  const peerStates = await Promise.all(
    names.map(async (n) => {
      const res = await fetch(`${cluster.url(n)}/v1/stats`, { headers: auth(cluster) });
      const body = (await res.json()) as {
        peers: { region: string; failures: number; lastError: string | null }[];
      };
      return {
        region: n,
        peers: body.peers.map(({ region, failures, lastError }) => ({
          region,
          failures,
          lastError,
        })),
      };
    }),
  );
  for (const s of peerStates)
    for (const p of s.peers)
      if (p.failures > 0)
        progress(
          `${s.region} → ${p.region}: ${p.failures} failed deliveries (last: ${p.lastError})`,
        );

  const wallS = (performance.now() - startedAt) / 1000;
  const command = `npm run bench -- ${argv.join(' ')}`;
  const record = {
    kind: 'regions',
    command,
    date: new Date().toISOString(),
    wallS,
    machine: { cpus: cpus().length, loadBefore, loadAfter: loadavg() },
    options: opts,
    writeLatency: latency.map((m) => ({ name: m.name, worker: m.worker, result: m.result })),
    lag,
    peerStates,
  };
  const file = writeResults(`regions-${stamp}`, record);
  console.log(table(latency, lag, opts, command, wallS));
  progress(`done in ${wallS.toFixed(1)} s; raw numbers in ${relative(ROOT, file)}`);
}

function benchOptions(opts: RegionOptions): Options {
  return {
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    connections: opts.connections,
    valueBytes: opts.valueBytes,
    keys: 256,
    quick: false,
  };
}

interface LagResult {
  writes: number;
  writeErrors: number;
  /** Server side: origin HLC → applied in the peer's shard, from each peer's histogram. */
  applied: Record<string, { events: number; p50: number; p90: number; p99: number }>;
  /** Client side: PUT acknowledged → a GET in the peer serves the new ETag (one follower per region at a time). */
  seen: Record<string, LatencySummary & { samples: number }>;
  /** Followed writes not seen within 10 s. */
  unseen: number;
}

const LAG_METRIC = 'strata_replication_apply_lag_seconds';

/** Cumulative bucket counts of the lag histogram for events from `origin`, by upper bound. */
async function lagBuckets(
  cluster: Cluster,
  region: string,
  origin: string,
): Promise<Map<number, number>> {
  const res = await fetch(`${cluster.url(region)}/metrics`, {
    headers: { authorization: `Bearer ${cluster.adminKey}` },
  });
  const text = await res.text();
  const out = new Map<number, number>();
  const line = new RegExp(`^${LAG_METRIC}_bucket\\{origin="${origin}",le="([^"]+)"\\} (\\d+)$`);
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (m) out.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Quantile `q` of a histogram given as cumulative counts, interpolating linearly inside a bucket (as Prometheus does). */
export function histogramQuantile(q: number, cumulative: Map<number, number>): number {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const upper of bounds) {
    const count = cumulative.get(upper) ?? 0;
    if (count >= rank) {
      if (!Number.isFinite(upper)) return lower;
      const inBucket = count - below;
      return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = upper;
    below = count;
  }
  return lower;
}

async function lagRun(
  cluster: Cluster,
  names: string[],
  opts: RegionOptions,
  value: Buffer,
  signal: AbortSignal,
): Promise<LagResult> {
  const [origin, ...others] = names as [string, ...string[]];
  const headers = { authorization: `Bearer ${cluster.adminKey}` };
  const ns = `lag-${Date.now()}`;
  const keys = 200;
  const call = async (region: string, method: string, key: string, body?: Buffer) => {
    const res = await fetch(`${cluster.url(region)}/v1/cache/${ns}/${key}`, {
      method,
      headers,
      ...(body ? { body } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return { status: res.status, etag: res.headers.get('etag') };
  };
  // Every region holds every key first, so only replication can bring a newer version.
  for (let k = 0; k < keys; k++) await call(origin, 'PUT', `k${k}`, value);
  const deadline = Date.now() + 15_000;
  for (let k = 0; k < keys; k++) {
    for (const r of others) {
      while ((await call(r, 'GET', `k${k}`)).status !== 200) {
        if (Date.now() > deadline) throw new Error(`pre-fill of k${k} did not reach ${r}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  }
  const before = await Promise.all(others.map((r) => lagBuckets(cluster, r, origin)));

  let writes = 0;
  let writeErrors = 0;
  let unseen = 0;
  let latest: { key: string; etag: string; ackedAt: number } | null = null;
  let writing = true;
  const seen: Record<string, number[]> = Object.fromEntries(others.map((r) => [r, []]));
  // One follower per region at a time, polling every 10 ms: light enough not to slow what it measures.
  const follower = async (region: string) => {
    let last: string | null = null;
    while (writing && !signal.aborted) {
      const target = latest;
      if (!target || target.etag === last) {
        await new Promise((res) => setTimeout(res, 5));
        continue;
      }
      last = target.etag;
      for (;;) {
        const r = await call(region, 'GET', target.key).catch(() => null);
        if (r?.etag === target.etag) {
          (seen[region] as number[]).push(performance.now() - target.ackedAt);
          break;
        }
        if (performance.now() - target.ackedAt > 10_000) {
          unseen++;
          break;
        }
        await new Promise((res) => setTimeout(res, 10));
      }
    }
  };
  const followers = others.map(follower);

  const interval = 1000 / opts.rate;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; performance.now() - started < opts.lagSeconds * 1000; i++) {
    signal.throwIfAborted();
    const wait = started + i * interval - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    const key = `k${i % keys}`;
    inFlight.push(
      call(origin, 'PUT', key, value)
        .then((w) => {
          writes++;
          if (w.status !== 201 || !w.etag) writeErrors++;
          else latest = { key, etag: w.etag, ackedAt: performance.now() };
        })
        .catch(() => {
          writes++;
          writeErrors++;
        }),
    );
  }
  await Promise.all(inFlight);
  writing = false;
  await Promise.all(followers);
  // Let the last batches land, then read each peer's histogram again.
  await new Promise((res) => setTimeout(res, 2_000));
  const after = await Promise.all(others.map((r) => lagBuckets(cluster, r, origin)));
  const applied: LagResult['applied'] = {};
  others.forEach((r, i) => {
    const diff = new Map<number, number>();
    for (const [le, n] of after[i] as Map<number, number>)
      diff.set(le, n - ((before[i] as Map<number, number>).get(le) ?? 0));
    applied[r] = {
      events: diff.get(Number.POSITIVE_INFINITY) ?? 0,
      p50: histogramQuantile(0.5, diff) * 1000,
      p90: histogramQuantile(0.9, diff) * 1000,
      p99: histogramQuantile(0.99, diff) * 1000,
    };
  });
  return {
    writes,
    writeErrors,
    applied,
    seen: Object.fromEntries(
      Object.entries(seen).map(([r, s]) => [r, { ...summarize(s), samples: s.length }]),
    ),
    unseen,
  };
}

function table(
  latency: Measurement[],
  lag: LagResult,
  opts: RegionOptions,
  command: string,
  wallS: number,
): string {
  const base = latency[0] as Measurement;
  const ms = (n: number) => n.toFixed(2);
  const lines = [
    '',
    `### Write latency per consistency level (${opts.regions} local regions, ${opts.connections} connections, ${opts.valueBytes} B values)`,
    '',
    '| write | req/s | p50 ms | p99 ms | p50 vs single region | errors |',
    '|---|--:|--:|--:|--:|--:|',
    ...latency.map((m) => {
      const r = m.result;
      return `| ${m.name} | ${r.rps.toFixed(0)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p99)} | ${(r.latencyMs.p50 / base.result.latencyMs.p50).toFixed(2)}× | ${r.requests - r.ok} |`;
    }),
    '',
    `### Replication lag (${lag.writes} writes at ${opts.rate}/s to the first region for ${opts.lagSeconds} s)`,
    '',
    "Applied: from the write (its HLC) to the event applied in the peer's shard, from the peer's `strata_replication_apply_lag_seconds` histogram (interpolated within buckets). Seen: from the PUT's acknowledgement to a GET in the peer serving the new ETag (one follower per region at a time, polling every 10 ms).",
    '',
    '| region | events applied | applied p50 ms | applied p90 ms | applied p99 ms | seen samples | seen p50 ms | seen p99 ms |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    ...Object.keys(lag.applied).map((r) => {
      const a = lag.applied[r] as LagResult['applied'][string];
      const c = lag.seen[r] as LagResult['seen'][string];
      return `| ${r} | ${a.events} | ${ms(a.p50)} | ${ms(a.p90)} | ${ms(a.p99)} | ${c.samples} | ${ms(c.p50)} | ${ms(c.p99)} |`;
    }),
    '',
    `Write errors during the lag run: ${lag.writeErrors}; followed writes not seen within 10 s: ${lag.unseen}.`,
    `Command: \`${command}\`; wall time ${wallS.toFixed(0)} s.`,
    '',
  ];
  return lines.join('\n');
}

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
import type { Options } from './options.ts';
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
  const num = (
    name: string,
    raw: string | undefined,
    fallback: number,
    min: number,
    max: number,
  ) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(
        `--${name} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}\n${USAGE}`,
      );
    return n;
  };
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
  sampled: number;
  /** Samples not seen within the 10 s cut-off. */
  unseen: number;
  perRegion: Record<string, LatencySummary & { samples: number }>;
  all: LatencySummary & { samples: number };
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
  for (let k = 0; k < keys; k += 1) {
    for (const r of others) {
      while ((await call(r, 'GET', `k${k}`)).status !== 200) {
        if (Date.now() > deadline) throw new Error(`pre-fill of k${k} did not reach ${r}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  }

  const samples: Record<string, number[]> = Object.fromEntries(others.map((r) => [r, []]));
  let writes = 0;
  let writeErrors = 0;
  let sampled = 0;
  let unseen = 0;
  const follows: Promise<void>[] = [];
  const follow = async (region: string, key: string, etag: string, ackedAt: number) => {
    const cutoff = ackedAt + 10_000;
    while (performance.now() < cutoff && !signal.aborted) {
      const r = await call(region, 'GET', key).catch(() => null);
      if (r?.etag === etag) {
        (samples[region] as number[]).push(performance.now() - ackedAt);
        return;
      }
      await new Promise((res) => setTimeout(res, 2));
    }
    unseen++;
  };
  const interval = 1000 / opts.rate;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; performance.now() - started < opts.lagSeconds * 1000; i++) {
    signal.throwIfAborted();
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    const key = `k${i % keys}`;
    inFlight.push(
      call(origin, 'PUT', key, value)
        .then((w) => {
          writes++;
          if (w.status !== 201 || !w.etag) {
            writeErrors++;
            return;
          }
          if (i % opts.sample !== 0) return;
          sampled++;
          const ackedAt = performance.now();
          for (const r of others) follows.push(follow(r, key, w.etag, ackedAt));
        })
        .catch(() => {
          writes++;
          writeErrors++;
        }),
    );
  }
  await Promise.all(inFlight);
  await Promise.all(follows);
  const all = Object.values(samples).flat();
  return {
    writes,
    writeErrors,
    sampled,
    unseen,
    perRegion: Object.fromEntries(
      Object.entries(samples).map(([r, s]) => [r, { ...summarize(s), samples: s.length }]),
    ),
    all: { ...summarize(all), samples: all.length },
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
    `### Replication lag (${lag.writes} writes at ${opts.rate}/s for ${opts.lagSeconds} s; ${lag.sampled} followed in each other region)`,
    '',
    '| region | samples | p50 ms | p99 ms | max ms |',
    '|---|--:|--:|--:|--:|',
    ...Object.entries(lag.perRegion).map(
      ([r, s]) => `| ${r} | ${s.samples} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} |`,
    ),
    `| all | ${lag.all.samples} | ${ms(lag.all.p50)} | ${ms(lag.all.p99)} | ${ms(lag.all.max)} |`,
    '',
    `Write errors during the lag run: ${lag.writeErrors}; samples not seen within 10 s: ${lag.unseen}.`,
    `Command: \`${command}\`; wall time ${wallS.toFixed(0)} s.`,
    '',
  ];
  return lines.join('\n');
}

/**
 * `npm run bench`: Strata's request path against the bare primitives it rests
 * on, on this machine, with a real redis-server behind the local L3 server.
 *
 * Each Strata scenario runs in `wrangler dev` and is measured beside its
 * primitive on a baseline Worker (scripts/bench/baseline-worker.ts) in the
 * same run; `GET /const` is the floor for all:
 *
 *   GET L1   hot keys in L1 (Cache API)                    vs GET /cache-match
 *   GET L2   L1 off (L1_MAX_TTL=0): served from the shard  vs GET /do-read
 *   GET L3   L1 off, SHARD_BYTE_BUDGET=1024 (an entry never
 *            fits L2): every GET reads L3                  vs GET /redis-get
 *   PUT      L2 + L3 write                                 vs PUT /do-write, PUT /redis-set
 *
 * Load is closed-loop: `--connections` keep-alive connections for
 * `--duration` seconds per measurement after a warm-up, over `--keys` keys
 * (round-robin) of `--value-bytes` bytes. Prints a Markdown table and writes
 * bench-results/bench-<timestamp>.json and bench-results/latest.json.
 *
 *   npm run bench                 # ~1.5 min: 5 s per measurement
 *   npm run bench -- --quick      # ~30 s smoke run
 *   npm run bench -- --duration 10 --connections 16 --value-bytes 4096
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  combine,
  type LoadResult,
  once,
  type RawLoad,
  type RequestSpec,
  runLoad,
} from './bench/load.ts';
import {
  cacheStatusShape,
  type Measurement,
  markdownTable,
  pct,
  ratios,
  type ScenarioRow,
} from './bench/report.ts';
import {
  compatibilityDate,
  type DevWorker,
  logTail,
  type Snapshot,
  snapshotWorker,
  startDevWorker,
  wranglerVersion,
} from './bench/wrangler-dev.ts';
import { randomToken, startL3Server } from './l3-server.ts';
import { startRedis } from './lib/redis-process.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(ROOT, 'bench-results');
const READY_TIMEOUT_MS = 60_000;

interface Options {
  durationS: number;
  warmupS: number;
  connections: number;
  valueBytes: number;
  keys: number;
  quick: boolean;
}

const USAGE = `Usage: npm run bench -- [--duration <s>] [--connections <n>] [--value-bytes <n>] [--keys <n>] [--warmup <s>] [--quick]
  --duration <s>       seconds of load per measurement (default 5; 1 with --quick)
  --connections <n>    concurrent keep-alive connections (default 8)
  --value-bytes <n>    value size for every scenario (default 1024)
  --keys <n>           keys the load rotates over (default 64)
  --warmup <s>         warm-up seconds before each measurement (default 1; 0.3 with --quick)
  --quick              smoke run, ~30 s in all`;

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      'value-bytes': { type: 'string' },
      keys: { type: 'string' },
      warmup: { type: 'string' },
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
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new Error(
        `--${name} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}\n${USAGE}`,
      );
    }
    return n;
  };
  return {
    quick,
    durationS: num('duration', values.duration, quick ? 1 : 5, 0.1, 600),
    warmupS: num('warmup', values.warmup, quick ? 0.3 : 1, 0, 60),
    connections: Math.floor(num('connections', values.connections, 8, 1, 1024)),
    // Strata's default MAX_VALUE_BYTES is 512 KiB.
    valueBytes: Math.floor(num('value-bytes', values['value-bytes'], 1024, 1, 512 * 1024)),
    keys: Math.floor(num('keys', values.keys, 64, 1, 100_000)),
  };
}

// ---------------------------------------------------------------- lifecycle

const startedAt = performance.now();
const controller = new AbortController();
const cleanups: Array<() => Promise<void>> = [];

function progress(line: string): void {
  const s = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${line}\n`);
}

async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    const step = cleanups.pop();
    try {
      await step?.();
    } catch (error) {
      progress(`clean-up step failed: ${String(error)}`);
    }
  }
}

let signalled = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signalled++;
    if (signalled > 1) process.exit(130); // exit hooks still SIGKILL the children
    progress(`${signal}: stopping every process started by the bench…`);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}

// ---------------------------------------------------------------- scenarios

/** A series to measure: which Worker, which requests, which `Cache-Status` it must show. */
interface Series {
  worker: DevWorker;
  name: string;
  next: (i: number) => RequestSpec;
  expect?: string;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = join(RESULTS, 'logs', stamp);
  mkdirSync(logDir, { recursive: true });
  pruneLogs(join(RESULTS, 'logs'), 5);
  const tmp = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));

  const measurementsPlanned = 10;
  const estimateS = measurementsPlanned * (opts.durationS + opts.warmupS) + 4 * 6 + 10;
  // Hard bound on the whole run: the estimate plus room for slow start-ups.
  const budgetS = Math.ceil(estimateS * 1.5 + 120);
  const watchdog = setTimeout(
    () => controller.abort(new Error(`wall-time budget of ${budgetS} s exceeded`)),
    budgetS * 1000,
  );
  watchdog.unref();
  progress(
    `options: ${opts.durationS} s x ${measurementsPlanned} measurements, ${opts.connections} connections, ` +
      `${opts.keys} keys of ${opts.valueBytes} B; estimated ~${Math.round(estimateS)} s (hard limit ${budgetS} s); logs in ${relative(ROOT, logDir)}/`,
  );

  // Other work on the machine skews absolute numbers (the side-by-side slices keep ratios fair).
  const loadBefore = loadavg();
  if ((loadBefore[0] ?? 0) > cpus().length * 0.5) {
    progress(
      `warning: load average ${loadBefore.map((n) => n.toFixed(2)).join(' ')} on ${cpus().length} CPUs: ` +
        'something else is running; absolute numbers will be noisy',
    );
  }
  const signal = controller.signal;
  const adminKey = randomToken();
  const l3Token = randomToken();
  const value = makeValue(opts.valueBytes);
  const keys = Array.from({ length: opts.keys }, (_, i) => `k${String(i).padStart(4, '0')}`);
  const keyAt = (i: number) => keys[i % keys.length] as string;

  progress('bundling Strata and the baseline Worker (one snapshot for the whole run)…');
  const strataBundle = await snapshotWorker(
    join(ROOT, 'wrangler.toml'),
    join(tmp, 'strata-bundle'),
    join(logDir, 'build.log'),
  );
  const baselineBundle = await snapshotWorker(
    join(ROOT, 'scripts/bench/wrangler.baseline.toml'),
    join(tmp, 'baseline-bundle'),
    join(logDir, 'build.log'),
  );
  signal.throwIfAborted();

  progress('starting redis-server and the L3 server…');
  const redis = await startRedis({ dir: join(tmp, 'redis') });
  cleanups.push(() => redis.stop());
  const l3 = await startL3Server({ redisUrl: redis.url, token: l3Token });
  cleanups.push(() => l3.close());
  const l3Vars = { UPSTASH_REDIS_REST_URL: l3.url, UPSTASH_REDIS_REST_TOKEN: l3Token };
  progress(`redis-server :${redis.port}, L3 server ${l3.url}`);

  const workers: Record<string, { startupMs: number; vars: Record<string, string> }> = {};
  let starts = 0;
  const start = async (
    label: string,
    snapshot: Snapshot,
    vars: Record<string, string>,
    ready: RequestSpec,
    flags: string[] = [],
  ) => {
    progress(`starting ${label} (wrangler dev)…`);
    const worker = await startDevWorker({
      label,
      config: snapshot.config,
      vars,
      flags,
      persistTo: join(tmp, `state-${starts++}`),
      logFile: join(logDir, `${label}.log`),
      ready,
      readyTimeoutMs: READY_TIMEOUT_MS,
      signal,
    });
    cleanups.push(() => worker.stop());
    const shown = Object.fromEntries(Object.entries(vars).filter(([k]) => !/TOKEN|KEY/.test(k)));
    workers[label] = { startupMs: worker.startupMs, vars: shown };
    progress(`${label} up at ${worker.origin} in ${(worker.startupMs / 1000).toFixed(1)} s`);
    return worker;
  };
  const stopWorker = async (worker: DevWorker) => {
    await worker.stop();
    progress(`${worker.label} stopped`);
  };

  /**
   * Measures series side by side: after a warm-up of each, the duration is
   * cut into slices of about a second, and the series take turns slice by
   * slice (A B B A …), so a noisy neighbour or a slow drift weighs on all
   * of them alike instead of on whichever ran at the wrong moment.
   */
  const measureTogether = async (series: Series[]): Promise<Measurement[]> => {
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
      if (opts.warmupS > 0)
        for (let k = 0; k < series.length; k++) await run(k, opts.warmupS * 1000);
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
  };

  const toMeasurement = (s: Series, result: LoadResult): Measurement => {
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
  };

  // Requests.
  const auth = { authorization: `Bearer ${adminKey}` };
  const strataGet =
    (ns: string) =>
    (i: number): RequestSpec => ({
      method: 'GET',
      path: `/v1/cache/${ns}/${keyAt(i)}`,
      headers: auth,
    });
  const strataPut =
    (ns: string) =>
    (i: number): RequestSpec => ({
      method: 'PUT',
      path: `/v1/cache/${ns}/${keyAt(i)}`,
      headers: {
        ...auth,
        'content-type': 'application/octet-stream',
        'cache-control': 'max-age=3600',
      },
      body: value,
    });
  const baseGet =
    (route: string) =>
    (i: number): RequestSpec => ({ method: 'GET', path: `${route}?key=${keyAt(i)}` });
  const basePut =
    (route: string) =>
    (i: number): RequestSpec => ({
      method: 'PUT',
      path: `${route}?key=${keyAt(i)}`,
      body: value,
    });
  const fill = async (
    worker: DevWorker,
    next: (i: number) => RequestSpec,
    check?: (body: string) => string | null,
  ) => {
    const problems = new Set<string>();
    await inParallel(keys.length, opts.connections, async (i) => {
      const spec = next(i);
      const res = await once(worker.origin, spec);
      if (res.status < 200 || res.status >= 300) {
        throw new Error(
          `${worker.label}: pre-fill ${spec.method} ${spec.path} answered ${res.status}: ${res.body.slice(0, 300)}`,
        );
      }
      const problem = check?.(res.body);
      if (problem) problems.add(problem);
    });
    return [...problems];
  };

  const rows: ScenarioRow[] = [];

  // Baseline first: it stays up for the whole run, so each Strata scenario
  // is measured right beside its primitive.
  const baseline = await start(
    'baseline',
    baselineBundle,
    l3Vars,
    { method: 'GET', path: '/const' },
    ['--compatibility-date', compatibilityDate(join(ROOT, 'wrangler.toml'))],
  );
  const [floor] = (await measureTogether([
    {
      worker: baseline,
      name: 'floor: GET /const',
      next: () => ({ method: 'GET', path: '/const' }),
    },
  ])) as [Measurement];
  await fill(baseline, basePut('/cache-fill'));
  await fill(baseline, basePut('/do-write'));
  await fill(baseline, basePut('/redis-set'));

  const ready = { method: 'GET' as const, path: '/healthz', headers: auth };

  // GET L1 + PUT: L1 on, capped at an hour so no L1 copy expires mid-run.
  {
    const vars = { ...l3Vars, STRATA_ADMIN_KEY: adminKey, L1_MAX_TTL: '3600' };
    const strata = await start('strata-l1', strataBundle, vars, ready);
    await fill(strata, strataPut('bench-l1'));
    // Reads back-fill L1 from waitUntil: read until every key answers from L1.
    let cold = keys.length;
    for (let round = 0; round < 20 && cold > 0; round++) {
      let misses = 0;
      await inParallel(keys.length, opts.connections, async (i) => {
        const res = await once(strata.origin, strataGet('bench-l1')(i));
        if (!res.headers.get('cache-status')?.startsWith('strata-l1; hit')) misses++;
      });
      cold = misses;
      if (cold) await sleep(50);
    }
    if (cold)
      progress(`warning: ${cold} of ${keys.length} keys still not in L1 after 20 read rounds`);
    const [get, match] = (await measureTogether([
      {
        worker: strata,
        name: 'Strata GET (L1 hit)',
        next: strataGet('bench-l1'),
        expect: 'strata-l1; hit',
      },
      { worker: baseline, name: 'GET /cache-match', next: baseGet('/cache-match') },
    ])) as [Measurement, Measurement];
    rows.push({ scenario: 'GET L1', strata: get, baseline: match });
    const [put, doWrite, redisSet] = (await measureTogether([
      { worker: strata, name: 'Strata PUT', next: strataPut('bench-put') },
      { worker: baseline, name: 'PUT /do-write', next: basePut('/do-write') },
      { worker: baseline, name: 'PUT /redis-set', next: basePut('/redis-set') },
    ])) as [Measurement, Measurement, Measurement];
    rows.push({ scenario: 'PUT', strata: put, baseline: doWrite });
    rows.push({ scenario: 'PUT', strata: put, baseline: redisSet });
    await stopWorker(strata);
  }

  // GET L2: L1 disabled, so every GET goes to the shard, which has the key in SQLite.
  {
    const vars = { ...l3Vars, STRATA_ADMIN_KEY: adminKey, L1_MAX_TTL: '0' };
    const strata = await start('strata-l2', strataBundle, vars, ready);
    await fill(strata, strataPut('bench-l2'));
    const [get, read] = (await measureTogether([
      {
        worker: strata,
        name: 'Strata GET (L2 hit)',
        next: strataGet('bench-l2'),
        expect: 'strata-l2; hit',
      },
      { worker: baseline, name: 'GET /do-read', next: baseGet('/do-read') },
    ])) as [Measurement, Measurement];
    rows.push({ scenario: 'GET L2', strata: get, baseline: read });
    await stopWorker(strata);
  }

  // GET L3: L1 disabled and a shard budget smaller than any entry, so L2
  // never keeps one and every GET is an L3 read by the shard.
  {
    const vars = {
      ...l3Vars,
      STRATA_ADMIN_KEY: adminKey,
      L1_MAX_TTL: '0',
      SHARD_BYTE_BUDGET: '1024',
    };
    const strata = await start('strata-l3', strataBundle, vars, ready);
    const problems = await fill(strata, strataPut('bench-l3'), (body) => {
      const tiers = (JSON.parse(body) as { tiers?: { L2?: string; L3?: string } }).tiers;
      return tiers?.L2 === 'too-large' && tiers.L3 === 'stored'
        ? null
        : `PUT answered tiers ${JSON.stringify(tiers)}`;
    });
    for (const p of problems)
      progress(`warning: GET L3 pre-fill: ${p} (expected L2 too-large, L3 stored)`);
    const [get, redisGet] = (await measureTogether([
      {
        worker: strata,
        name: 'Strata GET (L3 hit)',
        next: strataGet('bench-l3'),
        expect: 'strata-l3; hit',
      },
      { worker: baseline, name: 'GET /redis-get', next: baseGet('/redis-get') },
    ])) as [Measurement, Measurement];
    rows.push({ scenario: 'GET L3', strata: get, baseline: redisGet });
    await stopWorker(strata);
  }
  await stopWorker(baseline);
  clearTimeout(watchdog);

  const wallS = (performance.now() - startedAt) / 1000;
  const report = {
    tool: 'strata bench',
    timestamp: new Date().toISOString(),
    wallSeconds: wallS,
    options: opts,
    keys: {
      count: keys.length,
      order: 'round-robin over all connections',
      namespaces: 'one per scenario',
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      totalMemBytes: totalmem(),
      freeMemBytes: freemem(),
      platform: process.platform,
      kernel: release(),
      node: process.version,
      wrangler: wranglerVersion(),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg(),
    },
    git: gitInfo(),
    bundles: { strata: strataBundle.sha256, baseline: baselineBundle.sha256 },
    workers,
    floor,
    scenarios: rows.map((r) => ({
      scenario: r.scenario,
      strata: r.strata,
      baseline: r.baseline,
      ratios: ratios(r.strata, r.baseline),
    })),
  };
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `bench-${stamp}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(RESULTS, 'latest.json'), json);

  const args = process.argv.slice(2);
  const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  console.log(
    markdownTable({ opts, floor, rows, machine: report.machine, git: report.git, wallS, command }),
  );
  progress(
    `done in ${wallS.toFixed(1)} s; raw numbers in ${relative(ROOT, file)} and bench-results/latest.json`,
  );
}

function gitInfo(): { commit: string; dirty: boolean; dirtyPaths: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    // The bundle is built from the work tree: say if it differs from the commit.
    const status = execFileSync(
      'git',
      [
        'status',
        '--porcelain',
        '--',
        'src',
        'durable-objects',
        'wrangler.toml',
        'package.json',
        'scripts/bench',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const dirtyPaths = status
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return { commit, dirty: dirtyPaths.length > 0, dirtyPaths };
  } catch {
    return { commit: 'unknown', dirty: true, dirtyPaths: [] };
  }
}

// ---------------------------------------------------------------- helpers

/** Keeps the newest `keep` run directories of wrangler logs (names sort by time). */
function pruneLogs(dir: string, keep: number): void {
  const runs = readdirSync(dir).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - keep))) {
    rmSync(join(dir, old), { recursive: true, force: true });
  }
}

/** A value of `bytes` printable ASCII bytes (valid as a Redis string and as a body). */
function makeValue(bytes: number): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = alphabet.charCodeAt((i * 7919) % alphabet.length);
  return out;
}

async function inParallel(
  count: number,
  width: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      controller.signal.throwIfAborted();
      await task(next++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main()
  .then(async () => {
    await cleanUp();
    progress(
      `all processes stopped; wall time ${((performance.now() - startedAt) / 1000).toFixed(1)} s`,
    );
  })
  .catch(async (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`\nbench failed: ${message}\n`);
    await cleanUp();
    process.exit(controller.signal.aborted && signalled ? 130 : 1);
  });

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
 *   npm run bench -- --regions 3  # replication lag and write latency per consistency level
 *                                 # (scripts/bench/regions.ts)
 *   npm run bench -- --purge      # purge 202 → gone in all 3 regions, beside write replication lag
 *                                 # (scripts/bench/purge.ts; --purges <n>, --feed-ms <ms>, --quick)
 *
 * This file is the run's outline: set up, start redis-server and the L3
 * server, run the scenarios (scripts/bench/scenarios.ts), write the results
 * (scripts/bench/results.ts) and print the table (scripts/bench/report.ts).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  abortOnSignals,
  atCleanUp,
  cleanUp,
  controller,
  interrupted,
  progress,
  ROOT,
  startedAt,
} from './bench/lifecycle.ts';
import type { RequestSpec } from './bench/load.ts';
import { parseOptions } from './bench/options.ts';
import { markdownTable } from './bench/report.ts';
import { pruneLogs, RESULTS, resultsRecord, writeResults } from './bench/results.ts';
import { MEASUREMENTS, runScenarios } from './bench/scenarios.ts';
import {
  type DevWorker,
  type Snapshot,
  snapshotWorker,
  startDevWorker,
} from './bench/wrangler-dev.ts';
import { randomToken, startL3Server } from './l3-server.ts';
import { startRedis } from './lib/redis-process.ts';

const READY_TIMEOUT_MS = 60_000;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = join(RESULTS, 'logs', stamp);
  mkdirSync(logDir, { recursive: true });
  pruneLogs(join(RESULTS, 'logs'), 5);
  const tmp = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  atCleanUp(async () => rmSync(tmp, { recursive: true, force: true }));

  const estimateS = MEASUREMENTS * (opts.durationS + opts.warmupS) + 4 * 6 + 10;
  // Hard bound on the whole run: the estimate plus room for slow start-ups.
  const budgetS = Math.ceil(estimateS * 1.5 + 120);
  const watchdog = setTimeout(
    () => controller.abort(new Error(`wall-time budget of ${budgetS} s exceeded`)),
    budgetS * 1000,
  );
  watchdog.unref();
  progress(
    `options: ${opts.durationS} s x ${MEASUREMENTS} measurements, ${opts.connections} connections, ` +
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
  atCleanUp(() => redis.stop());
  const l3 = await startL3Server({ redisUrl: redis.url, token: l3Token });
  atCleanUp(() => l3.close());
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
    atCleanUp(() => worker.stop());
    const shown = Object.fromEntries(Object.entries(vars).filter(([k]) => !/TOKEN|KEY/.test(k)));
    workers[label] = { startupMs: worker.startupMs, vars: shown };
    progress(`${label} up at ${worker.origin} in ${(worker.startupMs / 1000).toFixed(1)} s`);
    return worker;
  };
  const stopWorker = async (worker: DevWorker) => {
    await worker.stop();
    progress(`${worker.label} stopped`);
  };

  const { floor, rows } = await runScenarios({
    opts,
    signal,
    adminKey,
    l3Vars,
    strataBundle,
    baselineBundle,
    start,
    stopWorker,
  });
  clearTimeout(watchdog);

  const wallS = (performance.now() - startedAt) / 1000;
  const report = resultsRecord({
    wallS,
    opts,
    loadBefore,
    bundles: { strata: strataBundle, baseline: baselineBundle },
    workers,
    floor,
    rows,
  });
  const file = writeResults(stamp, report);

  const args = process.argv.slice(2);
  const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  console.log(
    markdownTable({ opts, floor, rows, machine: report.machine, git: report.git, wallS, command }),
  );
  progress(
    `done in ${wallS.toFixed(1)} s; raw numbers in ${relative(ROOT, file)} and bench-results/latest.json`,
  );
}

abortOnSignals();
const argv = process.argv.slice(2);
const run = argv.some((a) => a === '--regions' || a.startsWith('--regions='))
  ? import('./bench/regions.ts').then((m) => m.runRegionsBench(argv))
  : argv.includes('--purge')
    ? import('./bench/purge.ts').then((m) => m.runPurgeBench(argv))
    : main();
run
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
    process.exit(interrupted() ? 130 : 1);
  });

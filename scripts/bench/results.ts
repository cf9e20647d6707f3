/**
 * What a run leaves in bench-results/: the JSON record (options, machine,
 * git commit, bundles, Workers and every measurement with its ratios) as
 * bench-<stamp>.json and latest.json, and the last few runs' wrangler logs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lifecycle.ts';
import type { Options } from './options.ts';
import { type Measurement, ratios, type ScenarioRow } from './report.ts';
import { type Snapshot, wranglerVersion } from './wrangler-dev.ts';

export const RESULTS = join(ROOT, 'bench-results');

/** The JSON record of a run, built when the measuring is over. */
export function resultsRecord(run: {
  wallS: number;
  opts: Options;
  loadBefore: number[];
  bundles: { strata: Snapshot; baseline: Snapshot };
  workers: Record<string, { startupMs: number; vars: Record<string, string> }>;
  floor: Measurement;
  rows: ScenarioRow[];
}) {
  const { wallS, opts, loadBefore, workers, floor, rows } = run;
  return {
    tool: 'strata bench',
    timestamp: new Date().toISOString(),
    wallSeconds: wallS,
    options: opts,
    keys: {
      count: opts.keys,
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
    bundles: { strata: run.bundles.strata.sha256, baseline: run.bundles.baseline.sha256 },
    workers,
    floor,
    scenarios: rows.map((r) => ({
      scenario: r.scenario,
      strata: r.strata,
      baseline: r.baseline,
      ratios: ratios(r.strata, r.baseline),
    })),
  };
}

/** Writes the record as bench-results/bench-<stamp>.json and latest.json; returns the first. */
export function writeResults(stamp: string, record: object): string {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `bench-${stamp}.json`);
  const json = `${JSON.stringify(record, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(RESULTS, 'latest.json'), json);
  return file;
}

/** The commit, and whether the paths the bundles are built from differ from it. */
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

/** Keeps the newest `keep` run directories of wrangler logs (names sort by time). */
export function pruneLogs(dir: string, keep: number): void {
  const runs = readdirSync(dir).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - keep))) {
    rmSync(join(dir, old), { recursive: true, force: true });
  }
}

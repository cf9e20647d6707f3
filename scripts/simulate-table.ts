/**
 * `npm run simulate:table`: every (trace, size) row of the traces README's
 * "Reference values" table through every registered policy, OPT and
 * `lru-cache`, printed as a Markdown table with the README's golden and
 * published values beside them (issue 6, "Results"). Rows print as they
 * complete; bench-results/simulate-table.json is rewritten after each row.
 *
 *   npm run simulate:table                                   # all rows: long (p12 dominates)
 *   npm run simulate:table -- --only glimpse,multi2,sprite,loop,corda
 *   npm run simulate:table -- --only p12 --resume            # add p12, keep the JSON's other rows
 *
 * Each trace is read once; its rows × policies run `--jobs` at a time in
 * worker threads (scripts/sim/pool.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY } from '../src/policy/index.ts';
import { REFERENCE_ROWS, type ReferenceRow, TRACES } from '../src/sim/reference-values.ts';
import { hitRatio, opsPerSec, type SimResult } from '../src/sim/replay.ts';
import { ANCHORS, knownPolicies } from './sim/anchors.ts';
import { loadTrace, TraceFileError } from './sim/load-trace.ts';
import { type Job, runJobs } from './sim/pool.ts';
import { Progress } from './sim/progress.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench-results', 'simulate-table.json');

const USAGE = `Usage: npm run simulate:table -- [options]
  --traces-dir DIR   where the traces are (default ../shared/traces from the repo root)
  --only a,b         only these traces (${Object.keys(TRACES).join(', ')})
  --policies a,b     default: every registered policy, then opt and lru-cache
  --jobs N           simulations at once, one worker thread each (default ${Math.min(2, availableParallelism())}; 0 = main thread)
  --resume           reuse the cells already in bench-results/simulate-table.json, keep its other rows
  --quiet            no progress on stderr`;

class UsageError extends Error {}

interface Cell {
  hits: number;
  requests: number;
  /** Fraction of requests. */
  hitRatio: number;
  opsPerSec: number;
  seconds: number;
}

interface TableRow extends ReferenceRow {
  results: Record<string, Cell>;
}

interface TableFile {
  command: string;
  startedAt: string;
  node: string;
  cpu: string;
  policies: string[];
  defaultPolicy: string;
  rows: TableRow[];
}

function options(argv: string[]) {
  let values: {
    'traces-dir'?: string;
    only?: string;
    policies?: string;
    jobs?: string;
    resume?: boolean;
    quiet?: boolean;
    help?: boolean;
  };
  try {
    values = parseArgs({
      args: argv,
      options: {
        'traces-dir': { type: 'string' },
        only: { type: 'string' },
        policies: { type: 'string' },
        jobs: { type: 'string' },
        resume: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const only = values.only?.split(',');
  for (const name of only ?? []) {
    if (!(name in TRACES)) {
      throw new UsageError(`unknown trace "${name}"; known: ${Object.keys(TRACES).join(', ')}`);
    }
  }
  const known = knownPolicies();
  const policies = values.policies?.split(',') ?? known;
  for (const name of policies) {
    if (!known.includes(name)) {
      throw new UsageError(`unknown policy "${name}"; known: ${known.join(', ')}`);
    }
  }
  const jobs =
    values.jobs === undefined ? Math.min(2, availableParallelism()) : Number(values.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 0 || jobs > 64) {
    throw new UsageError(`--jobs takes an integer from 0 to 64, got "${values.jobs}"`);
  }
  return {
    help: values.help === true,
    tracesDir: resolve(ROOT, values['traces-dir'] ?? '../shared/traces'),
    rows: REFERENCE_ROWS.filter((row) => only === undefined || only.includes(row.trace)),
    policies,
    jobs,
    resume: values.resume === true,
    quiet: values.quiet === true,
  };
}

const fixed = (percent: number | null | undefined): string =>
  percent === null || percent === undefined ? '–' : percent.toFixed(2);

function markdownHeader(policies: string[]): string {
  const names = policies.map((p) => (p === DEFAULT_POLICY ? `${p}*` : p));
  const head = ['trace', 'size', ...names, 'LRU†', 'ARC†', 'LIRS†', 'OPT†', 'published'];
  const align = head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:'));
  return `| ${head.join(' | ')} |\n|${align.join('|')}|`;
}

/** One table row; the best registered policy's hit ratio is bold. */
function markdownRow(row: TableRow, policies: string[]): string {
  const online = policies.filter((p) => !ANCHORS.includes(p as never));
  const best = Math.max(...online.map((p) => row.results[p]?.hitRatio ?? 0));
  const cells = policies.map((p) => {
    const cell = row.results[p];
    if (cell === undefined) return '–';
    const text = fixed(cell.hitRatio * 100);
    return online.includes(p) && cell.hitRatio === best ? `**${text}**` : text;
  });
  const { lru, arc, lirs, opt } = row.golden;
  const published = Object.entries(row.published)
    .map(([label, value]) => `${label} ${value}`)
    .join(', ');
  const size = new Intl.NumberFormat('en-US').format(row.size);
  const golden = [lru, arc, lirs, opt].map(fixed);
  return `| ${row.trace} | ${size} | ${[...cells, ...golden, published || ''].join(' | ')} |`;
}

function cellOf(r: SimResult): Cell {
  return {
    hits: r.hits,
    requests: r.requests,
    hitRatio: hitRatio(r),
    opsPerSec: Math.round(opsPerSec(r)),
    seconds: Number(r.seconds.toFixed(3)),
  };
}

function readPrevious(): TableFile | undefined {
  if (!existsSync(OUT)) return undefined;
  return JSON.parse(readFileSync(OUT, 'utf8')) as TableFile;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const progress = new Progress({ enabled: !opts.quiet, intervalMs: 10_000 });
  const previous = opts.resume ? readPrevious() : undefined;
  const file: TableFile = {
    command: `npm run simulate:table -- ${process.argv.slice(2).join(' ')}`.trim(),
    startedAt: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    policies: opts.policies,
    defaultPolicy: DEFAULT_POLICY,
    rows: [],
  };
  const same = (a: ReferenceRow, b: ReferenceRow): boolean =>
    a.trace === b.trace && a.size === b.size;
  // This run's rows, with the cells a resumed file already has.
  const rows: TableRow[] = opts.rows.map((ref) => {
    const old = previous?.rows.find((r) => same(r, ref));
    const results: Record<string, Cell> = {};
    for (const p of opts.policies) if (old?.results[p]) results[p] = old.results[p];
    return { ...ref, results };
  });
  // A resumed file keeps the rows this run does not redo (e.g. `--only p12 --resume`).
  const kept = previous?.rows.filter((old) => !rows.some((r) => same(r, old))) ?? [];
  const order = (r: ReferenceRow): number => REFERENCE_ROWS.findIndex((ref) => same(ref, r));
  file.rows = [...rows, ...kept].sort((a, b) => order(a) - order(b));
  const save = (): void => {
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(file, null, 2)}\n`);
  };
  console.log(markdownHeader(opts.policies));
  let printed = 0;
  const flush = (): void => {
    progress.clear();
    for (; printed < rows.length; printed++) {
      const row = rows[printed] as TableRow;
      if (opts.policies.some((p) => row.results[p] === undefined)) break;
      console.log(markdownRow(row, opts.policies));
    }
  };
  flush();

  const traceNames = [...new Set(rows.map((r) => r.trace))];
  for (const name of traceNames) {
    const jobs: (Job & { row: TableRow })[] = rows
      .filter((r) => r.trace === name)
      .flatMap((row) =>
        opts.policies
          .filter((policy) => row.results[policy] === undefined)
          .map((policy) => ({ policy, capacity: row.size, row })),
      );
    if (jobs.length === 0) continue;
    const spec = TRACES[name] as (typeof TRACES)[string];
    const { trace, seconds } = await loadTrace(
      spec.files.map((f) => join(opts.tracesDir, f)),
      spec.format,
      { onProgress: (f) => progress.update(`reading ${name}`, f) },
    );
    progress.log(
      `${name}: ${trace.length.toLocaleString('en-US')} requests read in ${seconds.toFixed(1)} s`,
    );
    const done = new Float64Array(jobs.length);
    const started = performance.now();
    await runJobs(trace, jobs, {
      concurrency: opts.jobs,
      onProgress: (i, n) => {
        done[i] = n;
        const sum = done.reduce((a, b) => a + b, 0);
        const job = jobs[i] as Job;
        progress.update(
          name,
          sum / (jobs.length * trace.length),
          `${job.policy} @ ${job.capacity}`,
        );
      },
      onResult: (i, r) => {
        done[i] = trace.length;
        const job = jobs[i] as Job & { row: TableRow };
        job.row.results[job.policy] = cellOf(r);
        if (opts.policies.every((p) => job.row.results[p] !== undefined)) save();
        flush();
      },
    });
    save();
    progress.log(
      `${name}: ${jobs.length} simulations in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  progress.clear();
  console.log(
    `\n\\* default policy. † golden values of ../shared/traces/README.md ("Reference values"); ` +
      `published figures as cited there. Bold: best registered policy on the row. ` +
      `Hit ratios in %, cold start, size in entries. Wall time ${progress.elapsed.toFixed(0)} s ` +
      `with --jobs ${opts.jobs} on ${file.cpu}; raw numbers and ops/s in bench-results/simulate-table.json.`,
  );
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) {
    process.stderr.write(`simulate:table: ${message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`simulate:table: ${message}\n`);
    process.exitCode = error instanceof TraceFileError ? 2 : 1;
  }
});

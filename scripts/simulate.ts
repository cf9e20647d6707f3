/**
 * `npm run simulate`: replays a cache access trace through the eviction
 * policies and prints each one's hit ratio and speed, with Belady's OPT (the
 * ceiling) and the npm `lru-cache` package (the speed reference) in the same
 * run (issue 6). Formats and traces: ../shared/traces/README.md.
 *
 *   npm run simulate -- --trace ../shared/traces/oltp.trace.gz --format arc --size 1000
 *   npm run simulate -- --trace ../shared/traces/glimpse.trace.gz --format lines \
 *     --size 500,1000 --policies lru,opt --json
 *   npm run simulate -- --trace ../shared/traces/cdn-sized.trace.gz --format tis \
 *     --size 50000000 --bytes
 *
 * The trace is read once into an Int32Array of dense key ids in a
 * SharedArrayBuffer (4 bytes a request), then each policy replays it in its
 * own worker thread, `--jobs` at a time (src/sim/, scripts/sim/).
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY } from '../src/policy/index.ts';
import { byteHitRatio, hitRatio, opsPerSec, type SimResult } from '../src/sim/replay.ts';
import { TRACE_FORMATS, type TraceFormat } from '../src/sim/trace-reader.ts';
import { knownPolicies } from './sim/anchors.ts';
import { loadTrace, TraceFileError } from './sim/load-trace.ts';
import { type Job, runJobs } from './sim/pool.ts';
import { Progress } from './sim/progress.ts';

const USAGE = `Usage: npm run simulate -- --trace FILE --format lines|arc|tis --size N [options]
  --trace FILE       trace, gzip'd or plain; repeat to concatenate files into one trace
  --format F         lines | arc | tis (see ../shared/traces/README.md)
  --size N[,N…]      cache capacity: entries, or bytes with --bytes
  --bytes            size-aware: request sizes from the tis size column; adds byte hit ratio
  --policies a,b     default: every registered policy, then opt and lru-cache
  --json             one JSON object per line and (size, policy)
  --jobs N           policies replayed at once, one worker thread each (default ${defaultJobs()}; 0 = main thread)
  --quiet            no progress on stderr
  -h, --help         this text`;

interface SimulateOptions {
  traces: string[];
  format: TraceFormat;
  sizes: number[];
  bytes: boolean;
  policies: string[];
  json: boolean;
  jobs: number;
  quiet: boolean;
}

/** A bad command line: printed with the usage, exit status 2. */
class UsageError extends Error {}

function defaultJobs(): number {
  return Math.min(2, availableParallelism());
}

function positiveIntegers(flag: string, raw: string): number[] {
  return raw.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new UsageError(`${flag} takes positive integers, got "${part}"`);
    }
    return n;
  });
}

/** Parses and checks the command line; throws `UsageError`. */
function parseOptions(argv: string[]): SimulateOptions | 'help' {
  const parse = (args: string[]) =>
    parseArgs({
      args,
      options: {
        trace: { type: 'string', multiple: true },
        format: { type: 'string' },
        size: { type: 'string' },
        bytes: { type: 'boolean', default: false },
        policies: { type: 'string' },
        json: { type: 'boolean', default: false },
        jobs: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (!values.trace?.length) throw new UsageError('--trace is required');
  if (values.format === undefined) throw new UsageError('--format is required');
  const format = values.format as TraceFormat;
  if (!TRACE_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${TRACE_FORMATS.join(', ')}, got "${format}"`);
  }
  if (values.size === undefined) throw new UsageError('--size is required');
  const sizes = positiveIntegers('--size', values.size);
  const bytes = values.bytes ?? false;
  if (bytes && format !== 'tis') {
    throw new UsageError('--bytes needs --format tis, the only format with request sizes');
  }
  const known = knownPolicies();
  const policies = values.policies === undefined ? known : values.policies.split(',');
  for (const name of policies) {
    if (!known.includes(name)) {
      throw new UsageError(`unknown policy "${name}"; known: ${known.join(', ')}`);
    }
  }
  if (new Set(policies).size !== policies.length) throw new UsageError('--policies repeats a name');
  const jobs = values.jobs === undefined ? defaultJobs() : Number(values.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 0 || jobs > 64) {
    throw new UsageError(`--jobs takes an integer from 0 to 64, got "${values.jobs}"`);
  }
  return {
    traces: values.trace,
    format,
    sizes,
    bytes,
    policies,
    json: values.json ?? false,
    jobs,
    quiet: values.quiet ?? false,
  };
}

const int = new Intl.NumberFormat('en-US');
const pct = (fraction: number): string => `${(fraction * 100).toFixed(2)}%`;

function rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M/s`;
  return `${(perSecond / 1e3).toFixed(0)} k/s`;
}

/** The `--json` line of one result. */
function jsonLine(policy: string, size: number, r: SimResult, bytes: boolean): string {
  return JSON.stringify({
    policy,
    default: policy === DEFAULT_POLICY,
    size,
    requests: r.requests,
    hits: r.hits,
    hitRatio: hitRatio(r),
    byteHitRatio: bytes ? byteHitRatio(r) : null,
    opsPerSec: Math.round(opsPerSec(r)),
  });
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts === 'help') {
    console.log(USAGE);
    return;
  }
  const progress = new Progress({ enabled: !opts.quiet });
  const { trace, seconds } = await loadTrace(opts.traces, opts.format, {
    bytes: opts.bytes,
    onProgress: (f) => progress.update('reading', f),
  });
  progress.clear();
  const name = opts.traces.map((t) => t.split('/').pop()).join(' + ');
  const summary = `${name} (${opts.format}): ${int.format(trace.length)} requests, ${int.format(trace.keyCount)} distinct keys, read in ${seconds.toFixed(1)} s`;
  if (opts.json) progress.log(summary);
  else console.log(summary);

  const jobs: Job[] = opts.sizes.flatMap((capacity) =>
    opts.policies.map((policy) => ({ policy, capacity })),
  );
  const done = new Float64Array(jobs.length);
  const results: (SimResult | undefined)[] = new Array(jobs.length);
  let printed = 0;
  const width = Math.max(10, ...opts.policies.map((p) => p.length + 2));
  const print = (): void => {
    progress.clear();
    for (; printed < jobs.length && results[printed] !== undefined; printed++) {
      const job = jobs[printed] as Job;
      const r = results[printed] as SimResult;
      if (opts.json) {
        console.log(jsonLine(job.policy, job.capacity, r, opts.bytes));
        continue;
      }
      if (printed % opts.policies.length === 0) {
        const unit = opts.bytes ? 'bytes' : 'entries';
        const head = ['policy'.padEnd(width), 'hit ratio'.padStart(10)];
        if (opts.bytes) head.push('byte hits'.padStart(10));
        head.push('ops/s'.padStart(11));
        console.log(`\ncache size ${int.format(job.capacity)} ${unit}\n${head.join('  ')}`);
      }
      const label = job.policy === DEFAULT_POLICY ? `${job.policy}*` : job.policy;
      const cells = [label.padEnd(width), pct(hitRatio(r)).padStart(10)];
      if (opts.bytes) cells.push(pct(byteHitRatio(r)).padStart(10));
      cells.push(rate(opsPerSec(r)).padStart(11));
      console.log(cells.join('  '));
    }
  };
  await runJobs(trace, jobs, {
    concurrency: opts.jobs,
    onProgress: (i, n) => {
      done[i] = n;
      let sum = 0;
      for (const d of done) sum += d;
      const running = jobs.filter((_, j) => results[j] === undefined && (done[j] as number) > 0);
      const detail = running.map((j) => j.policy).join(', ');
      progress.update('replaying', sum / (jobs.length * trace.length), detail);
    },
    onResult: (i, r) => {
      results[i] = r;
      done[i] = trace.length;
      print();
    },
  });
  progress.clear();
  if (!opts.json) console.log(`\n* default policy (DEFAULT_POLICY = '${DEFAULT_POLICY}')`);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`simulate: ${error.message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (error instanceof TraceFileError) {
    process.stderr.write(`simulate: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
});

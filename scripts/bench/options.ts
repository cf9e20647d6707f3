/**
 * The bench's command line: `--duration`, `--connections`, `--value-bytes`,
 * `--keys`, `--warmup` and `--quick`, checked against their ranges.
 */
import { parseArgs } from 'node:util';

export interface Options {
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

/**
 * Parses the bench's arguments; prints the usage and exits on `--help`, throws on a bad value.
 * @example parseOptions(['--quick']).durationS // 1
 */
export function parseOptions(argv: string[]): Options {
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
  const num = numberOption(USAGE);
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

/**
 * A reader of numeric flags for `usage`: the flag's value within [min, max],
 * the fallback when absent, and an error quoting the usage otherwise.
 * @example numberOption(USAGE)('rate', '50', 10, 1, 1000) // 50
 */
export function numberOption(usage: string) {
  return (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new Error(
        `--${name} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}\n${usage}`,
      );
    }
    return n;
  };
}

/**
 * `npm run deploy`: deploys the Worker to every production region.
 *
 *   npm run deploy -- --all [--dry-run]           every [env.*] of wrangler.toml, in file order
 *   npm run deploy -- --env eu-west [--dry-run]   one region (repeat --env for several)
 *   npm run deploy -- --generate-keys [--label 2026-11] [--env R ...]
 *
 * Each region is `wrangler deploy --env <region>`; the first failure stops the
 * run. `--dry-run` adds `--dry-run --outdir .strata/deploy/<region>`: it builds
 * the bundle without an account or network and reports its size.
 *
 * Before deploying, each region's [env.<region>.vars] are checked (REGION,
 * PEERS, REPLICATION_KEY_ID, REPLICATION_PUBLIC_KEYS, the same SHARDS in
 * every region, migrations equal to the top level): a real deploy refuses on
 * a problem, a dry run only warns.
 *
 * `--generate-keys` prints a fresh ES256 key set (one pair per region, kid
 * `<region>/<label>`, label default: this month, UTC) with the
 * `wrangler secret put` commands that install the private keys and the
 * REPLICATION_PUBLIC_KEYS line for wrangler.toml. Nothing is written anywhere.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { wranglerBinary, wranglerEnv } from './lib/region-process.ts';
import {
  generateRegionKeys,
  KEY_LABEL_PATTERN,
  publicJwksJson,
  REGION_PATTERN,
} from './lib/replication-keys.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = join(ROOT, 'wrangler.toml');
const USAGE = `usage:
  npm run deploy -- --all [--dry-run]             deploy every [env.*] region of wrangler.toml, in order
  npm run deploy -- --env <region> [--dry-run]    deploy one region (repeat --env for several)
  npm run deploy -- --generate-keys [--label L] [--env <region> ...]
                                                  print a fresh replication key set (default: every region)`;

const say = (line: string) => console.log(`[deploy] ${line}`);

function usageError(problem: string): never {
  console.error(`${problem}\n\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------
// A small reader for the parts of wrangler.toml this script needs: table
// headings, and `KEY = "string"` lines. Not a TOML parser: anything else
// (arrays, inline tables, multi-line strings) is kept as raw text.
// ---------------------------------------------------------------------------

interface Table {
  /** Dotted path, e.g. ['env', 'eu-west', 'vars']. */
  path: string[];
  /** `[[array.of.tables]]` */
  array: boolean;
  /** Keys to string values (raw text for non-strings). */
  values: Map<string, string>;
  /** Normalised `key = value` lines, for comparing blocks. */
  lines: string[];
}

export interface WranglerConfig {
  /** Names of the [env.*] tables, in order of first appearance. */
  envs: string[];
  tables: Table[];
}

/** Splits a dotted TOML key, honouring "quoted" and 'quoted' parts. */
function splitKey(raw: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(?:\.|$)/y;
  let match: RegExpExecArray | null = re.exec(raw);
  while (match && re.lastIndex <= raw.length) {
    parts.push(match[1] ?? match[2] ?? match[3] ?? '');
    if (re.lastIndex === raw.length) return parts;
    match = re.exec(raw);
  }
  throw new Error(`cannot read the key ${JSON.stringify(raw)}`);
}

/** Reads a TOML basic ("…") or literal ('…') string at the start of `raw`; null otherwise. */
function readString(raw: string): string | null {
  const literal = /^'([^']*)'\s*(#.*)?$/.exec(raw);
  if (literal) return literal[1] ?? '';
  const basic = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(raw);
  if (!basic) return null;
  return (basic[1] ?? '').replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, e: string) =>
    e.length > 1
      ? String.fromCodePoint(Number.parseInt(e.slice(1), 16))
      : ({ b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' }[e] ?? e),
  );
}

export function readWranglerToml(text: string): WranglerConfig {
  const root: Table = { path: [], array: false, values: new Map(), lines: [] };
  const tables: Table[] = [root];
  const envs: string[] = [];
  let current = root;
  for (const [i, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const heading = /^(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (heading && !line.includes('=')) {
      let path: string[];
      try {
        path = splitKey(heading[2] ?? '');
      } catch (error) {
        throw new Error(`wrangler.toml:${i + 1}: ${(error as Error).message}`);
      }
      current = { path, array: heading[1] === '[[', values: new Map(), lines: [] };
      tables.push(current);
      const env = path[1];
      if (path[0] === 'env' && env !== undefined && !envs.includes(env)) envs.push(env);
      continue;
    }
    const pair = /^((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+|\s)+?)\s*=\s*(.*)$/.exec(line);
    if (!pair) continue; // the rest of a multi-line value: not needed here
    const key = splitKey(pair[1] ?? '').join('.');
    const raw = (pair[2] ?? '').trim();
    current.values.set(key, readString(raw) ?? raw);
    current.lines.push(`${key} = ${raw.replace(/\s*#.*$/, '')}`);
  }
  return { envs, tables };
}

function table(config: WranglerConfig, path: string[]): Table | undefined {
  return config.tables.find((t) => !t.array && t.path.join('\0') === path.join('\0'));
}

function migrations(config: WranglerConfig, prefix: string[]): string[] {
  return config.tables
    .filter((t) => t.array && t.path.join('\0') === [...prefix, 'migrations'].join('\0'))
    .map((t) => [...t.lines].sort().join('; '));
}

/** Problems that make a region's configuration unfit for a real deploy. */
export function checkEnv(config: WranglerConfig, env: string): string[] {
  const problems: string[] = [];
  const vars = table(config, ['env', env, 'vars'])?.values;
  if (!vars)
    return [`no [env.${env}.vars] table: wrangler does not inherit vars into environments`];
  const region = vars.get('REGION');
  if (!region) problems.push('REGION is not set');
  else if (!REGION_PATTERN.test(region)) problems.push(`REGION ${region} is not a region name`);
  else if (region !== env) problems.push(`REGION is ${region} in environment ${env}`);

  const peersRaw = vars.get('PEERS');
  if (peersRaw === undefined) problems.push('PEERS is not set');
  else {
    try {
      const peers = JSON.parse(peersRaw) as unknown;
      if (typeof peers !== 'object' || peers === null || Array.isArray(peers)) {
        throw new Error('not an object');
      }
      for (const [name, url] of Object.entries(peers)) {
        if (name === region) problems.push(`PEERS lists the region itself (${name})`);
        if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
          problems.push(`PEERS.${name} is not an http(s) URL`);
        } else if (url.includes('<') || url.includes('>')) {
          problems.push(`PEERS.${name} is still a placeholder (${url})`);
        }
      }
      for (const other of config.envs) {
        if (other !== env && !(other in peers)) problems.push(`PEERS has no entry for ${other}`);
      }
    } catch {
      problems.push('PEERS is not a JSON object {"<region>": "<base URL>"}');
    }
  }

  const kid = vars.get('REPLICATION_KEY_ID');
  if (!kid) problems.push('REPLICATION_KEY_ID is not set');
  else if (region && !kid.startsWith(`${region}/`)) {
    problems.push(`REPLICATION_KEY_ID ${kid} does not start with ${region}/`);
  }
  const jwksRaw = vars.get('REPLICATION_PUBLIC_KEYS');
  if (jwksRaw === undefined) problems.push('REPLICATION_PUBLIC_KEYS is not set');
  else {
    try {
      const jwks = JSON.parse(jwksRaw) as { keys?: { kid?: unknown }[] };
      if (!Array.isArray(jwks.keys)) throw new Error('no keys');
      const keys = jwks.keys;
      if (keys.length === 0) {
        problems.push('REPLICATION_PUBLIC_KEYS is empty (paste the JWKS from --generate-keys)');
      } else {
        if (kid && !keys.some((k) => k.kid === kid)) {
          problems.push(`REPLICATION_PUBLIC_KEYS has no key ${kid}`);
        }
        for (const other of config.envs) {
          if (!keys.some((k) => typeof k.kid === 'string' && k.kid.startsWith(`${other}/`))) {
            problems.push(`REPLICATION_PUBLIC_KEYS has no key of ${other}`);
          }
        }
      }
    } catch {
      problems.push('REPLICATION_PUBLIC_KEYS is not a JWKS {"keys":[...]}');
    }
  }

  // The top level is the local region: production may size SHARDS differently.
  const shards = vars.get('SHARDS') ?? '8';
  for (const other of config.envs) {
    const theirs = table(config, ['env', other, 'vars'])?.values.get('SHARDS') ?? '8';
    if (other !== env && theirs !== shards) {
      problems.push(`SHARDS is ${shards} here but ${theirs} in ${other}: all regions must agree`);
    }
  }

  const own = migrations(config, ['env', env]);
  const base = migrations(config, []);
  if (own.length > 0 && own.join('\n') !== base.join('\n')) {
    problems.push('[[env.*.migrations]] differ from the top-level [[migrations]]');
  }
  return problems;
}

// ---------------------------------------------------------------------------

interface Options {
  envs: string[];
  all: boolean;
  dryRun: boolean;
  generateKeys: boolean;
  label?: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { envs: [], all: false, dryRun: false, generateKeys: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (flag: string): string => {
      const eq = arg.indexOf('=');
      const v = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '' || v.startsWith('--')) usageError(`${flag} needs a value`);
      return v;
    };
    if (arg === '--all') options.all = true;
    else if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--generate-keys') options.generateKeys = true;
    else if (arg === '--env' || arg.startsWith('--env=') || arg === '-e') {
      options.envs.push(value('--env'));
    } else if (arg === '--label' || arg.startsWith('--label=')) options.label = value('--label');
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else usageError(`unknown argument: ${arg}`);
  }
  if (options.generateKeys) {
    if (options.dryRun) usageError('--generate-keys deploys nothing: drop --dry-run');
  } else {
    if (options.label !== undefined) usageError('--label goes with --generate-keys');
    if (options.all && options.envs.length) usageError('give either --all or --env, not both');
    if (!options.all && !options.envs.length)
      usageError('say which regions: --all or --env <region>');
  }
  return options;
}

function selectEnvs(config: WranglerConfig, options: Options): string[] {
  if (config.envs.length === 0) {
    usageError(`no [env.<region>] tables in ${relative(process.cwd(), CONFIG) || CONFIG}`);
  }
  if (options.all || options.envs.length === 0) return config.envs;
  for (const env of options.envs) {
    if (!config.envs.includes(env)) {
      usageError(`no environment ${env} in wrangler.toml (there are: ${config.envs.join(', ')})`);
    }
  }
  // Deploy in file order, whatever order they were named in.
  return config.envs.filter((e) => options.envs.includes(e));
}

async function generateKeys(regions: string[], label: string, subset: boolean): Promise<void> {
  if (!KEY_LABEL_PATTERN.test(label)) usageError(`--label must match ${KEY_LABEL_PATTERN}`);
  const keys = await generateRegionKeys(regions, label);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const publicPart = subset
    ? [
        '# 1. In wrangler.toml, add these public keys to REPLICATION_PUBLIC_KEYS in every',
        "#    [env.<region>.vars] (every region verifies every region's key):",
        ...regions.map((r) => `${JSON.stringify(keys[r]?.publicJwk)}`),
      ]
    : [
        '# 1. In wrangler.toml, in every [env.<region>.vars]:',
        `REPLICATION_PUBLIC_KEYS = ${q(publicJwksJson(keys))}`,
      ];
  const out = [
    `# Replication keys, label ${label}, for ${regions.join(', ')}.`,
    '# The private keys appear only here. The commands in step 2 contain them: run them',
    '# from a shell that keeps no history (or paste each JWK at the secret prompt),',
    '# then clear your scrollback.',
    '#',
    ...publicPart,
    '#    and in each region its own key id:',
    ...regions.map((r) => `#      [env.${r}.vars] REPLICATION_KEY_ID = "${keys[r]?.kid}"`),
    '#    During a rotation, keep the current public keys in REPLICATION_PUBLIC_KEYS next',
    '#    to these until every region signs with the new key ids, then remove them.',
    '#',
    '# 2. Install each private key as a secret:',
    ...regions.map(
      (r) =>
        `printf '%s' ${q(JSON.stringify(keys[r]?.privateJwk))} | npx wrangler secret put REPLICATION_PRIVATE_KEY --env ${r}`,
    ),
    '#',
    '# 3. Deploy: npm run deploy -- --all',
  ];
  console.log(out.join('\n'));
}

/** Raw and gzip bytes of the bundle wrangler wrote (source maps and README aside). */
function bundleSize(dir: string): { files: number; bytes: number; gzip: number } {
  let files = 0;
  let bytes = 0;
  let gzip = 0;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.map') && entry.name !== 'README.md') {
        const data = readFileSync(path);
        files++;
        bytes += data.length;
        gzip += gzipSync(data).length;
      }
    }
  };
  walk(dir);
  return { files, bytes, gzip };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function runWrangler(args: string[]): Promise<number | string> {
  return new Promise((resolveRun) => {
    const child = spawn(wranglerBinary(ROOT), args, {
      cwd: ROOT,
      env: wranglerEnv(ROOT),
      stdio: 'inherit',
    });
    child.once('error', (error) => {
      say(`could not start wrangler: ${error.message}`);
      resolveRun('spawn error');
    });
    child.once('exit', (code, signal) => resolveRun(code ?? signal ?? 'unknown'));
  });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  let config: WranglerConfig;
  try {
    config = readWranglerToml(readFileSync(CONFIG, 'utf8'));
  } catch (error) {
    console.error(`cannot read wrangler.toml: ${(error as Error).message}`);
    process.exit(1);
  }
  const envs = selectEnvs(config, options);

  if (options.generateKeys) {
    const now = new Date();
    const label =
      options.label ?? `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    await generateKeys(envs, label, envs.length < config.envs.length);
    return;
  }

  // Preflight: every selected region, before anything is deployed.
  let refused = false;
  for (const env of envs) {
    for (const problem of checkEnv(config, env)) {
      say(`${options.dryRun ? 'warning' : 'error'}: [env.${env}] ${problem}`);
      refused ||= !options.dryRun;
    }
  }
  if (refused) {
    say('nothing deployed: fix wrangler.toml (or try --dry-run)');
    process.exit(1);
  }

  const results: string[] = [];
  for (const [i, env] of envs.entries()) {
    const outdir = join(ROOT, '.strata', 'deploy', env);
    const args = ['deploy', '--env', env];
    if (options.dryRun) {
      rmSync(outdir, { recursive: true, force: true });
      args.push('--dry-run', '--outdir', outdir);
    }
    say(`(${i + 1}/${envs.length}) ${env}: wrangler ${args.join(' ')}`);
    const started = Date.now();
    const code = await runWrangler(args);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (code !== 0) {
      const rest = envs.slice(i + 1);
      say(`${env} FAILED (wrangler exit ${code}) after ${seconds} s`);
      if (rest.length) say(`not attempted: ${rest.join(', ')}`);
      if (results.length) say(`already done: ${results.join('; ')}`);
      process.exit(typeof code === 'number' ? code : 1);
    }
    let summary = `${env} ok in ${seconds} s`;
    if (options.dryRun) {
      try {
        if (!statSync(outdir).isDirectory()) throw new Error('not a directory');
        const size = bundleSize(outdir);
        summary += `, bundle ${kib(size.bytes)} (gzip ${kib(size.gzip)}) in ${relative(ROOT, outdir)}/`;
      } catch {
        summary += ', no bundle written';
      }
    }
    say(summary);
    results.push(summary);
  }
  say(
    `${options.dryRun ? 'dry run: built' : 'deployed'} ${envs.length} region${envs.length === 1 ? '' : 's'}: ${envs.join(', ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

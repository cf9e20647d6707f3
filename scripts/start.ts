/**
 * `npm start`: the whole local stack in one command.
 *
 *   redis-server (persistent, .strata/redis)   or the embedded in-memory store
 *     └─ L3 server (Upstash REST, random token, free port)
 *          └─ wrangler dev per region (the Worker, Durable Objects in .strata/)
 *
 * One region by default, named `local`, on PORT with its state in
 * .strata/wrangler (the top-level wrangler.toml config, no peers). With
 * `--regions N` (1–8), N regions share the one L3: region i is named
 * us-east, eu-west, ap-southeast, then region-3, …, listens on PORT + i, keeps
 * its state in .strata/regions/<name>/, and has the others as PEERS; a fresh
 * ES256 replication key pair per region is generated at every start and kept
 * in memory only.
 *
 * Environment:
 *   PORT                 port of the first region (default 8787)
 *   STRATA_DEV_API_KEY   bootstrap admin key handed to every region as
 *                        STRATA_ADMIN_KEY (default `strata-dev-admin-key`)
 *   STRATA_WEBHOOK_SECRET  the `default` webhook endpoint's secret, `whsec_<base64>`
 *                        (default DEFAULT_WEBHOOK_SECRET below, printed in the banner)
 *   ORIGIN_URL, API_PREFIX, PROXY_*   proxy mode, passed to every region (README "Proxy mode")
 * Flags:
 *   --regions N  run N regions (default 1)
 *   --fresh      wipe .strata/ (L3 data, Durable Object state) first
 *   --verbose    log every L3 request
 *
 * Ctrl-C or SIGTERM stops everything started here and exits 0; if any child
 * dies on its own, the rest is stopped and the exit code is non-zero.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type L3Server, randomToken, startL3Server } from './l3-server.ts';
import { findRedisServer, type RedisProcess, startRedis } from './lib/redis-process.ts';
import {
  LOCATION_HINTS,
  type RegionProcess,
  regionName,
  startRegion,
} from './lib/region-process.ts';
import { generateRegionKeys } from './lib/replication-keys.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = join(ROOT, '.strata');
const DEFAULT_ADMIN_KEY = 'strata-dev-admin-key';
/** The local stack's webhook secret unless STRATA_WEBHOOK_SECRET is set: for trying webhooks, never for production. */
const DEFAULT_WEBHOOK_SECRET = `whsec_${Buffer.from('strata-dev-webhook-secret-000000').toString('base64')}`;
const MAX_REGIONS = 8;
/** Proxy mode's variables, passed to every region when set in the environment. */
const PROXY_VARS = [
  'ORIGIN_URL',
  'API_PREFIX',
  'PROXY_NAMESPACE',
  'PROXY_ORIGIN_TIMEOUT_MS',
  'PROXY_MAX_BODY_BYTES',
  'PROXY_KEEP_STALE',
  'PROXY_EXPOSE_TAGS',
  'PROXY_MAX_HEURISTIC',
  'PROXY_PASS_TTL',
];
/** After this long without a 200 from /healthz, print the banner anyway, with a warning. */
const HEALTH_PATIENCE_MS = 90_000;
const USAGE = `usage: npm start [-- --regions N] [-- --fresh] [-- --verbose]   (N from 1 to ${MAX_REGIONS}, default 1)`;

const say = (line: string) => console.log(`[strata] ${line}`);

interface Stack {
  redis?: RedisProcess;
  l3?: L3Server;
  regions: RegionProcess[];
  stopping: boolean;
}

const stack: Stack = { regions: [], stopping: false };

/** Stops what was started, newest first, then exits with `code`. */
async function shutdown(code: number, reason?: string): Promise<never> {
  if (stack.stopping) return new Promise<never>(() => {});
  stack.stopping = true;
  if (reason) say(reason);
  say('stopping…');
  // SIGTERM to each region's process group (wrangler and workerd), SIGKILL after 5 s.
  await Promise.allSettled(stack.regions.map((r) => r.stop()));
  await stack.l3?.close().catch((e: unknown) => say(`L3 server: ${String(e)}`));
  await stack.redis?.stop().catch((e: unknown) => say(`redis-server: ${String(e)}`));
  say(code === 0 ? 'stopped' : `stopped (exit ${code})`);
  process.exit(code);
}

function forceExit(): never {
  for (const region of stack.regions) void region.kill('SIGKILL');
  try {
    if (stack.redis) process.kill(stack.redis.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  process.exit(130);
}

interface Options {
  regions: number;
  fresh: boolean;
  verbose: boolean;
}

/** Parses the flags; prints usage and exits 2 on anything unknown or malformed. */
function parseArgs(argv: string[]): Options {
  const options: Options = { regions: 1, fresh: false, verbose: false };
  const fail = (problem: string): never => {
    console.error(`${USAGE}\n  ${problem}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--fresh') options.fresh = true;
    else if (arg === '--verbose') options.verbose = true;
    else if (arg === '--regions' || arg.startsWith('--regions=')) {
      const raw = arg === '--regions' ? argv[++i] : arg.slice('--regions='.length);
      if (raw === undefined || !/^\d+$/.test(raw)) fail('--regions needs a number');
      const n = Number(raw);
      if (n < 1 || n > MAX_REGIONS) fail(`--regions must be from 1 to ${MAX_REGIONS}, got ${raw}`);
      options.regions = n;
    } else fail(`unknown: ${arg}`);
  }
  return options;
}

/** The health word for the banner: the body's `status`, else the HTTP status. */
function healthWord(result: { body?: unknown; error?: string }): string {
  if (result.error !== undefined) return 'not answering 200 yet';
  const status = (result.body as { status?: unknown } | undefined)?.status;
  return typeof status === 'string' ? status : 'HTTP 200';
}

interface RegionStatus {
  region: RegionProcess;
  health: { body?: unknown; error?: string };
}

function banner(opts: {
  regions: RegionStatus[];
  key: string;
  keyIsDefault: boolean;
  webhookSecret: string;
  webhookSecretIsDefault: boolean;
  l3: L3Server;
  l3Token: string;
  redis?: RedisProcess;
  single: boolean;
}): string {
  const { key } = opts;
  const l3Backend = opts.redis
    ? `${opts.redis.url}   (redis-cli -p ${opts.redis.port}; data in ${relative(ROOT, join(STATE_DIR, 'redis'))}/)`
    : 'embedded in-memory store (data is lost on exit)';
  const keyLine = `  Admin key   ${key}${opts.keyIsDefault ? '   (the default; set STRATA_DEV_API_KEY to change it)' : ''}`;
  const lines: string[] = [''];
  const first = opts.regions[0] as RegionStatus;
  if (opts.single) {
    const url = first.region.url;
    lines.push(
      `  Strata is running at ${url}   (health: ${healthWord(first.health)})`,
      '',
      keyLine,
      '',
      '  Try it:',
      `    curl -H "Authorization: Bearer ${key}" -X PUT --data hello ${url}/v1/cache/demo/greeting`,
      `    curl -H "Authorization: Bearer ${key}" ${url}/v1/cache/demo/greeting`,
      '',
    );
  } else {
    const second = opts.regions[1] as RegionStatus;
    const width = Math.max(...opts.regions.map((r) => r.region.name.length));
    lines.push(`  Strata is running: ${opts.regions.length} regions sharing one L3`, '');
    for (const { region, health } of opts.regions) {
      lines.push(
        `    ${region.name.padEnd(width)}   ${region.url}   (health: ${healthWord(health)})`,
      );
    }
    lines.push(
      '',
      keyLine,
      '',
      `  Try it: write in ${first.region.name}, read in ${second.region.name}:`,
      `    curl -H "Authorization: Bearer ${key}" -X PUT --data hello ${first.region.url}/v1/cache/demo/greeting`,
      `    curl -H "Authorization: Bearer ${key}" ${second.region.url}/v1/cache/demo/greeting`,
      '',
      '  Keys        a fresh ES256 replication key pair per region (kid <region>/dev), in memory only',
    );
  }
  if (process.env.ORIGIN_URL) {
    lines.push(
      `  Proxy       every path outside ${process.env.API_PREFIX || '/v1'} goes to ${process.env.ORIGIN_URL}, cached (namespace ${process.env.PROXY_NAMESPACE || 'proxy'})`,
    );
  }
  lines.push(
    `  Webhooks    POST ${first.region.url}/v1/webhooks/invalidate, secret ${opts.webhookSecret}` +
      (opts.webhookSecretIsDefault
        ? '   (the default; set STRATA_WEBHOOK_SECRET to change it)'
        : ''),
    `  L3          ${opts.l3.url}   (Upstash REST, token ${opts.l3Token})`,
    `  Redis       ${l3Backend}`,
    opts.single
      ? '  State       .strata/   (start with `npm start -- --fresh` to wipe it)'
      : '  State       .strata/regions/<name>/, L3 in .strata/redis   (`--fresh` wipes .strata/)',
    '  Stop        Ctrl-C',
    '',
  );
  for (const { region, health } of opts.regions) {
    if (health.error === undefined) continue;
    lines.push(
      `  warning: ${opts.single ? '' : `${region.name}: `}/healthz has not answered 200 yet (${health.error}); see the wrangler output above`,
    );
  }
  if (opts.regions.some((r) => r.health.error !== undefined)) lines.push('');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const port = Number(process.env.PORT || 8787);
  if (!Number.isInteger(port) || port < 1 || port + options.regions - 1 > 65535) {
    console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
    process.exit(2);
  }
  const key = process.env.STRATA_DEV_API_KEY || DEFAULT_ADMIN_KEY;
  const single = options.regions === 1;
  const webhookSecret = process.env.STRATA_WEBHOOK_SECRET || DEFAULT_WEBHOOK_SECRET;
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(webhookSecret)) {
    console.error('STRATA_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_<base64>');
    process.exit(2);
  }
  const vars: Record<string, string> = { STRATA_WEBHOOK_SECRET: webhookSecret };
  // Proxy mode (README "Proxy mode"): every region proxies the same origin.
  for (const name of PROXY_VARS) {
    const value = process.env[name];
    if (value) vars[name] = value;
  }

  // A second Ctrl-C while stopping kills what is left at once.
  const onSignal = () => (stack.stopping ? forceExit() : void shutdown(0));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (options.fresh) {
    rmSync(STATE_DIR, { recursive: true, force: true });
    say('--fresh: wiped .strata/');
  }
  mkdirSync(STATE_DIR, { recursive: true });

  if (findRedisServer()) {
    stack.redis = await startRedis({ persist: true, dir: join(STATE_DIR, 'redis') });
    say(`redis-server on ${stack.redis.url} (persistent, .strata/redis)`);
    void stack.redis.exited.then((code) =>
      shutdown(1, `redis-server exited unexpectedly (${code})`),
    );
  } else {
    say(
      'redis-server not found: using the embedded in-memory L3 store (data is lost on exit); ' +
        'install it with apt-get install redis-server',
    );
  }

  const l3Token = randomToken();
  stack.l3 = await startL3Server({
    redisUrl: stack.redis?.url,
    embedded: !stack.redis,
    token: l3Token,
    log: options.verbose ? (line) => console.log(`[l3] ${line}`) : undefined,
  });
  say(`L3 server on ${stack.l3.url}`);
  if (stack.stopping) return;

  const names = Array.from({ length: options.regions }, (_, i) => regionName(i));
  const urls = names.map((_, i) => `http://127.0.0.1:${port + i}`);
  const keys = single ? undefined : await generateRegionKeys(names);
  const output = (line: string, stream: 'stdout' | 'stderr') =>
    (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);

  for (const [i, name] of names.entries()) {
    if (stack.stopping) return;
    const region = await startRegion(
      single
        ? {
            // Exactly the pre-multi-region stack: wrangler.toml's REGION (`local`),
            // no peers, wrangler's own inspector port, state in .strata/wrangler.
            name: 'local',
            label: 'wrangler',
            port,
            persistTo: join(STATE_DIR, 'wrangler'),
            adminKey: key,
            l3: { url: stack.l3.url, token: l3Token },
            passRegion: false,
            inspectorPort: null,
            vars,
            output,
          }
        : {
            name,
            port: port + i,
            persistTo: join(STATE_DIR, 'regions', name),
            adminKey: key,
            l3: { url: stack.l3.url, token: l3Token },
            replication: {
              peers: Object.fromEntries(
                names.flatMap((peer, j) => (j === i ? [] : [[peer, urls[j] as string]])),
              ),
              keys: keys ?? {},
            },
            locationHint: LOCATION_HINTS[name],
            vars,
            output,
          },
    );
    stack.regions.push(region);
    const what = single ? 'wrangler' : `region ${name} (wrangler)`;
    void region.exited.then((code) => shutdown(1, `${what} exited unexpectedly (${code})`));
  }
  if (!single) say(`started ${names.length} regions: ${names.join(', ')}`);

  const statuses = await Promise.all(
    stack.regions.map(async (region): Promise<RegionStatus> => {
      try {
        return { region, health: { body: await region.waitHealthy(HEALTH_PATIENCE_MS) } };
      } catch (error) {
        return { region, health: { error: (error as Error).message.replace(/^region \S+: /, '') } };
      }
    }),
  );
  if (stack.stopping) return;
  console.log(
    banner({
      regions: statuses,
      key,
      keyIsDefault: !process.env.STRATA_DEV_API_KEY,
      webhookSecret,
      webhookSecretIsDefault: !process.env.STRATA_WEBHOOK_SECRET,
      l3: stack.l3,
      l3Token,
      redis: stack.redis,
      single,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  void shutdown(1, 'startup failed');
});

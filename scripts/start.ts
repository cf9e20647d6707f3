/**
 * `npm start`: the whole local stack in one command.
 *
 *   redis-server (persistent, .strata/redis)   or the embedded in-memory store
 *     └─ L3 server (Upstash REST, random token, free port)
 *          └─ wrangler dev (the Worker, Durable Objects in .strata/wrangler)
 *
 * Environment:
 *   PORT                 Worker port (default 8787)
 *   STRATA_DEV_API_KEY   bootstrap admin key handed to the Worker as
 *                        STRATA_ADMIN_KEY (default `strata-dev-admin-key`)
 * Flags:
 *   --fresh     wipe .strata/ (L3 data, Durable Object state) first
 *   --verbose   log every L3 request
 *
 * Ctrl-C or SIGTERM stops everything started here and exits 0; if any child
 * dies on its own, the rest is stopped and the exit code is non-zero.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type L3Server, randomToken, startL3Server } from './l3-server.ts';
import { findRedisServer, type RedisProcess, startRedis } from './lib/redis-process.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = join(ROOT, '.strata');
const DEFAULT_ADMIN_KEY = 'strata-dev-admin-key';
const HEALTH_POLL_MS = 300;
/** After this long without a 200 from /healthz, print the banner anyway, with a warning. */
const HEALTH_PATIENCE_MS = 90_000;

const say = (line: string) => console.log(`[strata] ${line}`);

interface Stack {
  redis?: RedisProcess;
  l3?: L3Server;
  wrangler?: ChildProcess;
  wranglerExited?: Promise<void>;
  stopping: boolean;
}

const stack: Stack = { stopping: false };

/** Stops what was started, newest first, then exits with `code`. */
async function shutdown(code: number, reason?: string): Promise<never> {
  if (stack.stopping) return new Promise<never>(() => {});
  stack.stopping = true;
  if (reason) say(reason);
  say('stopping…');
  await stopWrangler();
  await stack.l3?.close().catch((e: unknown) => say(`L3 server: ${String(e)}`));
  await stack.redis?.stop().catch((e: unknown) => say(`redis-server: ${String(e)}`));
  say(code === 0 ? 'stopped' : `stopped (exit ${code})`);
  process.exit(code);
}

function forceExit(): never {
  if (stack.wrangler?.pid) {
    try {
      process.kill(-stack.wrangler.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    if (stack.redis) process.kill(stack.redis.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  process.exit(130);
}

/** SIGTERM to wrangler's whole process group (it runs workerd children), SIGKILL after 5 s. */
async function stopWrangler(): Promise<void> {
  const child = stack.wrangler;
  if (!child?.pid) return;
  const group = -child.pid;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(group, s);
    } catch {
      // the group is already empty
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 5_000);
    await stack.wranglerExited;
    clearTimeout(timer);
  }
  // workerd can outlive wrangler (say, when wrangler itself was killed): empty the group.
  signal('SIGKILL');
}

/** Prefixes each line of a child's output stream. */
function pipeLines(
  stream: NodeJS.ReadableStream | null,
  prefix: string,
  out: NodeJS.WriteStream,
): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
    out.write(`${prefix}${line}\n`);
  });
}

/** Polls `GET /healthz` until it answers 200; returns the last status seen and its body. */
async function waitForHealth(url: string, key: string): Promise<{ status: number; body: string }> {
  const started = Date.now();
  let last = { status: 0, body: '' };
  while (!stack.stopping) {
    try {
      const res = await fetch(`${url}/healthz`, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(3_000),
      });
      last = { status: res.status, body: await res.text() };
      if (res.ok) return last;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > HEALTH_PATIENCE_MS) return last;
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
  return last;
}

function banner(opts: {
  url: string;
  key: string;
  keyIsDefault: boolean;
  l3: L3Server;
  l3Token: string;
  redis?: RedisProcess;
  health: { status: number; body: string };
}): string {
  const { url, key } = opts;
  let health = `HTTP ${opts.health.status || 'no answer'}`;
  try {
    health = (JSON.parse(opts.health.body) as { status?: string }).status ?? health;
  } catch {
    // not JSON: keep the HTTP status
  }
  const l3Backend = opts.redis
    ? `${opts.redis.url}   (redis-cli -p ${opts.redis.port}; data in ${relative(ROOT, join(STATE_DIR, 'redis'))}/)`
    : 'embedded in-memory store (data is lost on exit)';
  const lines = [
    '',
    `  Strata is running at ${url}   (health: ${health})`,
    '',
    `  Admin key   ${key}${opts.keyIsDefault ? '   (the default; set STRATA_DEV_API_KEY to change it)' : ''}`,
    '',
    '  Try it:',
    `    curl -H "Authorization: Bearer ${key}" -X PUT --data hello ${url}/v1/cache/demo/greeting`,
    `    curl -H "Authorization: Bearer ${key}" ${url}/v1/cache/demo/greeting`,
    '',
    `  L3          ${opts.l3.url}   (Upstash REST, token ${opts.l3Token})`,
    `  Redis       ${l3Backend}`,
    '  State       .strata/   (start with `npm start -- --fresh` to wipe it)',
    '  Stop        Ctrl-C',
    '',
  ];
  if (opts.health.status !== 200) {
    lines.push(
      `  warning: /healthz has not answered 200 yet (last: ${health}); see the wrangler output above`,
      '',
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const unknown = [...args].filter((a) => a !== '--fresh' && a !== '--verbose');
  if (unknown.length) {
    console.error(`usage: npm start [-- --fresh] [-- --verbose]   (unknown: ${unknown.join(' ')})`);
    process.exit(2);
  }
  const port = Number(process.env.PORT || 8787);
  const key = process.env.STRATA_DEV_API_KEY || DEFAULT_ADMIN_KEY;
  const url = `http://127.0.0.1:${port}`;

  // A second Ctrl-C while stopping kills what is left at once.
  const onSignal = () => (stack.stopping ? forceExit() : void shutdown(0));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (args.has('--fresh')) {
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
    log: args.has('--verbose') ? (line) => console.log(`[l3] ${line}`) : undefined,
  });
  say(`L3 server on ${stack.l3.url}`);
  if (stack.stopping) return;

  // The Node running this script (22, from node_modules) must also run wrangler:
  // its shebang would otherwise pick whatever `node` comes first on PATH.
  const path = [
    dirname(process.execPath),
    join(ROOT, 'node_modules', '.bin'),
    process.env.PATH ?? '',
  ].join(delimiter);
  const wranglerArgs = [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--var',
    `UPSTASH_REDIS_REST_URL:${stack.l3.url}`,
    '--var',
    `UPSTASH_REDIS_REST_TOKEN:${l3Token}`,
    '--var',
    `STRATA_ADMIN_KEY:${key}`,
    '--persist-to',
    join(STATE_DIR, 'wrangler'),
  ];
  const wrangler = spawn(join(ROOT, 'node_modules', '.bin', 'wrangler'), wranglerArgs, {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: path,
      WRANGLER_SEND_METRICS: 'false',
      // Strata never reads request.cf; skip miniflare's fetch of it (a warning and
      // a stack trace on every start when offline). Set it to true to re-enable.
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so shutdown can signal wrangler and workerd together
    // and a terminal Ctrl-C reaches only us (we stop children in order).
    detached: true,
  });
  stack.wrangler = wrangler;
  stack.wranglerExited = new Promise((r) => wrangler.once('exit', () => r()));
  wrangler.once('error', (error) => void shutdown(1, `could not start wrangler: ${error.message}`));
  wrangler.once('exit', (code, signal) => {
    void shutdown(1, `wrangler exited unexpectedly (${code ?? signal})`);
  });
  pipeLines(wrangler.stdout, '[wrangler] ', process.stdout);
  pipeLines(wrangler.stderr, '[wrangler] ', process.stderr);

  const health = await waitForHealth(url, key);
  if (stack.stopping) return;
  const keyIsDefault = !process.env.STRATA_DEV_API_KEY;
  console.log(
    banner({ url, key, keyIsDefault, l3: stack.l3, l3Token, redis: stack.redis, health }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  void shutdown(1, 'startup failed');
});

/**
 * One Strata region as a local `wrangler dev` process (wrangler + its workerd
 * children, in their own process group), for `npm start -- --regions N` and
 * the multi-region test cluster.
 *
 * Every setting reaches the Worker as `--var NAME:VALUE`; wrangler splits on
 * the first colon only, so URLs and JSON values pass through unchanged, and it
 * marks CLI vars hidden, so the private key is not printed in its binding table.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type RegionKeySet, replicationVars } from './replication-keys.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HEALTH_POLL_MS = 250;
const STOP_GRACE_MS = 5_000;

/** The first local regions, named like the wrangler.toml environments; then `region-3`, … */
export const REGION_NAMES = ['us-east', 'eu-west', 'ap-southeast'] as const;

/** Durable Object location hints of the named regions (as in wrangler.toml). */
export const LOCATION_HINTS: Readonly<Record<string, string>> = {
  'us-east': 'enam',
  'eu-west': 'weur',
  'ap-southeast': 'apac',
};

/**
 * The name of local region `i` (0-based).
 *
 * @example
 * regionName(1); // 'eu-west'
 * regionName(4); // 'region-4'
 */
export function regionName(i: number): string {
  return REGION_NAMES[i] ?? `region-${i}`;
}

/** Where a region's output lines go, already prefixed `[<label>] ` (the region name by default). */
export type LineSink = (line: string, stream: 'stdout' | 'stderr') => void;

export interface RegionOptions {
  /** Region name: the Worker's `REGION`, `[a-z0-9][a-z0-9-]{0,31}`. */
  name: string;
  /** Port on 127.0.0.1. */
  port: number;
  /** wrangler's `--persist-to` (Durable Object state); created if missing. */
  persistTo: string;
  /** Bootstrap admin key (`STRATA_ADMIN_KEY`); also the Bearer token of `waitHealthy`. */
  adminKey: string;
  /** The shared L3 (`UPSTASH_REDIS_REST_URL` / `_TOKEN`). */
  l3?: { url: string; token: string };
  /**
   * The other regions' base URLs (`PEERS`) and the cluster's key set
   * (`REPLICATION_*` for this region). Omit for a lone region: then neither
   * `PEERS` nor any replication variable is passed.
   */
  replication?: { peers: Record<string, string>; keys: RegionKeySet };
  /** `LOCATION_HINT` (enam, weur, apac, …); not passed when omitted. */
  locationHint?: string;
  /** More `--var`s, applied last (override anything above, e.g. `ANTI_ENTROPY_INTERVAL`). */
  vars?: Record<string, string>;
  /**
   * Pass `REGION` with `--var` (default true). The lone `npm start` region
   * leaves it to wrangler.toml (`local`), exactly as before multi-region.
   */
  passRegion?: boolean;
  /** Worker name (`--name`); defaults to wrangler.toml's `name`. */
  workerName?: string;
  /**
   * Devtools port. Default 0: workerd binds a port of its own choosing. (Left
   * out, wrangler would probe from 9229 up, and instances starting together
   * can race for the same port; a port picked free beforehand can be taken
   * by another instance's ephemeral sockets before wrangler binds it.)
   * null: pass no flag, i.e. wrangler's default (9229 or the next free one).
   */
  inspectorPort?: number | null;
  /** Output prefix label (default the region name): lines arrive as `[<label>] …`. */
  label?: string;
  /** Receives each output line, prefixed `[<label>] `. Default: discard. */
  output?: LineSink;
  /** Project root holding wrangler.toml (default: this repository). */
  cwd?: string;
  /** Extra environment for wrangler (e.g. `FORCE_COLOR: '0'`). */
  env?: Record<string, string>;
}

/** A running region started by `startRegion`. */
export interface RegionProcess {
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** wrangler's pid, which is also the process group id. */
  pid: number;
  /** The devtools port it was given (0: chosen by workerd; null: wrangler's default). */
  inspectorPort: number | null;
  /** The `--var`s it was started with (names to values; includes the private key). */
  vars: Readonly<Record<string, string>>;
  /** Resolves with wrangler's exit code (or signal name) when it exits, for whatever reason. */
  exited: Promise<number | string | null>;
  /** True once wrangler has exited. */
  readonly hasExited: boolean;
  /**
   * Sends `signal` to the whole process group (wrangler and workerd); with
   * SIGKILL this is `kill -9`, and it resolves once no live process is left in
   * the group (so the port is free again). Other signals resolve once sent.
   */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** SIGTERM to the group, SIGKILL after 5 s; resolves once the group is empty. Idempotent. */
  stop(): Promise<void>;
  /**
   * Polls `GET /healthz` (Bearer admin key) until it answers 200; returns the
   * parsed body. Rejects with the last status seen on timeout, or at once if
   * wrangler exits.
   */
  waitHealthy(timeoutMs?: number): Promise<unknown>;
}

/** The project's wrangler executable. */
export function wranglerBinary(cwd = ROOT): string {
  return join(cwd, 'node_modules', '.bin', 'wrangler');
}

/**
 * `process.env` with PATH set so that wrangler runs on Node >= 22: the Node
 * running this script when it is new enough (22 from node_modules, under
 * `npm run`), else the one in node_modules. wrangler's shebang would otherwise
 * pick whatever `node` comes first on PATH.
 */
export function wranglerEnv(cwd = ROOT): NodeJS.ProcessEnv {
  const nodeDir =
    Number(process.versions.node.split('.')[0]) >= 22
      ? dirname(process.execPath)
      : join(cwd, 'node_modules', 'node', 'bin');
  const path = [nodeDir, join(cwd, 'node_modules', '.bin'), process.env.PATH ?? '']
    .filter(Boolean)
    .join(delimiter);
  return { ...process.env, PATH: path };
}

/**
 * A TCP port free on 127.0.0.1 right now, chosen below the kernel's ephemeral
 * range (/proc/sys/net/ipv4/ip_local_port_range). A port from `listen(0)` lies
 * inside that range, where the sockets of other starting processes (workerd
 * binds several on port 0, every outgoing connection takes one) can grab it
 * before our child binds it; below the range only explicit binds compete.
 * `avoid` lists ports already handed out but not yet bound.
 *
 * @example
 * const port = await pickPort(); // e.g. 23117
 */
export async function pickPort(avoid: Iterable<number> = []): Promise<number> {
  const taken = new Set(avoid);
  let low = 32768;
  try {
    low =
      Number(
        readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
      ) || low;
  } catch {
    // not Linux: assume the common default
  }
  const min = 10_000;
  const max = Math.max(min + 1000, low) - 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    if (taken.has(port)) continue;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found in [${min}, ${max}]`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveListen) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveListen(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveListen(true)));
  });
}

/** The `--var`s a region is started with. */
export function regionVars(opts: RegionOptions): Record<string, string> {
  const vars: Record<string, string> = {};
  if (opts.passRegion ?? true) vars.REGION = opts.name;
  if (opts.l3) {
    vars.UPSTASH_REDIS_REST_URL = opts.l3.url;
    vars.UPSTASH_REDIS_REST_TOKEN = opts.l3.token;
  }
  vars.STRATA_ADMIN_KEY = opts.adminKey;
  if (opts.replication) {
    vars.PEERS = JSON.stringify(opts.replication.peers);
    Object.assign(vars, replicationVars(opts.replication.keys, opts.name));
  }
  if (opts.locationHint) vars.LOCATION_HINT = opts.locationHint;
  Object.assign(vars, opts.vars);
  return vars;
}

/** `wrangler dev` arguments for a region (without the binary). */
export function wranglerDevArgs(
  opts: RegionOptions,
  inspectorPort: number | null,
  vars: Record<string, string>,
): string[] {
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(opts.port)];
  if (inspectorPort !== null) args.push('--inspector-port', String(inspectorPort));
  if (opts.workerName) args.push('--name', opts.workerName);
  for (const [name, value] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad variable name ${name}`);
    // One argv element each: no shell, so JSON and colons need no quoting.
    args.push('--var', `${name}:${value}`);
  }
  args.push('--persist-to', opts.persistTo);
  return args;
}

/**
 * Spawns `wrangler dev` for one region. Resolves once the process is spawned,
 * not when it is healthy: call `waitHealthy()`.
 *
 * @example
 * const region = await startRegion({
 *   name: 'eu-west', port: 8788, persistTo: '.strata/regions/eu-west', adminKey,
 *   l3: { url: l3.url, token }, replication: { peers, keys },
 *   output: (line) => console.log(line),
 * });
 * await region.waitHealthy(90_000);
 * // ...
 * await region.stop();
 */
export async function startRegion(opts: RegionOptions): Promise<RegionProcess> {
  const cwd = opts.cwd ?? ROOT;
  const inspectorPort = opts.inspectorPort === undefined ? 0 : opts.inspectorPort;
  const vars = regionVars(opts);
  const args = wranglerDevArgs(opts, inspectorPort, vars);
  mkdirSync(opts.persistTo, { recursive: true });

  const child = spawn(wranglerBinary(cwd), args, {
    cwd,
    env: {
      ...wranglerEnv(cwd),
      WRANGLER_SEND_METRICS: 'false',
      // Strata never reads request.cf; skip miniflare's fetch of it (a warning and
      // a stack trace on every start when offline). Set it to true to re-enable.
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so wrangler and workerd can be signalled together
    // and a terminal Ctrl-C reaches only our parent (which stops us in order).
    detached: true,
  });

  const prefix = `[${opts.label ?? opts.name}] `;
  const sink = opts.output;
  for (const [stream, name] of [
    [child.stdout, 'stdout'],
    [child.stderr, 'stderr'],
  ] as const) {
    if (!stream) continue;
    if (!sink) {
      stream.resume();
      continue;
    }
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
      sink(`${prefix}${line}`, name),
    );
  }

  let hasExited = false;
  const exited = new Promise<number | string | null>((resolveExit) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      resolveExit(code ?? signal);
    });
    child.once('error', (error) => {
      hasExited = true;
      sink?.(`${prefix}could not start wrangler: ${error.message}`, 'stderr');
      resolveExit(null);
    });
  });
  const group = new ProcessGroup(child.pid ?? -1);
  const pid = group.pgid;
  liveGroups.add(group);
  ensureExitHook();
  const awaitEmpty = async () => {
    await group.waitEmpty(STOP_GRACE_MS);
    liveGroups.delete(group);
  };

  let stopping: Promise<void> | undefined;
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    group.signal(signal);
    if (signal === 'SIGKILL') await awaitEmpty();
  };
  const url = `http://127.0.0.1:${opts.port}`;
  return {
    name: opts.name,
    port: opts.port,
    url,
    pid,
    inspectorPort,
    vars,
    exited,
    get hasExited() {
      return hasExited;
    },
    kill,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          group.signal('SIGTERM');
          const timer = setTimeout(() => group.signal('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(timer);
        }
        // workerd can outlive wrangler (say, when wrangler itself was killed): empty the group.
        group.signal('SIGKILL');
        await awaitEmpty();
      })();
      return stopping;
    },
    waitHealthy: (timeoutMs = 90_000) =>
      waitHealthy(url, opts.adminKey, timeoutMs, () => hasExited, exited, opts.name),
  };
}

/** Groups not yet seen empty: SIGKILLed when this process exits, whatever the reason. */
const liveGroups = new Set<ProcessGroup>();
let exitHooked = false;

/** One `exit` listener for every region (a listener per region would trip Node's leak warning). */
function ensureExitHook(): void {
  if (exitHooked) return;
  exitHooked = true;
  // Last resort: a crashed parent must not leave workerd holding a port.
  process.on('exit', () => {
    for (const group of liveGroups) group.signal('SIGKILL');
  });
}

/**
 * A process group (wrangler and its workerd children). Once it has been seen
 * empty it is never signalled again: its id may belong to someone else by then.
 */
class ProcessGroup {
  readonly pgid: number;
  private empty: boolean;

  constructor(pgid: number) {
    this.pgid = pgid;
    this.empty = pgid <= 0;
  }

  /** Sends `signal` to every process of the group; false if it is empty. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.empty) return false;
    try {
      process.kill(-this.pgid, signal);
      return true;
    } catch {
      return false; // ESRCH: the group is empty
    }
  }

  /** Waits until no live process is left, SIGKILLing the group again now and then. */
  async waitEmpty(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.empty && groupAlive(this.pgid)) {
      if (Date.now() > deadline) throw new Error(`process group ${this.pgid} survived SIGKILL`);
      await new Promise((r) => setTimeout(r, 25));
      this.signal('SIGKILL');
    }
    this.empty = true;
  }
}

/**
 * Whether any process of group `pgid` is still alive. Zombies do not count:
 * workerd orphaned by a killed wrangler is re-parented, and a PID 1 that does
 * not reap would keep `kill(-pgid, 0)` succeeding forever.
 */
export function groupAlive(pgid: number): boolean {
  if (pgid <= 0) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No procfs: best effort.
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

async function waitHealthy(
  url: string,
  key: string,
  timeoutMs: number,
  dead: () => boolean,
  exited: Promise<number | string | null>,
  name: string,
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (dead()) throw new Error(`region ${name}: wrangler exited (${String(await exited)})`);
    try {
      const res = await fetch(`${url}/healthz`, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(Math.max(1, Math.min(5_000, deadline - Date.now()))),
      });
      const body = await res.text();
      if (res.ok) {
        try {
          return JSON.parse(body) as unknown;
        } catch {
          return body;
        }
      }
      last = `HTTP ${res.status} ${body.slice(0, 300)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
  throw new Error(
    `region ${name}: /healthz did not answer 200 within ${timeoutMs} ms (last: ${last})`,
  );
}

/**
 * A local multi-region Strata cluster for the sim tests and the multi-region benchmark: one `wrangler dev`
 * per region (scripts/lib/region-process.ts), all on the test project's
 * shared L3, each behind a fault proxy (./fault-proxy.ts).
 *
 * Peers reach each other only through the proxies (`PEERS` names the OTHER
 * regions' proxy URLs), so `partition(name, true)` makes a region unreachable
 * for its peers while the test still talks to it directly at `url(name)`.
 *
 * Region output is kept in memory (the last 200 lines per region) and is
 * appended to any error the cluster throws; print it on a test failure with
 * `onTestFailed(() => console.error(cluster.output()))`. Set
 * STRATA_CLUSTER_LOG=1 to stream it to stderr as well.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import {
  LOCATION_HINTS,
  pickPort,
  REGION_NAMES,
  type RegionProcess,
  startRegion,
} from './region-process.ts';
import { generateRegionKeys, type RegionKeySet } from './replication-keys.ts';

export interface ClusterOptions {
  /** Region names; default `us-east`, `eu-west`, `ap-southeast`. */
  regions?: string[];
  /** The shared L3 (`inject('l3Url')`). */
  l3Url: string;
  /** Its token (`inject('l3Token')`). */
  l3Token: string;
  /** Extra `--var`s for every region (override the defaults, e.g. `ANTI_ENTROPY_INTERVAL`). */
  vars?: Record<string, string>;
  /** Bootstrap admin key of every region; random by default. */
  adminKey?: string;
  /** How long each region may take to answer `/healthz` 200 (default 90 s). */
  healthTimeoutMs?: number;
  /** Output lines kept per region (default 200). */
  logLines?: number;
}

export interface ClusterRegion {
  name: string;
  /** Direct URL of the region (not through its proxy). */
  url: string;
}

export interface Cluster {
  regions: ClusterRegion[];
  /** Direct URL of a region, `http://127.0.0.1:<port>`; stable across restarts. */
  url(name: string): string;
  /** The URL its peers use for it (its fault proxy). */
  proxyUrl(name: string): string;
  /** The Bearer key with every scope, in every region. */
  adminKey: string;
  /** The generated replication keys (to sign `/internal/*` requests in tests). */
  keys: RegionKeySet;
  /** SIGKILL to the region's whole process group; resolves once it is gone. */
  kill9(name: string): Promise<void>;
  /**
   * Starts the region again on the same port with the same persistence (stopping it
   * first if it is still running) and waits until `/healthz` answers 200.
   */
  restart(name: string): Promise<void>;
  /** Cuts the region off from its peers (down = true) or heals the link. */
  partition(name: string, down: boolean): void;
  /** Requests the region's proxy forwarded (i.e. peer traffic that reached it while up). */
  proxyRequests(name: string): number;
  /** The region's fault proxy, for finer statistics. */
  proxy(name: string): FaultProxy;
  /** The region's process handle (pid, vars, exited, …) as started last. */
  process(name: string): RegionProcess;
  /** The kept output of one region, or of all. */
  output(name?: string): string;
  /** Stops every region and proxy and removes the persistence directories. Idempotent. */
  stop(): Promise<void>;
}

interface Member {
  name: string;
  port: number;
  persistTo: string;
  proxy: FaultProxy;
  proc?: RegionProcess;
  /** The last `logLines` output lines. */
  lines: string[];
  /** Lines ever received (so `lines` can be indexed across trimming). */
  total: number;
}

const START_ATTEMPTS = 3;

/** Synchronous last-resort cleanups of the clusters not stopped yet, run when this process exits. */
const liveClusters = new Set<() => void>();
let exitHooked = false;

function ensureExitHook(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const cleanup of liveClusters) cleanup();
  });
}

/**
 * @example
 * const cluster = await startCluster({ l3Url: inject('l3Url'), l3Token: inject('l3Token') });
 * await fetch(`${cluster.url('eu-west')}/healthz`, {
 *   headers: { authorization: `Bearer ${cluster.adminKey}` },
 * });
 * cluster.partition('eu-west', true);
 * await cluster.stop();
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const names = opts.regions ?? [...REGION_NAMES];
  if (names.length === 0) throw new Error('startCluster: no regions');
  const adminKey = opts.adminKey ?? `cluster-admin-${randomBytes(12).toString('base64url')}`;
  const keys = await generateRegionKeys(names); // also validates the names
  const healthTimeoutMs = opts.healthTimeoutMs ?? 90_000;
  const keep = opts.logLines ?? 200;
  const echo = Boolean(process.env.STRATA_CLUSTER_LOG);

  const root = mkdtempSync(join(tmpdir(), 'strata-cluster-'));
  const members = new Map<string, Member>();
  const removeRoot = () => {
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a region still writing into it: leave it to the OS's temp cleaning
    }
  };
  const lastResort = () => {
    // kill() sends SIGKILL synchronously; only its wait is asynchronous.
    for (const m of members.values()) void m.proc?.kill('SIGKILL');
    removeRoot();
    liveClusters.delete(lastResort);
  };
  liveClusters.add(lastResort);
  ensureExitHook();

  const used: number[] = [];
  let stopped = false;

  const member = (name: string): Member => {
    const m = members.get(name);
    if (!m) throw new Error(`no region ${name} in this cluster (${names.join(', ')})`);
    return m;
  };
  const output = (name?: string): string =>
    (name ? [member(name)] : [...members.values()]).map((m) => m.lines.join('\n')).join('\n');
  const note = (m: Member, line: string) => {
    m.lines.push(line);
    m.total++;
    if (m.lines.length > keep) m.lines.splice(0, m.lines.length - keep);
    if (echo) process.stderr.write(`${line}\n`);
  };
  /** The kept lines received since `total` was `since`. */
  const linesSince = (m: Member, since: number) =>
    m.lines.slice(Math.max(0, m.lines.length - (m.total - since)));
  const withOutput = (error: unknown, m: Member): Error =>
    new Error(
      `${(error as Error).message ?? String(error)}\n--- last output of ${m.name} ---\n${output(m.name)}`,
    );

  /** Starts (or restarts) one region and waits until it is healthy. */
  const launch = async (m: Member, mayMove: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const since = m.total;
      const peers = Object.fromEntries(
        names.filter((n) => n !== m.name).map((n) => [n, member(n).proxy.url]),
      );
      const proc = await startRegion({
        name: m.name,
        port: m.port,
        persistTo: m.persistTo,
        adminKey,
        l3: { url: opts.l3Url, token: opts.l3Token },
        replication: { peers, keys },
        locationHint: LOCATION_HINTS[m.name],
        vars: opts.vars,
        env: { FORCE_COLOR: '0' },
        output: (line) => note(m, line),
      });
      m.proc = proc;
      void proc.exited.then((code) => {
        note(m, `[${m.name}] (cluster: wrangler pid ${proc.pid} exited: ${code})`);
      });
      try {
        await proc.waitHealthy(healthTimeoutMs);
        return;
      } catch (error) {
        await proc.stop();
        const clash = linesSince(m, since).some((l) => l.includes('Address already in use'));
        if (stopped || !mayMove || !clash || attempt >= START_ATTEMPTS) throw withOutput(error, m);
        // Someone took the port between our probe and wrangler's bind: move. Peers
        // address the region through its proxy, so only the proxy's target changes.
        m.port = await pickPort(used);
        used.push(m.port);
        m.proxy.setTarget(`http://127.0.0.1:${m.port}`);
        note(m, `[${m.name}] (cluster: port clash, retrying on ${m.port})`);
      }
    }
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled([...members.values()].map((m) => m.proc?.stop()));
    await Promise.allSettled([...members.values()].map((m) => m.proxy.close()));
    removeRoot();
    liveClusters.delete(lastResort);
  };

  try {
    for (const name of names) {
      const port = await pickPort(used);
      used.push(port);
      const proxy = await startFaultProxy({ target: `http://127.0.0.1:${port}` });
      members.set(name, { name, port, persistTo: join(root, name), proxy, lines: [], total: 0 });
    }
    const results = await Promise.allSettled([...members.values()].map((m) => launch(m, true)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw failed[0]?.reason;
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    regions: names.map((name) => ({ name, url: `http://127.0.0.1:${member(name).port}` })),
    url: (name) => `http://127.0.0.1:${member(name).port}`,
    proxyUrl: (name) => member(name).proxy.url,
    adminKey,
    keys,
    async kill9(name) {
      const m = member(name);
      if (!m.proc) return;
      await m.proc.kill('SIGKILL');
      await m.proc.exited;
      note(m, `[${name}] (cluster: killed with SIGKILL)`);
    },
    async restart(name) {
      if (stopped) throw new Error('restart: the cluster is stopped');
      const m = member(name);
      await m.proc?.stop();
      note(m, `[${name}] (cluster: restarting on port ${m.port})`);
      await launch(m, false);
    },
    partition(name, down) {
      member(name).proxy.setDown(down);
    },
    proxyRequests: (name) => member(name).proxy.requests,
    proxy: (name) => member(name).proxy,
    process(name) {
      const proc = member(name).proc;
      if (!proc) throw new Error(`region ${name} was never started`);
      return proc;
    },
    output,
    stop,
  };
}

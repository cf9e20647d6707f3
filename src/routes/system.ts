/**
 * Operational surface: `GET /healthz` (per-tier status), `GET /metrics`
 * (Prometheus text) and `GET /v1/stats` (per-shard occupancy). All need a
 * credential: /healthz any valid one, /metrics and /v1/stats the admin scope.
 */
import { Hono } from 'hono';
import type { PurgeStats } from '../../durable-objects/purge.ts';
import type { AppEnv } from '../app-env.ts';
import { authorize } from '../auth/principal.ts';
import { configFor } from '../env.ts';
import { renderMetrics } from '../metrics/recorder.ts';
import { purgeStub } from '../purge/submit.ts';
import { l1Url } from '../tiers/l1-cache-api.ts';
import { createRedis } from '../tiers/l3-redis.ts';
import { ShardClient } from '../tiers/shard-client.ts';
import { withDeadline } from '../tiers/timeout.ts';

export const systemRoutes = new Hono<AppEnv>();

type Check = {
  status: 'ok' | 'down' | 'disabled' | 'not-configured';
  latencyMs?: number;
  error?: string;
};

async function check(name: string, ms: number, probe: () => Promise<unknown>): Promise<Check> {
  const started = Date.now();
  try {
    await withDeadline(name, ms, probe);
    return { status: 'ok', latencyMs: Date.now() - started };
  } catch (err) {
    return { status: 'down', latencyMs: Date.now() - started, error: (err as Error).message };
  }
}

systemRoutes.get('/healthz', async (c) => {
  const config = configFor(c.env);
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = c.env;
  const [l1, l2, l3] = await Promise.all([
    config.l1MaxTtl > 0
      ? check('L1', 1000, () => caches.default.match(l1Url('healthz', 'probe')))
      : Promise.resolve<Check>({ status: 'disabled' }),
    check('L2', 2000, () => ShardClient.fromEnv(c.env, config).stats(0)),
    url && token
      ? check('L3', config.l3TimeoutMs, () => createRedis(url, token).ping())
      : Promise.resolve<Check>({ status: 'not-configured' }),
  ]);
  // L2 is required; L1 and L3 failing only degrade service.
  const status =
    l2.status !== 'ok' ? 'down' : l1.status === 'down' || l3.status === 'down' ? 'degraded' : 'ok';
  return c.json(
    { status, region: config.region, tiers: { L1: l1, L2: l2, L3: l3 } },
    status === 'down' ? 503 : 200,
    { 'cache-control': 'no-store' },
  );
});

systemRoutes.get('/metrics', async (c) => {
  authorize(c.get('principal'), 'admin', null);
  const config = configFor(c.env);
  const [text, peers, purges] = await Promise.all([
    renderMetrics(c.env),
    Object.keys(config.peers).length > 0
      ? peerSummary(ShardClient.fromEnv(c.env, config), config.shards)
      : Promise.resolve([]),
    purgeStub(c.env, config).stats() as Promise<PurgeStats>,
  ]);
  return c.text(text + renderPeerMetrics(peers) + renderPurgeMetrics(purges), 200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'cache-control': 'no-store',
  });
});

systemRoutes.get('/v1/stats', async (c) => {
  authorize(c.get('principal'), 'admin', null);
  const config = configFor(c.env);
  const client = ShardClient.fromEnv(c.env, config);
  const [shards, peers, purges] = await Promise.all([
    Promise.all(
      Array.from({ length: config.shards }, (_, i) =>
        client.stats(i).then((s) => ({ shard: i, ...s })),
      ),
    ),
    Object.keys(config.peers).length > 0 ? peerSummary(client, config.shards) : Promise.resolve([]),
    purgeStub(c.env, config).stats() as Promise<PurgeStats>,
  ]);
  return c.json(
    {
      region: config.region,
      regions: config.regions,
      consistency: {
        default: config.defaultConsistency,
        namespaces: config.namespaceConsistency,
        homeRegion: config.homeRegion,
        namespaceHomes: config.namespaceHomes,
      },
      peers: peers.map((p) => ({ ...p, url: config.peers[p.region] })),
      purges,
      shards,
    },
    200,
    { 'cache-control': 'no-store' },
  );
});

/** One peer's replication state, summed over this region's shards. */
export interface PeerSummary {
  region: string;
  /** `ok` when every shard delivered on its last try, `backoff` when some are retrying. */
  state: 'ok' | 'backoff';
  outboxDepth: number;
  /** Age of the oldest event not yet acknowledged, milliseconds (0 when none). */
  lagMs: number;
  delivered: number;
  failures: number;
  lastOkAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** Events applied here from that region (stream and direct). */
  received: number;
  antiEntropyRepairs: number;
}

async function peerSummary(client: ShardClient, shards: number): Promise<PeerSummary[]> {
  const all = await Promise.all(
    Array.from({ length: shards }, (_, i) => client.replicationStats(i)),
  );
  const now = Date.now();
  const byPeer = new Map<string, PeerSummary>();
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  for (const shard of all) {
    for (const p of shard.peers) {
      const s = byPeer.get(p.region) ?? {
        region: p.region,
        state: 'ok',
        outboxDepth: 0,
        lagMs: 0,
        delivered: 0,
        failures: 0,
        lastOkAt: null,
        lastError: null,
        lastErrorAt: null,
        received: 0,
        antiEntropyRepairs: 0,
      };
      s.outboxDepth += p.depth;
      if (p.oldestUnackedAt !== null) s.lagMs = Math.max(s.lagMs, now - p.oldestUnackedAt);
      s.delivered += p.delivered;
      s.failures += p.failures;
      if (p.attempts > 0) s.state = 'backoff';
      if (p.lastOkAt !== null && (s.lastOkAt === null || (iso(p.lastOkAt) as string) > s.lastOkAt))
        s.lastOkAt = iso(p.lastOkAt);
      if (
        p.lastErrorAt !== null &&
        (s.lastErrorAt === null || (iso(p.lastErrorAt) as string) > s.lastErrorAt)
      ) {
        s.lastErrorAt = iso(p.lastErrorAt);
        s.lastError = p.lastError;
      }
      byPeer.set(p.region, s);
    }
    for (const i of shard.inbound) {
      const s = byPeer.get(i.origin);
      if (s) s.received += i.applied;
    }
    for (const r of shard.antiEntropy.last) {
      const s = byPeer.get(r.peer);
      if (s) s.antiEntropyRepairs += r.repaired;
    }
  }
  return [...byPeer.values()].sort((a, b) => a.region.localeCompare(b.region));
}

/** Per-peer gauges and counters read from the shards at scrape time. */
function renderPeerMetrics(peers: PeerSummary[]): string {
  if (peers.length === 0) return '';
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, value: (p: PeerSummary) => number) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const p of peers) lines.push(`${name}{peer="${p.region}"} ${value(p)}`);
  };
  metric(
    'strata_replication_outbox_depth',
    'gauge',
    'Events not yet acknowledged by the peer.',
    (p) => p.outboxDepth,
  );
  metric(
    'strata_replication_lag_seconds',
    'gauge',
    'Age of the oldest event the peer has not acknowledged.',
    (p) => p.lagMs / 1000,
  );
  metric(
    'strata_replication_delivered_total',
    'counter',
    'Events the peer acknowledged.',
    (p) => p.delivered,
  );
  metric(
    'strata_replication_delivery_failures_total',
    'counter',
    'Failed deliveries to the peer.',
    (p) => p.failures,
  );
  metric(
    'strata_replication_peer_up',
    'gauge',
    '1 when the last delivery to the peer succeeded on every shard.',
    (p) => (p.state === 'ok' ? 1 : 0),
  );
  return `${lines.join('\n')}\n`;
}

/** The region's purge backlog, read from its PurgeDO at scrape time. */
function renderPurgeMetrics(s: PurgeStats): string {
  const lines = [
    '# HELP strata_purge_pending_local Purges some shard of this region has not applied yet.',
    '# TYPE strata_purge_pending_local gauge',
    `strata_purge_pending_local ${s.pendingLocally}`,
    '# HELP strata_purge_l3_jobs_pending L3 purge jobs not finished.',
    '# TYPE strata_purge_l3_jobs_pending gauge',
    `strata_purge_l3_jobs_pending ${s.l3Pending}`,
    '# HELP strata_purge_zone_queued Tags waiting for the Cloudflare zone purge API.',
    '# TYPE strata_purge_zone_queued gauge',
    `strata_purge_zone_queued ${s.zoneQueued}`,
  ];
  if (s.peers.length > 0) {
    lines.push(
      '# HELP strata_purge_outbox_depth Purges not yet acknowledged by the peer.',
      '# TYPE strata_purge_outbox_depth gauge',
      ...s.peers.map((p) => `strata_purge_outbox_depth{peer="${p.region}"} ${p.depth}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Operational surface: `GET /healthz` (per-tier status), `GET /metrics`
 * (Prometheus text) and `GET /v1/stats` (per-shard occupancy). All need a
 * credential: /healthz any valid one, /metrics and /v1/stats the admin scope.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { authorize } from '../auth/principal.ts';
import { configFor } from '../env.ts';
import { renderMetrics } from '../metrics/recorder.ts';
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
  return c.text(await renderMetrics(c.env), 200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'cache-control': 'no-store',
  });
});

systemRoutes.get('/v1/stats', async (c) => {
  authorize(c.get('principal'), 'admin', null);
  const config = configFor(c.env);
  const client = ShardClient.fromEnv(c.env, config);
  const shards = await Promise.all(
    Array.from({ length: config.shards }, (_, i) =>
      client.stats(i).then((s) => ({ shard: i, ...s })),
    ),
  );
  return c.json({ region: config.region, shards }, 200, { 'cache-control': 'no-store' });
});

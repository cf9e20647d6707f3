/**
 * Purges across three real local regions (one `wrangler dev` each, its own
 * Durable Objects and its own L1), one real redis-server as L3, a fault
 * proxy in front of every region, and a local stand-in for Cloudflare's
 * zone purge API:
 *
 * - tag, prefix, key and namespace purges leave nothing in any tier of any
 *   region (L1 copies warmed first; L3 checked in redis directly);
 * - a soft purge serves stale within stale-while-revalidate, telling one
 *   reader per region to refresh;
 * - purges racing writes from every region: what survives was written
 *   after the purge, and every region agrees;
 * - a region partitioned during a purge applies it when it returns, including
 *   to a write it made before the purge that the others had not seen;
 * - a signed webhook purges everywhere; tags reach the zone API once.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Cluster, startCluster } from '../../scripts/lib/cluster.ts';
import { start as startZoneApi, type ZoneApiStandIn } from '../../scripts/lib/zone-api-stand-in.ts';
import { compareVersionText } from '../../src/purge/rules.ts';
import { createRedis, RedisTier } from '../../src/tiers/l3-redis.ts';
import { clusterHttp, until } from '../helpers/cluster-http.ts';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];
/** The bound the README states for a purge to be gone in every region, locally. */
const PURGE_BOUND_MS = 5_000;
const WEBHOOK_SECRET = `whsec_${Buffer.from('strata-sim-webhook-secret-32byte').toString('base64')}`;

let cluster: Cluster;
let zone: ZoneApiStandIn;
let l3: RedisTier;

beforeAll(async () => {
  zone = await startZoneApi({ rateLimit: null });
  cluster = await startCluster({
    regions: REGIONS,
    l3Url: inject('l3Url'),
    l3Token: inject('l3Token'),
    vars: {
      SHARDS: '4',
      // L1 copies would outlive the whole test: only generations can keep them from being served.
      L1_MAX_TTL: '300',
      PURGE_FEED_MS: '500',
      ANTI_ENTROPY_INTERVAL: '0',
      PEER_TIMEOUT_MS: '2000',
      STRATA_WEBHOOK_SECRET: WEBHOOK_SECRET,
      CF_ZONE_ID: zone.zoneId,
      CF_API_TOKEN: zone.token,
      CF_API_BASE: zone.url,
      CF_ZONE_PLAN: 'enterprise',
    },
  });
  l3 = new RedisTier(createRedis(inject('l3Url'), inject('l3Token')));
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await zone?.close();
}, 60_000);

const { req, put, get, printOutputOnFailure } = clusterHttp(() => cluster);

async function purge(region: string, body: unknown): Promise<{ id: string; version: string }> {
  const res = await req(region, 'POST', '/v1/purge', {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status, res.body).toBe(202);
  return JSON.parse(res.body) as { id: string; version: string };
}

/** Every region serves the key from its own L1 (so a purge has copies in every tier to reach). */
async function inEveryL1(ns: string, key: string, value: string): Promise<void> {
  await until(`${ns}/${key} in every region's L1`, 15_000, async () => {
    const answers = await Promise.all(REGIONS.map((r) => get(r, ns, key)));
    return answers.every((a) => a.status === 200 && a.body === value && a.tier === 'strata-l1');
  });
}

async function goneEverywhere(ns: string, keys: string[], ms = PURGE_BOUND_MS): Promise<void> {
  await until(`${keys.join(', ')} gone from every region`, ms, async () => {
    for (const key of keys)
      for (const r of REGIONS) if ((await get(r, ns, key)).status !== 404) return false;
    return true;
  });
}

async function goneFromL3(ns: string, keys: string[]): Promise<void> {
  await until(`${keys.join(', ')} gone from L3`, PURGE_BOUND_MS, async () => {
    for (const key of keys) if ((await l3.get(ns, key)) !== null) return false;
    return true;
  });
}

const newer = (a: string, b: string) => compareVersionText(a, b) > 0;

describe('purges across three regions', () => {
  it('by tag, prefix, key and namespace: gone from L1, L2 and L3 in every region', async () => {
    printOutputOnFailure();
    const ns = 'sim-purge-all-tiers';
    const keys = ['tagged-1', 'tagged-2', 'blog/a', 'blog/b', 'single', 'kept', 'blogger'];
    for (const k of keys)
      await put('us-east', ns, k, `v-${k}`, k.startsWith('tagged') ? { 'cache-tag': 'sale' } : {});
    for (const k of keys) await inEveryL1(ns, k, `v-${k}`);

    await purge('eu-west', { namespace: ns, tags: ['sale'] });
    await goneEverywhere(ns, ['tagged-1', 'tagged-2']);
    await purge('ap-southeast', { namespace: ns, prefixes: ['blog/'] });
    await goneEverywhere(ns, ['blog/a', 'blog/b']);
    await purge('us-east', { namespace: ns, keys: ['single'] });
    await goneEverywhere(ns, ['single']);
    await goneFromL3(ns, ['tagged-1', 'tagged-2', 'blog/a', 'blog/b', 'single']);
    for (const k of ['kept', 'blogger'])
      for (const r of REGIONS) expect((await get(r, ns, k)).status, `${r} ${k}`).toBe(200);

    await purge('eu-west', { namespace: ns, all: true });
    await goneEverywhere(ns, ['kept', 'blogger']);
    await goneFromL3(ns, ['kept', 'blogger']);
  });

  it('reports per-region completion and calls the zone API once for its tags', async () => {
    printOutputOnFailure();
    const ns = 'sim-purge-status';
    await put('eu-west', ns, 'k', 'v', { 'cache-tag': 'zone-tag-1,zone-tag-2' });
    const before = zone.calls.length;
    const accepted = await purge('eu-west', { namespace: ns, tags: ['zone-tag-1', 'zone-tag-2'] });
    const status = await until('purge complete', PURGE_BOUND_MS, async () => {
      const res = await req('eu-west', 'GET', `/v1/purge/${accepted.id}`);
      const body = JSON.parse(res.body) as {
        complete: boolean;
        regions: Record<string, { state: string }>;
      };
      return body.complete ? body : null;
    });
    for (const r of REGIONS) expect(status.regions[r]?.state, r).toBe('done');
    await until('zone purge', PURGE_BOUND_MS, async () => zone.calls.length > before);
    await new Promise((r) => setTimeout(r, 500));
    const calls = zone.calls.slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ tags: ['zone-tag-1', 'zone-tag-2'] });
  });

  it('soft purge: stale within stale-while-revalidate, one reader per region told to refresh', async () => {
    printOutputOnFailure();
    const ns = 'sim-purge-soft';
    await put('us-east', ns, 'page', 'old', {
      'cache-control': 'max-age=600, stale-while-revalidate=120',
      'cache-tag': 'pages',
    });
    await inEveryL1(ns, 'page', 'old');
    await purge('us-east', { namespace: ns, tags: ['pages'], soft: true });
    for (const r of REGIONS) {
      const first = await until(`stale in ${r}`, PURGE_BOUND_MS, async () => {
        const a = await get(r, ns, 'page');
        return a.headers.get('strata-revalidate') ? a : null;
      });
      expect(first.body).toBe('old');
      expect(first.headers.get('strata-revalidate'), r).toBe('required');
      const second = await get(r, ns, 'page');
      expect(second.body).toBe('old');
      expect(second.headers.get('strata-revalidate'), r).toBe('in-progress');
    }
    await put('eu-west', ns, 'page', 'new', { 'cache-control': 'max-age=600' });
    await until('refreshed everywhere', PURGE_BOUND_MS, async () => {
      const answers = await Promise.all(REGIONS.map((r) => get(r, ns, 'page')));
      return answers.every((a) => a.body === 'new' && !a.headers.get('strata-revalidate'));
    });
  });

  it('purges racing writes: survivors were written after the purge, and every region agrees', async () => {
    printOutputOnFailure();
    const ns = 'sim-purge-race';
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const acked = new Map<string, string[]>();
    let stop = false;
    const writer = async (region: string) => {
      for (let n = 0; !stop; n++) {
        const key = keys[(n * 7 + region.length) % keys.length] as string;
        const a = await put(region, ns, key, `${region}-${n}`);
        if (a.status === 201 && a.version) acked.set(key, [...(acked.get(key) ?? []), a.version]);
      }
    };
    const writers = REGIONS.map(writer);
    await new Promise((r) => setTimeout(r, 700));
    const purged = await purge('eu-west', { namespace: ns, all: true });
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await Promise.all(writers);

    for (const key of keys) {
      const versions = acked.get(key) ?? [];
      const latest = versions.reduce<string | null>(
        (m, v) => (m === null || newer(v, m) ? v : m),
        null,
      );
      const survives = latest !== null && newer(latest, purged.version);
      await until(`${key} agrees everywhere`, 10_000, async () => {
        const answers = await Promise.all(REGIONS.map((r) => get(r, ns, key)));
        return survives
          ? answers.every((a) => a.status === 200 && a.version === latest)
          : answers.every((a) => a.status === 404);
      });
    }
  });

  it('a partitioned region applies the purge when it returns, including to its own older write', async () => {
    printOutputOnFailure();
    const ns = 'sim-purge-partition';
    await put('us-east', ns, 'shared', 'v1', { 'cache-tag': 'p' });
    await inEveryL1(ns, 'shared', 'v1');
    cluster.partition('ap-southeast', true);
    try {
      // Written in the partitioned region before the purge; the others have not seen it.
      const early = await put('ap-southeast', ns, 'early', 'e', { 'cache-tag': 'p' });
      const accepted = await purge('us-east', { namespace: ns, tags: ['p'] });
      expect(newer(accepted.version, early.version as string)).toBe(true);
      // Written there after the purge: survives everywhere.
      await put('ap-southeast', ns, 'late', 'l', { 'cache-tag': 'p' });
      for (const r of ['us-east', 'eu-west'])
        await until(
          `${r} purged`,
          PURGE_BOUND_MS,
          async () => (await get(r, ns, 'shared')).status === 404,
        );
      // The partitioned region has not heard of it: its own copy still serves.
      expect((await get('ap-southeast', ns, 'shared')).status).toBe(200);
      const pending = JSON.parse(
        (await req('us-east', 'GET', `/v1/purge/${accepted.id}`)).body,
      ) as {
        complete: boolean;
        regions: Record<string, { state: string }>;
      };
      expect(pending.complete).toBe(false);
      expect(pending.regions['ap-southeast']?.state).toBe('pending');
    } finally {
      cluster.partition('ap-southeast', false);
    }
    await goneEverywhere(ns, ['shared', 'early'], 20_000);
    await until('late everywhere', 20_000, async () => {
      const answers = await Promise.all(REGIONS.map((r) => get(r, ns, 'late')));
      return answers.every((a) => a.status === 200 && a.body === 'l');
    });
  });

  it('a signed webhook purges in every region', async () => {
    printOutputOnFailure();
    const ns = 'sim-purge-webhook';
    await put('eu-west', ns, 'doc', 'v', { 'cache-tag': 'cms-doc-7' });
    await inEveryL1(ns, 'doc', 'v');
    const body = JSON.stringify({
      type: 'cache.invalidate',
      timestamp: new Date().toISOString(),
      data: { namespace: ns, tags: ['cms-doc-7'] },
    });
    const id = `msg_${Date.now()}`;
    const ts = String(Math.floor(Date.now() / 1000));
    const key = Buffer.from(WEBHOOK_SECRET.slice('whsec_'.length), 'base64');
    const signature = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    const res = await fetch(`${cluster.url('ap-southeast')}/v1/webhooks/invalidate`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': ts,
        'webhook-signature': `v1,${signature}`,
      },
      body,
    });
    expect(res.status, await res.clone().text()).toBe(202);
    await goneEverywhere(ns, ['doc']);
  });
});

/**
 * Proxy mode across three real local regions (one `wrangler dev` each) on
 * one redis-server, in front of the scriptable origin:
 *
 * - 100 concurrent misses in every region at once: exactly one origin
 *   request per region (told apart by the `Via` each region adds);
 * - a tag purge of proxied responses in one region reaches every region's
 *   L1 (warmed first), L2 and L3;
 * - `no-store` is never written to redis;
 * - a body sent with a GET (by a plain HTTP client) never reaches the origin.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Cluster, startCluster } from '../../scripts/lib/cluster.ts';
import { type ScriptedOrigin, startScriptedOrigin } from '../../scripts/lib/scripted-origin.ts';
import { createRedis, RedisTier } from '../../src/tiers/l3-redis.ts';
import { until } from '../helpers/cluster-http.ts';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];

let cluster: Cluster;
let origin: ScriptedOrigin;
let l3: RedisTier;

beforeAll(async () => {
  origin = await startScriptedOrigin(0);
  cluster = await startCluster({
    regions: REGIONS,
    l3Url: inject('l3Url'),
    l3Token: inject('l3Token'),
    vars: {
      SHARDS: '4',
      L1_MAX_TTL: '300',
      PURGE_FEED_MS: '500',
      ANTI_ENTROPY_INTERVAL: '0',
      ORIGIN_URL: origin.url,
    },
  });
  l3 = new RedisTier(createRedis(inject('l3Url'), inject('l3Token')));
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await origin?.stop();
}, 60_000);

async function proxied(region: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${cluster.url(region)}${path}`, {
    headers,
    signal: AbortSignal.timeout(15_000),
  });
  return {
    status: res.status,
    body: await res.text(),
    cacheStatus: res.headers.get('cache-status') ?? '',
  };
}

const unique = (label: string) => `/${label}/${crypto.randomUUID().slice(0, 12)}`;
const maxAge = (s: number) => `h=cache-control:${encodeURIComponent(`max-age=${s}`)}`;

describe('proxy mode in three regions', () => {
  it('collapses 100 concurrent misses per region into one origin request per region', async () => {
    const path = unique('collapse');
    const url = `${path}?${maxAge(600)}&delay=500`;
    const answers = await Promise.all(
      REGIONS.flatMap((region) =>
        Array.from({ length: 100 }, () => proxied(region, url).then((a) => ({ region, ...a }))),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const region of REGIONS) {
      const mine = answers.filter((a) => a.region === region);
      expect(new Set(mine.map((a) => a.body)).size, region).toBe(1);
    }
    const vias = origin.requests(path).map((r) => r.headers.via);
    expect(vias.sort()).toEqual(REGIONS.map((r) => `1.1 strata-${r}`).sort());
  });

  it('purges a tagged proxied response in every region, from every tier', async () => {
    const path = unique('tagged');
    const url = `${path}?${maxAge(600)}&h=cache-tag:catalog`;
    const first = await proxied('us-east', url);
    await until('every region serving it from L1', 15_000, async () => {
      const all = await Promise.all(REGIONS.map((r) => proxied(r, url)));
      return all.every((a) => a.body === first.body && a.cacheStatus.includes('detail=l1'));
    });
    const res = await fetch(`${cluster.url('eu-west')}/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'proxy', tags: ['catalog'] }),
    });
    expect(res.status).toBe(202);
    await until('the purge in every region', 10_000, async () => {
      const all = await Promise.all(REGIONS.map((r) => proxied(r, url)));
      return all.every((a) => a.body !== first.body);
    });
    expect(origin.requests(path).length).toBeGreaterThanOrEqual(2);
  });

  it('never writes no-store to redis', async () => {
    const path = unique('nostore');
    const url = `${path}?h=cache-control:no-store`;
    for (const region of REGIONS)
      expect((await proxied(region, url)).cacheStatus).toContain('detail=no-store');
    expect(await l3.get('proxy', url)).toBeNull();
    expect(origin.requests(path)).toHaveLength(3);
  });

  it('does not forward a body sent with a GET', async () => {
    const path = unique('getbody');
    const target = new URL(`${cluster.url('us-east')}${path}?${maxAge(60)}`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: 'GET',
          headers: { 'content-type': 'text/plain', 'content-length': '8' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end('smuggled');
    });
    expect(status).toBe(200);
    const seen = origin.requests(path);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.body).toBe('');
    expect(seen[0]?.headers['content-length']).toBeUndefined();
  });
});

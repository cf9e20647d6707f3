/**
 * Tier behaviour in real workerd: promotion and back-fill with the remaining
 * TTL, TTL expiry, eviction under the shard byte budget, and coalescing of
 * concurrent misses into one L3 read.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ShardDO } from '../../durable-objects/shard.ts';
import { bytesToBase64 } from '../../src/base64.ts';
import type { Entry } from '../../src/entry.ts';
import { encodeEntry } from '../../src/entry.ts';
import { shardFor } from '../../src/hashing.ts';
import { l1Url } from '../../src/tiers/l1-cache-api.ts';
import { createRedis, l3Key } from '../../src/tiers/l3-redis.ts';
import { call, eventually, freshNamespace, hitTier, keyPath, l3, shardStub } from './helpers.ts';

const redis = () =>
  createRedis(env.UPSTASH_REDIS_REST_URL as string, env.UPSTASH_REDIS_REST_TOKEN as string);

function entryFor(
  namespace: string,
  key: string,
  value: string,
  ttlSeconds: number,
  createdAgoMs = 0,
): Entry {
  const bytes = new TextEncoder().encode(value);
  const now = Date.now();
  return {
    meta: {
      namespace,
      key,
      version: `${now - createdAgoMs}-0-elsewhere`,
      createdAt: now - createdAgoMs,
      expiresAt: now - createdAgoMs + ttlSeconds * 1000,
      staleWhileRevalidate: 0,
      staleIfError: 0,
      tags: [],
      contentType: 'text/plain',
      size: bytes.byteLength,
    },
    value: bytes,
  };
}

describe('promotion and back-fill', () => {
  it('a write is read from L2 first, then from L1', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), { body: 'v', headers: { 'cache-control': 'max-age=300' } });
    const first = await call('GET', keyPath(ns, 'k'));
    expect(hitTier(first)).toBe('L2');
    expect(first.headers.get('cache-status')).toMatch(
      /^strata-l2; hit; ttl=\d+, strata-l1; fwd=miss; stored$/,
    );
    await eventually(async () => hitTier(await call('GET', keyPath(ns, 'k'))) === 'L1');
  });

  it('an entry only in L3 is served from L3 and back-filled into L2 and L1 with its remaining TTL', async () => {
    const ns = freshNamespace();
    // Written 60 s ago with a 100 s TTL: 40 s remain.
    const entry = entryFor(ns, 'k', 'from-l3', 100, 60_000);
    await l3().set(entry);

    const res = await call('GET', keyPath(ns, 'k'));
    expect(hitTier(res)).toBe('L3');
    expect(await res.text()).toBe('from-l3');
    expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(60);
    const ttl = Number(/ttl=(\d+)/.exec(res.headers.get('cache-status') ?? '')?.[1]);
    expect(ttl).toBeGreaterThan(35);
    expect(ttl).toBeLessThanOrEqual(40);

    // L2 now holds it with the original expiry, not a fresh default.
    const stored = await runInDurableObject(
      shardStub(ns, 'k'),
      async (shard: ShardDO) => (await shard.read(ns, 'k')).entry,
    );
    expect(stored?.meta.expiresAt).toBe(entry.meta.expiresAt);

    // L1 gets it too, with max-age = remaining TTL (≤ 40 s, and ≤ L1_MAX_TTL).
    await eventually(async () => (await caches.default.match(l1Url(ns, 'k'))) !== undefined);
    const l1 = (await caches.default.match(l1Url(ns, 'k'))) as Response;
    const maxAge = Number(/max-age=(\d+)/.exec(l1.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(35);
    expect(maxAge).toBeLessThanOrEqual(40);
    expect(hitTier(await call('GET', keyPath(ns, 'k')))).toBe('L1');
  });

  it('caps the L1 lifetime at L1_MAX_TTL', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), {
      body: 'v',
      headers: { 'cache-control': 'max-age=86400' },
    });
    await call('GET', keyPath(ns, 'k'));
    await eventually(async () => (await caches.default.match(l1Url(ns, 'k'))) !== undefined);
    const l1 = (await caches.default.match(l1Url(ns, 'k'))) as Response;
    expect(l1.headers.get('cache-control')).toBe(`max-age=${env.L1_MAX_TTL ?? 60}`);
  });
});

describe('TTL expiry', () => {
  it('never serves an expired entry from any tier', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), {
      body: 'short',
      headers: { 'cache-control': 'max-age=1' },
    });
    expect((await call('GET', keyPath(ns, 'k'))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await call('GET', keyPath(ns, 'k'));
    expect(res.status).toBe(404);
    // Redis dropped it at the same instant (SET ... PXAT expiresAt).
    expect(await l3().get(ns, 'k')).toBeNull();
  });

  it('an entry whose metadata says expired is a miss even if Redis still holds it', async () => {
    const ns = freshNamespace();
    const stale = entryFor(ns, 'k', 'old', 1, 5000); // expired 4 s ago
    // Written raw with a live Redis TTL, as clock skew between writers could leave it.
    await redis().set(l3Key(ns, 'k'), bytesToBase64(encodeEntry(stale)), { px: 60_000 });
    const res = await call('GET', keyPath(ns, 'k'));
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-status')).toContain('strata-l3; fwd=miss');
  });
});

describe('eviction under the byte budget', () => {
  it('evicts least recently used entries from L2 when the shard budget (64 KiB in tests) is full', async () => {
    const ns = 'lru-budget'; // mapped to "lru" in vitest.config.ts
    // Twelve 8 KiB values owned by one shard: ~96 KiB against a 64 KiB budget.
    const shards = Number(env.SHARDS);
    const keys: string[] = [];
    for (let i = 0; keys.length < 12; i++)
      if (shardFor(ns, `k${i}`, shards) === 0) keys.push(`k${i}`);
    const value = new Uint8Array(8 * 1024).fill(7);
    for (const key of keys.slice(0, 6)) await call('PUT', keyPath(ns, key), { body: value });
    // Touch the first key so it becomes the most recently used.
    await runInDurableObject(shardStub(ns, keys[0] as string), (shard: ShardDO) =>
      shard.read(ns, keys[0] as string),
    );
    for (const key of keys.slice(6)) await call('PUT', keyPath(ns, key), { body: value });

    const stub = shardStub(ns, keys[0] as string);
    const stats = await runInDurableObject(stub, (shard: ShardDO) => shard.stats());
    expect(stats.bytes).toBeLessThanOrEqual(stats.budget);
    expect(stats.evictions).toBeGreaterThan(0);
    const inL2 = await runInDurableObject(stub, (_shard: ShardDO, state) =>
      state.storage.sql
        .exec<{ key: string }>('SELECT key FROM entries WHERE ns = ?', ns)
        .toArray()
        .map((r) => r.key),
    );
    expect(inL2).toContain(keys[0]); // recently used survives
    expect(inL2).toContain(keys[11]); // newest survives
    expect(inL2).not.toContain(keys[1]); // oldest untouched went first
    // Evicted from L2 is not lost: L3 still serves it.
    const res = await call('GET', keyPath(ns, keys[1] as string));
    expect(res.status).toBe(200);
    expect(hitTier(res)).toBe('L3');
  });

  it('a value larger than the whole shard budget is kept in L3 only', async () => {
    const ns = freshNamespace();
    const put = await call('PUT', keyPath(ns, 'big'), { body: new Uint8Array(100 * 1024) });
    expect(put.status).toBe(201);
    expect(((await put.json()) as { tiers: unknown }).tiers).toEqual({
      L2: 'not-kept',
      L3: 'stored',
    });
    const res = await call('GET', keyPath(ns, 'big'));
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(100 * 1024);
    // L2 refused it, and Cache-Status says so (no `stored` on strata-l2).
    expect(res.headers.get('cache-status')).toMatch(
      /^strata-l3; hit; ttl=\d+, strata-l2; fwd=miss, strata-l1; fwd=miss; stored$/,
    );
  });
});

describe('coalescing', () => {
  it('fifty concurrent misses for one key make one L3 read', async () => {
    const ns = freshNamespace();
    await l3().set(entryFor(ns, 'hot', 'payload', 300));
    const stub = shardStub(ns, 'hot');
    const before = await runInDurableObject(stub, (shard: ShardDO) => shard.stats());
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => call('GET', keyPath(ns, 'hot'))),
    );
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(bodies.every((b) => b === 'payload')).toBe(true);
    const after = await runInDurableObject(stub, (shard: ShardDO) => shard.stats());
    expect(after.l3Reads - before.l3Reads).toBe(1);
    // At least one caller waited on the shared read (the rest may hit L2 after it).
    const statuses = responses.map((r) => r.headers.get('cache-status') ?? '');
    expect(statuses.filter((s) => s.startsWith('strata-l3; hit')).length).toBeGreaterThanOrEqual(1);
  });
});

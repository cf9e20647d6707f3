/** L0: the in-isolate hot set and its place in the read path. */
import { describe, expect, it } from 'vitest';
import type { ShardRead } from '../../durable-objects/shard.ts';
import { cacheStatusFor, TieredCache } from '../../src/cache.ts';
import { formatCacheStatus } from '../../src/cache-status.ts';
import { ManualClock } from '../../src/clock.ts';
import type { Entry } from '../../src/entry.ts';
import { createPolicy } from '../../src/policy/index.ts';
import { HotSet } from '../../src/tiers/l0-hot-set.ts';
import type { ShardClient } from '../../src/tiers/shard-client.ts';

function entry(key: string, size: number, expiresAt: number): Entry {
  return {
    meta: {
      namespace: 'n',
      key,
      version: '1-0-a',
      createdAt: 0,
      expiresAt,
      staleWhileRevalidate: 0,
      staleIfError: 0,
      tags: [],
      contentType: 'text/plain',
      size,
    },
    value: new Uint8Array(size),
  };
}

describe('HotSet', () => {
  it('serves what it holds until the L0 lifetime cap, even if the entry lives longer', () => {
    const hot = new HotSet(createPolicy('lru', { maxWeight: 10_000 }), 5000);
    hot.set(entry('a', 10, 60_000), 0);
    expect(hot.get('n', 'a', 4999)?.meta.key).toBe('a');
    expect(hot.get('n', 'a', 5000)).toBeNull();
    expect(hot.size).toBe(0);
  });

  it('never outlives the entry itself', () => {
    const hot = new HotSet(createPolicy('lru', { maxWeight: 10_000 }), 5000);
    hot.set(entry('a', 10, 1000), 0);
    expect(hot.get('n', 'a', 999)).not.toBeNull();
    expect(hot.get('n', 'a', 1000)).toBeNull();
  });

  it('keeps within its byte budget by the policy, dropping evicted values', () => {
    const hot = new HotSet(createPolicy('lru', { maxWeight: 100 }), 5000);
    for (const k of ['a', 'b', 'c', 'd']) hot.set(entry(k, 30, 60_000), 0);
    expect(hot.size).toBe(3); // 30 bytes + 3 bytes of id each: three fit in 100
    expect(hot.get('n', 'a', 1)).toBeNull();
    expect(hot.get('n', 'd', 1)).not.toBeNull();
  });

  it('refuses what cannot fit and forgets deleted keys', () => {
    const hot = new HotSet(createPolicy('lru', { maxWeight: 50 }), 5000);
    hot.set(entry('big', 100, 60_000), 0);
    expect(hot.size).toBe(0);
    hot.set(entry('a', 10, 60_000), 0);
    hot.delete('n', 'a');
    expect(hot.get('n', 'a', 1)).toBeNull();
  });
});

describe('TieredCache with L0', () => {
  function setup() {
    const clock = new ManualClock(1000);
    const hot = new HotSet(createPolicy('lru', { maxWeight: 10_000 }), 5000);
    let shardReads = 0;
    const stored = entry('k', 3, 60_000);
    const shards = {
      read: async (): Promise<ShardRead> => {
        shardReads++;
        return { entry: stored, source: 'L2', l3: 'skipped', collapsed: false };
      },
      write: async () => ({ meta: stored.meta, storedInL2: true, l3: 'ok' as const }),
      remove: async () => ({ existed: true, l3: 'ok' as const }),
    } as unknown as ShardClient;
    const cache = new TieredCache(hot, null, shards, clock, () => {});
    return { cache, clock, reads: () => shardReads };
  }

  it('answers the second read from L0 without asking the shard', async () => {
    const { cache, clock, reads } = setup();
    const first = await cache.read('n', 'k');
    expect(first.source).toBe('L2');
    expect(formatCacheStatus(cacheStatusFor(first, clock.now()))).toBe(
      'strata-l2; hit; ttl=59, strata-l0; fwd=miss; stored',
    );
    const second = await cache.read('n', 'k');
    expect(second.source).toBe('L0');
    expect(formatCacheStatus(cacheStatusFor(second, clock.now()))).toBe('strata-l0; hit; ttl=59');
    expect(reads()).toBe(1);
  });

  it('drops the L0 copy on a write or delete through this isolate', async () => {
    const { cache, reads } = setup();
    await cache.read('n', 'k');
    await cache.remove('n', 'k');
    await cache.read('n', 'k');
    expect(reads()).toBe(2);
  });

  it('goes back to the shard once the L0 lifetime cap passes', async () => {
    const { cache, clock, reads } = setup();
    await cache.read('n', 'k');
    clock.advance(5000);
    expect((await cache.read('n', 'k')).source).toBe('L2');
    expect(reads()).toBe(2);
  });
});

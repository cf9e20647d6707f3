/**
 * Purges inside one shard, real workerd and SQLite: sweeps that page
 * through more keys than one step takes, a peer's older write arriving
 * after the purge, L3 copies older than a purge, and rules that outlive the
 * object's memory.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ShardDO } from '../../durable-objects/shard.ts';
import { type ShardPurgeDeps, ShardPurges } from '../../durable-objects/shard-purge.ts';
import { bytesToBase64 } from '../../src/base64.ts';
import type { Entry, EntryMeta } from '../../src/entry.ts';
import { shardFor, shardName } from '../../src/hashing.ts';
import { formatHlc } from '../../src/hlc.ts';
import { parsePurgeRequest } from '../../src/purge/request.ts';
import { type PurgeRule, purgeOf, rulesOf } from '../../src/purge/rules.ts';
import type { ReplicationEvent } from '../../src/replication/events.ts';
import { call, freshNamespace, keyPath, l3 } from './helpers.ts';

const encoder = new TextEncoder();
const SHARDS = Number(env.SHARDS);

function stubOf(index: number) {
  return env.SHARD.get(env.SHARD.idFromName(shardName(env.REGION ?? 'local', index)));
}

/** `count` keys under `prefix` that all belong to shard 0. */
function keysOnShard0(ns: string, prefix: string, count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `${prefix}${i}`;
    if (shardFor(ns, key, SHARDS) === 0) keys.push(key);
  }
  return keys;
}

function entry(ns: string, key: string, wall: number, tags: string[] = []): Entry {
  const value = encoder.encode(`v-${key}`);
  const meta: EntryMeta = {
    namespace: ns,
    key,
    version: formatHlc({ wall, counter: 0, region: 'eu-west' }),
    createdAt: wall,
    expiresAt: Date.now() + 600_000,
    staleWhileRevalidate: 0,
    staleIfError: 0,
    tags,
    contentType: 'text/plain',
    size: value.byteLength,
  };
  return { meta, value };
}

function rules(body: unknown, version: string, at = Date.now()): PurgeRule[] {
  const p = purgeOf(parsePurgeRequest(body), 'pg_test', 'test', version, at, 'test');
  return rulesOf(p, 3_600_000);
}

describe('shard purges', () => {
  it('sweeps a prefix over more keys than one page, leaving a tombstone for each', async () => {
    const ns = freshNamespace('sweep');
    const keys = keysOnShard0(ns, 'p/', 1_200);
    const stub = stubOf(0);
    const events: ReplicationEvent[] = keys.map((key) => {
      const e = entry(ns, key, Date.now() - 1000);
      return {
        seq: 0,
        op: 'put',
        ns,
        key,
        version: e.meta.version,
        expiresAt: e.meta.expiresAt,
        meta: e.meta,
        value: bytesToBase64(e.value),
      };
    });
    // Most of these are evicted by the small test budget: their versions are still known.
    for (let i = 0; i < events.length; i += 400)
      await stub.applyRemote('eu-west', true, events.slice(i, i + 400), 0);
    const version = formatHlc({ wall: Date.now(), counter: 0, region: 'test' });
    await stub.applyPurge(rules({ namespace: ns, prefixes: ['p/'] }, version), 0);
    await runInDurableObject(stub, async (shard: ShardDO) => {
      // Sweeps past the first call's budget continue from the alarm; run it until done.
      for (let i = 0; i < 10 && (await shard.stats()).purges.sweepsPending > 0; i++)
        await shard.alarm();
      expect((await shard.stats()).purges.sweepsPending).toBe(0);
      const stats = await shard.replicationStats();
      expect(stats.versions.live).toBe(0);
      expect(stats.versions.tombstones).toBeGreaterThanOrEqual(1_200);
    });
    for (const key of keys.slice(0, 5))
      expect((await call('GET', keyPath(ns, key))).status).toBe(404);
  });

  it('a peer’s write older than the purge, arriving after it, stays purged', async () => {
    const ns = freshNamespace('late');
    const [key] = keysOnShard0(ns, 'k', 1) as [string];
    const stub = stubOf(0);
    const purgeWall = Date.now();
    await stub.applyPurge(
      rules(
        { namespace: ns, tags: ['t'] },
        formatHlc({ wall: purgeWall, counter: 0, region: 'test' }),
      ),
      0,
    );
    const old = entry(ns, key, purgeWall - 500, ['t']);
    const newer = entry(ns, `${key}-x`, purgeWall - 500, ['other']);
    for (const e of [old, newer])
      await stubOf(shardFor(ns, e.meta.key, SHARDS)).applyRemote(
        'eu-west',
        true,
        [
          {
            seq: 0,
            op: 'put',
            ns,
            key: e.meta.key,
            version: e.meta.version,
            expiresAt: e.meta.expiresAt,
            meta: e.meta,
            value: bytesToBase64(e.value),
          },
        ],
        shardFor(ns, e.meta.key, SHARDS),
      );
    expect((await call('GET', keyPath(ns, key))).status).toBe(404);
    expect((await call('GET', keyPath(ns, `${key}-x`))).status).toBe(200);
    await runInDurableObject(stub, async (shard: ShardDO) => {
      const known = (await shard.replicationStats()).versions;
      expect(known.tombstones).toBeGreaterThanOrEqual(1);
    });
  });

  it('an L3 copy older than a purge is not served', async () => {
    const ns = freshNamespace('l3old');
    const [key] = keysOnShard0(ns, 'k', 1) as [string];
    const e = entry(ns, key, Date.now() - 1000, ['t']);
    await l3().set(e);
    await stubOf(0).applyPurge(
      rules(
        { namespace: ns, tags: ['t'] },
        formatHlc({ wall: Date.now(), counter: 0, region: 'test' }),
      ),
      0,
    );
    expect((await call('GET', keyPath(ns, key))).status).toBe(404);
  });

  it('rules are in SQLite: a new instance of the object still applies them', async () => {
    const ns = freshNamespace('persist');
    const [key] = keysOnShard0(ns, 'k', 1) as [string];
    const version = formatHlc({ wall: Date.now(), counter: 0, region: 'test' });
    await stubOf(0).applyPurge(rules({ namespace: ns, keys: [key] }, version), 0);
    await runInDurableObject(stubOf(0), (_shard: ShardDO, state) => {
      // Only the rules are read here: the sweep dependencies are not needed.
      const reloaded = new ShardPurges(state.storage.sql, {} as ShardPurgeDeps);
      expect(reloaded.effect(entry(ns, key, Date.now() - 10).meta, Date.now()).kind).toBe('purged');
      expect(reloaded.effect(entry(ns, key, Date.now() + 10_000).meta, Date.now()).kind).toBe(
        'none',
      );
    });
  });

  it('applying the same rules twice adds nothing', async () => {
    const ns = freshNamespace('idem');
    const r = rules(
      { namespace: ns, all: true },
      formatHlc({ wall: Date.now(), counter: 0, region: 'test' }),
    );
    expect(await stubOf(1).applyPurge(r, 1)).toEqual({ added: 1 });
    expect(await stubOf(1).applyPurge(r, 1)).toEqual({ added: 0 });
  });
});

/**
 * The shard's configured policy decides evictions under the byte budget,
 * and what it learned survives a restart of the Durable Object.
 */
import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ShardDO } from '../../durable-objects/shard.ts';
import { shardFor } from '../../src/hashing.ts';
import { call, freshNamespace, keyPath, shardStub } from './helpers.ts';

/** `n` keys of `ns` that all live on shard 0. */
function keysOnShardZero(ns: string, n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < n; i++)
    if (shardFor(ns, `k${i}`, Number(env.SHARDS)) === 0) keys.push(`k${i}`);
  return keys;
}

async function residentKeys(ns: string, key: string): Promise<string[]> {
  return runInDurableObject(shardStub(ns, key), (_s: ShardDO, state) =>
    state.storage.sql
      .exec<{ key: string }>('SELECT key FROM entries WHERE ns = ?', ns)
      .toArray()
      .map((r) => r.key),
  );
}

const value = new Uint8Array(8 * 1024).fill(1);

/** Six entries, then a read of the first, then (optionally) a checkpoint and a restart, then five more. */
async function scenario(checkpoint: boolean): Promise<{ keys: string[]; resident: string[] }> {
  // Both namespaces are mapped to "lru" in vitest.config.ts: the test reads LRU's order.
  const ns = checkpoint ? 'lru-restart-checkpoint' : 'lru-restart-control';
  const keys = keysOnShardZero(ns, 11);
  const first = keys[0] as string;
  const stub = shardStub(ns, first);
  for (const key of keys.slice(0, 6))
    expect((await call('PUT', keyPath(ns, key), { body: value })).status).toBe(201);
  await runInDurableObject(stub, (shard: ShardDO) => shard.read(ns, first));
  if (checkpoint) await runInDurableObject(stub, (shard: ShardDO) => shard.checkpoint());
  await evictDurableObject(stub);
  for (const key of keys.slice(6))
    expect((await call('PUT', keyPath(ns, key), { body: value })).status).toBe(201);
  return { keys, resident: await residentKeys(ns, first) };
}

describe('eviction policy in the shard', () => {
  it('keeps what the policy learned across a restart when it was checkpointed', async () => {
    const { keys, resident } = await scenario(true);
    expect(resident).toContain(keys[0]); // read just before the restart: most recently used
    expect(resident).not.toContain(keys[1]); // least recently used went first
    expect(resident).toContain(keys[10]);
  });

  it('without a snapshot, a restarted shard rebuilds recency from insertion order (the control)', async () => {
    const { keys, resident } = await scenario(false);
    expect(resident).not.toContain(keys[0]);
    expect(resident).toContain(keys[10]);
  });

  it('the alarm saves the snapshot within the interval after reads alone', async () => {
    const ns = freshNamespace();
    const [key] = keysOnShardZero(ns, 1);
    const stub = shardStub(ns, key as string);
    await call('PUT', keyPath(ns, key as string), { body: value });
    await runInDurableObject(stub, (_s: ShardDO, state) =>
      state.storage.sql.exec('DELETE FROM policy_snapshot'),
    );
    await runInDurableObject(stub, (shard: ShardDO) => shard.read(ns, key as string));
    const alarm = await runInDurableObject(stub, (_s: ShardDO, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect((alarm as number) - Date.now()).toBeLessThanOrEqual(30_000);
  });
});

describe('the default policy (adaptive)', () => {
  it('keeps a key read often through a scan of keys written once, within the budget', async () => {
    const ns = freshNamespace(); // no policy configured: DEFAULT_POLICY
    const keys = keysOnShardZero(ns, 16);
    const hot = keys[0] as string;
    const stub = shardStub(ns, hot);
    expect((await call('PUT', keyPath(ns, hot), { body: value })).status).toBe(201);
    for (let i = 0; i < 5; i++)
      await runInDurableObject(stub, (shard: ShardDO) => shard.read(ns, hot));
    // Fifteen 8 KiB one-time writes against a 64 KiB budget: LRU would have dropped `hot` by the eighth.
    for (const key of keys.slice(1))
      expect((await call('PUT', keyPath(ns, key), { body: value })).status).toBe(201);
    const resident = await residentKeys(ns, hot);
    expect(resident).toContain(hot);
    expect(resident.length).toBeLessThan(keys.length);
    const stats = await runInDurableObject(stub, (shard: ShardDO) => shard.stats());
    expect(stats.bytes).toBeLessThanOrEqual(stats.budget);
    expect(stats.evictions).toBeGreaterThan(0);
  });

  /** A hot key read five times, an optional checkpoint, a restart, then a scan: is the hot key still there? */
  async function hotKeyAfterRestart(checkpoint: boolean): Promise<boolean> {
    const ns = freshNamespace();
    const keys = keysOnShardZero(ns, 16);
    const hot = keys[0] as string;
    const stub = shardStub(ns, hot);
    await call('PUT', keyPath(ns, hot), { body: value });
    for (let i = 0; i < 5; i++)
      await runInDurableObject(stub, (shard: ShardDO) => shard.read(ns, hot));
    if (checkpoint) await runInDurableObject(stub, (shard: ShardDO) => shard.checkpoint());
    await evictDurableObject(stub);
    for (const key of keys.slice(1)) await call('PUT', keyPath(ns, key), { body: value });
    return (await residentKeys(ns, hot)).includes(hot);
  }

  it('keeps that knowledge across a restart once checkpointed', async () => {
    expect(await hotKeyAfterRestart(true)).toBe(true);
  });

  it('without a checkpoint a restarted shard has forgotten the reads, and the scan takes the key (the control)', async () => {
    expect(await hotKeyAfterRestart(false)).toBe(false);
  });
});

describe('a namespace configured with another policy', () => {
  it('"priority-test" uses the priority policy: a costly, critical model output outlives cheap pages', async () => {
    const ns = 'priority-test'; // NAMESPACE_POLICIES in vitest.config.ts maps it to "priority"
    const keys = keysOnShardZero(ns, 12);
    const model = keys[0] as string;
    const put = await call('PUT', keyPath(ns, model), {
      body: new Uint8Array(20 * 1024),
      headers: { 'cache-priority': 'critical', 'cache-cost': '2000' },
    });
    expect(put.status).toBe(201);
    // Cheap pages, default priority, read as often as the model output: 11 × 8 KiB overflows 64 KiB.
    for (const key of keys.slice(1)) {
      expect((await call('PUT', keyPath(ns, key), { body: value })).status).toBe(201);
      await runInDurableObject(shardStub(ns, key), (shard: ShardDO) => shard.read(ns, key));
    }
    const resident = await residentKeys(ns, model);
    expect(resident).toContain(model);
    expect(resident.length).toBeLessThan(keys.length); // something was evicted
    const stats = await runInDurableObject(shardStub(ns, model), (shard: ShardDO) => shard.stats());
    expect(stats.bytes).toBeLessThanOrEqual(stats.budget);
  });

  it('under plain LRU the same model output is evicted', async () => {
    const ns = 'lru-model-output'; // mapped to "lru" in vitest.config.ts
    const keys = keysOnShardZero(ns, 12);
    const model = keys[0] as string;
    await call('PUT', keyPath(ns, model), {
      body: new Uint8Array(20 * 1024),
      headers: { 'cache-priority': 'critical', 'cache-cost': '2000' },
    });
    for (const key of keys.slice(1)) {
      await call('PUT', keyPath(ns, key), { body: value });
      await runInDurableObject(shardStub(ns, key), (shard: ShardDO) => shard.read(ns, key));
    }
    expect(await residentKeys(ns, model)).not.toContain(model);
  });

  it('rejects a bad Cache-Priority or Cache-Cost with a problem and stores nothing', async () => {
    const ns = freshNamespace();
    for (const headers of <Record<string, string>[]>[
      { 'cache-priority': 'urgent' },
      { 'cache-priority': '4' },
      { 'cache-cost': '-1' },
      { 'cache-cost': 'abc' },
    ]) {
      const res = await call('PUT', keyPath(ns, 'k'), { body: 'v', headers });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { type: string }).type).toBe(
        'urn:strata:problem:invalid-priority',
      );
    }
    expect((await call('GET', keyPath(ns, 'k'))).status).toBe(404);
  });
});

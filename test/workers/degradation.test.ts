/**
 * L3 outages degrade to L1/L2 with a Cache-Status detail and a metric,
 * never a 500, and a write that could not reach L3 is retried by the
 * shard's alarm until it lands.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShardDO } from '../../durable-objects/shard.ts';
import { ChaosTier } from '../../src/tiers/memory-tier.ts';
import type { Tier } from '../../src/tiers/tier.ts';
import { withTimeout } from '../../src/tiers/timeout.ts';
import { call, freshNamespace, hitTier, keyPath, l3, shardStub } from './helpers.ts';

/** The real L3 of every shard a test broke, restored after each test. */
const broken = new Map<DurableObjectStub<ShardDO>, Tier | null>();

/** Runs `change` on the shard owning (namespace, key) after remembering its real L3. */
async function swapL3(namespace: string, key: string, make: (real: Tier) => Tier): Promise<void> {
  const stub = shardStub(namespace, key);
  await runInDurableObject(stub, (shard: ShardDO) => {
    if (!broken.has(stub)) broken.set(stub, shard.l3);
    shard.l3 = make(broken.get(stub) as Tier);
  });
}

/** Wraps the shard's real L3 in a `ChaosTier` in `mode`; returns the wrapper to flip later. */
async function breakL3(
  namespace: string,
  key: string,
  mode: ChaosTier['mode'],
): Promise<ChaosTier> {
  let chaos: ChaosTier | undefined;
  await swapL3(namespace, key, (real) => {
    chaos = new ChaosTier(real);
    chaos.mode = mode;
    return chaos;
  });
  return chaos as ChaosTier;
}

afterEach(async () => {
  for (const [stub, real] of broken) {
    await runInDurableObject(stub, (shard: ShardDO) => {
      shard.l3 = real;
    });
  }
  broken.clear();
});

describe('L3 outage', () => {
  it('a read that misses L2 while L3 is down is a 404 with detail=unavailable, not a 500', async () => {
    const ns = freshNamespace();
    await breakL3(ns, 'k', 'throw');
    const res = await call('GET', keyPath(ns, 'k'));
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-status')).toContain('strata-l3; fwd=miss; detail=unavailable');
    const metrics = await (await call('GET', '/metrics')).text();
    expect(metrics).toMatch(/strata_tier_errors_total\{op="read",tier="L3"\} [1-9]/);
  });

  it('a hanging L3 times out instead of holding the request', async () => {
    const ns = freshNamespace();
    await swapL3(ns, 'k', (real) => {
      const chaos = new ChaosTier(real);
      chaos.mode = 'hang';
      return withTimeout(chaos, 200);
    });
    const started = Date.now();
    const res = await call('GET', keyPath(ns, 'k'));
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-status')).toContain('detail=unavailable');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('writes during an outage are served from L2 and reach L3 once it returns', async () => {
    const ns = freshNamespace();
    const chaos = await breakL3(ns, 'k', 'throw');
    const put = await call('PUT', keyPath(ns, 'k'), { body: 'kept' });
    expect(put.status).toBe(201);
    expect(((await put.json()) as { tiers: unknown }).tiers).toEqual({
      L2: 'stored',
      L3: 'deferred',
    });

    const get = await call('GET', keyPath(ns, 'k'));
    expect(get.status).toBe(200);
    expect(hitTier(get)).toBe('L2');
    expect(await get.text()).toBe('kept');
    expect(await l3().get(ns, 'k')).toBeNull();

    const stub = shardStub(ns, 'k');
    expect((await runInDurableObject(stub, (s: ShardDO) => s.stats())).l3Pending).toBe(1);
    // Still down: the alarm keeps the key queued (and re-arms).
    await runDurableObjectAlarm(stub);
    expect((await runInDurableObject(stub, (s: ShardDO) => s.stats())).l3Pending).toBe(1);

    chaos.mode = 'ok';
    // Make the pending row due now, then run the alarm as the runtime would.
    await runInDurableObject(stub, (_s: ShardDO, state) => {
      state.storage.sql.exec('UPDATE l3_pending SET due_at = 0');
    });
    await runDurableObjectAlarm(stub);
    expect((await runInDurableObject(stub, (s: ShardDO) => s.stats())).l3Pending).toBe(0);
    const inRedis = await l3().get(ns, 'k');
    expect(new TextDecoder().decode(inRedis?.value)).toBe('kept');
  });

  it('a delete during an outage reaches L3 later, and L3 is not read for that key meanwhile', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), { body: 'v1' });
    expect(await l3().get(ns, 'k')).not.toBeNull();
    const chaos = await breakL3(ns, 'k', 'throw');
    expect((await call('DELETE', keyPath(ns, 'k'))).headers.get('strata-l3')).toBe('deferred');
    chaos.mode = 'ok';
    // L3 still has v1, but the shard knows its delete is pending: no resurrection.
    expect((await call('GET', keyPath(ns, 'k'))).status).toBe(404);
    const stub = shardStub(ns, 'k');
    await runInDurableObject(stub, (_s: ShardDO, state) => {
      state.storage.sql.exec('UPDATE l3_pending SET due_at = 0');
    });
    await runDurableObjectAlarm(stub);
    expect(await l3().get(ns, 'k')).toBeNull();
  });
});

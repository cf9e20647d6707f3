/**
 * RedisTier's fallback (src/tiers/l3-redis.ts): where the server has no
 * scripting (the embedded dev store), writes and deletes still happen, as
 * plain SET/DEL, and the tier stops trying the script. Ordering by version
 * against a real redis-server is tested in test/workers/replication.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry.ts';
import { l3Key, type RedisLike, RedisTier } from '../../src/tiers/l3-redis.ts';

function fakeRedis(scriptError: string | null) {
  const calls: string[] = [];
  const store = new Map<string, string>();
  const redis: RedisLike = {
    async get<T>(key: string) {
      return (store.get(key) ?? null) as T | null;
    },
    async set(key: string, value: string) {
      calls.push(`SET ${key}`);
      store.set(key, value);
      return 'OK';
    },
    async del(...keys: string[]) {
      calls.push(`DEL ${keys.join(' ')}`);
      for (const k of keys) store.delete(k);
      return keys.length;
    },
    createScript<T>() {
      return {
        async exec(): Promise<T> {
          calls.push('EVALSHA');
          if (scriptError) throw new Error(scriptError);
          return 1 as T;
        },
      };
    },
  };
  return { redis, calls, store };
}

const entry: Entry = {
  meta: {
    namespace: 'ns',
    key: 'k',
    version: '1000-0-us-east',
    createdAt: 1000,
    expiresAt: Date.now() + 60_000,
    staleWhileRevalidate: 0,
    staleIfError: 0,
    tags: [],
    contentType: 'text/plain',
    size: 1,
  },
  value: new Uint8Array([120]),
};

describe('RedisTier without scripting', () => {
  it('falls back to plain SET and DEL once, then stops trying the script', async () => {
    const { redis, calls, store } = fakeRedis(
      'ERR scripting is not supported by the embedded L3 store',
    );
    const tier = new RedisTier(redis);
    await tier.set(entry);
    expect(store.has(l3Key('ns', 'k'))).toBe(true);
    await tier.delete('ns', 'k', { version: '2000-0-us-east', expiresAt: Date.now() + 1000 });
    expect(store.has(l3Key('ns', 'k'))).toBe(false);
    expect(calls).toEqual(['EVALSHA', 'SET strata:v1:ns:k', 'DEL strata:v1:ns:k']);
  });

  it('uses the script when the server has it, and surfaces other errors', async () => {
    const ok = fakeRedis(null);
    await new RedisTier(ok.redis).set(entry);
    expect(ok.calls).toEqual(['EVALSHA']);
    const broken = fakeRedis('ERR connection reset');
    await expect(new RedisTier(broken.redis).set(entry)).rejects.toThrow(/connection reset/);
  });
});

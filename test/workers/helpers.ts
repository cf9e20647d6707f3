/** Shared helpers for workerd tests: authenticated requests and tier probes. */
import { env, SELF } from 'cloudflare:test';
import { shardFor, shardName } from '../../src/hashing.ts';
import { createRedis, RedisTier } from '../../src/tiers/l3-redis.ts';

export const ADMIN_KEY = 'test-admin-key';
export const BASE = 'https://strata.test';

export interface CallOptions {
  body?: BodyInit | null;
  headers?: Record<string, string>;
  /** Credential; `null` sends none. Defaults to the bootstrap admin key. */
  auth?: string | null;
}

export function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const auth = options.auth === undefined ? ADMIN_KEY : options.auth;
  if (auth !== null) headers.set('authorization', `Bearer ${auth}`);
  return SELF.fetch(`${BASE}${path}`, { method, headers, body: options.body ?? null });
}

export function keyPath(namespace: string, key: string): string {
  return `/v1/cache/${namespace}/${encodeURIComponent(key)}`;
}

/** The tier that answered, from Cache-Status (first member with `hit`). */
export function hitTier(res: Response): string | null {
  const header = res.headers.get('cache-status') ?? '';
  const hit = header.split(',').find((m) => m.split(';').some((p) => p.trim() === 'hit'));
  return hit ? (hit.split(';')[0] as string).trim().replace('strata-', '').toUpperCase() : null;
}

/** The shard Durable Object stub that owns (namespace, key) in the test region. */
export function shardStub(namespace: string, key: string) {
  const shards = Number(env.SHARDS);
  return env.SHARD.get(
    env.SHARD.idFromName(shardName(env.REGION ?? 'local', shardFor(namespace, key, shards))),
  );
}

/** A direct handle on L3 (the real redis-server behind the local L3 server). */
export function l3(): RedisTier {
  return new RedisTier(
    createRedis(env.UPSTASH_REDIS_REST_URL as string, env.UPSTASH_REDIS_REST_TOKEN as string),
  );
}

/** Retries `probe` until it returns true (for background back-fills), at most `ms`. */
export async function eventually(probe: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

/** A namespace unique to one test, so tests never see each other's keys in the shared L3. */
export function freshNamespace(prefix = 't'): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

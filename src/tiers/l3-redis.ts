/**
 * L3: the global tier, Upstash Redis over REST (`@upstash/redis`).
 *
 * One Redis string per entry under `strata:v1:<namespace>:<key>` (namespaces
 * cannot contain `:`, so the split is unambiguous), holding the base64 of the
 * encoded entry (entry.ts), set with `PXAT expiresAt` so Redis drops it at
 * the same instant every tier stops serving it.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { base64ToBytes, bytesToBase64 } from '../base64.ts';
import type { Entry } from '../entry.ts';
import { decodeEntry, encodeEntry } from '../entry.ts';
import type { Tier } from './tier.ts';

/** The part of the Upstash client L3 uses: narrow, so tests can pass a fake. */
export interface RedisLike {
  get<T = string>(key: string): Promise<T | null>;
  set(key: string, value: string, opts: { pxat: number }): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
}

export function l3Key(namespace: string, key: string): string {
  return `strata:v1:${namespace}:${key}`;
}

export class RedisTier implements Tier {
  readonly name = 'L3' as const;

  constructor(private readonly redis: RedisLike) {}

  async get(namespace: string, key: string): Promise<Entry | null> {
    const raw = await this.redis.get<string>(l3Key(namespace, key));
    if (raw === null || raw === undefined) return null;
    const entry = decodeEntry(base64ToBytes(raw));
    // A value under someone else's name is corruption, not a hit.
    if (entry.meta.namespace !== namespace || entry.meta.key !== key) return null;
    return entry;
  }

  async set(entry: Entry): Promise<void> {
    const { meta } = entry;
    await this.redis.set(l3Key(meta.namespace, meta.key), bytesToBase64(encodeEntry(entry)), {
      pxat: meta.expiresAt,
    });
  }

  async delete(namespace: string, key: string): Promise<void> {
    await this.redis.del(l3Key(namespace, key));
  }
}

/**
 * The Upstash client for a Worker or Durable Object. Retries are deliberate:
 * one quick retry on a network error (the default five cost ~4 s on a dead
 * endpoint, see L3-PROTOCOL.md); the caller's deadline bounds the rest.
 */
export function createRedis(url: string, token: string): Redis {
  return new Redis({
    url,
    token,
    retry: { retries: 1, backoff: () => 25 },
    enableTelemetry: false,
    automaticDeserialization: false,
    enableAutoPipelining: false,
  });
}

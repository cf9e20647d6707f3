/**
 * L3: the global tier, Upstash Redis over REST (`@upstash/redis`).
 *
 * One Redis string per entry under `strata:v1:<namespace>:<key>` (namespaces
 * cannot contain `:`, so the split is unambiguous), holding the base64 of the
 * encoded entry (entry.ts), set with `PXAT expiresAt` so Redis drops it at
 * the same instant every tier stops serving it.
 *
 * Every region writes L3, so writes are ordered by version, not by arrival:
 * beside each entry, `strata:ver:v1:<namespace>:<key>` holds the HLC of the
 * last write or delete applied, and one Lua script (`APPLY_IF_NEWER`)
 * compares and applies atomically. A delete leaves that version behind as a
 * tombstone until its grace period ends. Where the server has no scripting
 * (the embedded dev store), writes fall back to plain SET/DEL, and the
 * shards' own version checks keep older copies from being served.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { base64ToBytes, bytesToBase64 } from '../base64.ts';
import type { Entry } from '../entry.ts';
import { decodeEntry, encodeEntry } from '../entry.ts';
import type { Tier, Tombstone } from './tier.ts';

/** The part of the Upstash client L3 uses: narrow, so tests can pass a fake. */
export interface RedisLike {
  get<T = string>(key: string): Promise<T | null>;
  set(key: string, value: string, opts: { pxat: number }): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  /** Runs a Lua script (EVALSHA, then EVAL if the server does not have it yet). */
  createScript?<T>(script: string): { exec(keys: string[], args: string[]): Promise<T> };
}

export function l3Key(namespace: string, key: string): string {
  return `strata:v1:${namespace}:${key}`;
}

/** The key holding the HLC of the last change applied to `l3Key(namespace, key)`. */
export function l3VersionKey(namespace: string, key: string): string {
  return `strata:ver:v1:${namespace}:${key}`;
}

/**
 * KEYS: entry, version. ARGV: op (`set` | `del`), version, PXAT, value.
 * Applies the change only if its version is newer than the stored one (HLCs
 * `<wall>-<counter>-<region>` compared as numbers, then region name), and
 * records the version with the same expiry. Returns 1 if applied, 0 if not.
 */
export const APPLY_IF_NEWER = `
local function parse(v)
  local w, c, r = string.match(v, '^(%d+)-(%d+)-(.+)$')
  return tonumber(w), tonumber(c), r
end
local current = redis.call('GET', KEYS[2])
if current then
  local w1, c1, r1 = parse(current)
  local w2, c2, r2 = parse(ARGV[2])
  if w1 > w2 or (w1 == w2 and (c1 > c2 or (c1 == c2 and r1 >= r2))) then return 0 end
end
if ARGV[1] == 'set' then
  redis.call('SET', KEYS[1], ARGV[4], 'PXAT', ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
return 1
`;

export class RedisTier implements Tier {
  readonly name = 'L3' as const;
  private readonly applyIfNewer: { exec(keys: string[], args: string[]): Promise<number> } | null;
  /** False once the server answered that it has no scripting: plain SET/DEL from then on. */
  private scripting = true;

  constructor(private readonly redis: RedisLike) {
    this.applyIfNewer = redis.createScript ? redis.createScript<number>(APPLY_IF_NEWER) : null;
  }

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
    const value = bytesToBase64(encodeEntry(entry));
    const ordered = await this.ordered(meta.namespace, meta.key, [
      'set',
      meta.version,
      String(meta.expiresAt),
      value,
    ]);
    if (!ordered) {
      await this.redis.set(l3Key(meta.namespace, meta.key), value, { pxat: meta.expiresAt });
    }
  }

  async delete(namespace: string, key: string, tombstone?: Tombstone): Promise<void> {
    if (tombstone) {
      const args = ['del', tombstone.version, String(tombstone.expiresAt), ''];
      if (await this.ordered(namespace, key, args)) return;
    }
    await this.redis.del(l3Key(namespace, key));
  }

  /** Runs APPLY_IF_NEWER; false when scripting is unavailable (the caller falls back). */
  private async ordered(namespace: string, key: string, args: string[]): Promise<boolean> {
    if (!this.applyIfNewer || !this.scripting) return false;
    try {
      await this.applyIfNewer.exec([l3Key(namespace, key), l3VersionKey(namespace, key)], args);
      return true;
    } catch (err) {
      if (/scripting|unknown command|not supported/i.test((err as Error).message ?? '')) {
        this.scripting = false;
        return false;
      }
      throw err;
    }
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

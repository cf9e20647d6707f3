/**
 * L3 purges at scale (src/tiers/l3-redis.ts `purgeStep`): 5,000 entries
 * written through RedisTier.set, then purged by tag, by prefix and by
 * namespace in SCAN/SSCAN pages of 500, through the production client
 * (`createRedis`) and scripts/l3-server.ts in front of the real redis-server,
 * and again in front of the embedded store (no scripting: best-effort order).
 *
 * Each backend gets its own L3 server so its `onRequest` hook can record
 * every command sent: no KEYS, ever. Names carry a per-run suffix: other sim
 * files share the redis-server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type L3Server, randomToken, startL3Server } from '../../scripts/l3-server.ts';
import type { Entry } from '../../src/entry.ts';
import {
  createRedis,
  l3Key,
  l3TagKey,
  l3VersionKey,
  type PurgeTarget,
  RedisTier,
} from '../../src/tiers/l3-redis.ts';

const N = 5_000;
const PAGE = 500;
const run = randomUUID().slice(0, 8);
const WALL = Date.now();
const at = (offset: number, region = 'us-east') => `${WALL + offset}-0-${region}`;

/** Entry i: prefix by i % 5, tag `t<i % 10>`, and `m7` when 7 divides i (a tag across prefixes). */
const PREFIXES = ['blog/', 'shop/', 'docs/', 'a*[x]/', 'abcx/'];
const keyOf = (i: number) => `${PREFIXES[i % 5]}${i}`;
const indexOf = (key: string) => Number(key.slice(key.lastIndexOf('/') + 1));
const tagsOf = (i: number) => [`t${i % 10}`, ...(i % 7 === 0 ? ['m7'] : [])];

function entry(namespace: string, key: string, version: string, tags: string[], ttlMs = 600_000) {
  const value = new TextEncoder().encode(`${key}@${version}`);
  return {
    meta: {
      namespace,
      key,
      version,
      createdAt: WALL,
      expiresAt: Date.now() + ttlMs,
      staleWhileRevalidate: 0,
      staleIfError: 0,
      tags,
      contentType: 'text/plain',
      size: value.byteLength,
    },
    value,
  } satisfies Entry;
}

/** `items` through `fn`, `width` at a time. */
async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += width)
    await Promise.all(items.slice(i, i + width).map(fn));
}

interface Backend {
  name: string;
  /** Whether the server runs Lua (real Redis) or falls back to plain commands (embedded). */
  ordered: boolean;
  start(onRequest: (commands: string[][]) => void, token: string): Promise<L3Server>;
}

const BACKENDS: Backend[] = [
  {
    name: 'redis-server',
    ordered: true,
    start: (onRequest, token) =>
      startL3Server({
        redisUrl: inject('redisUrl'),
        token,
        onRequest: (i) => onRequest(i.commands),
      }),
  },
  {
    name: 'embedded store',
    ordered: false,
    start: (onRequest, token) =>
      startL3Server({ embedded: true, token, onRequest: (i) => onRequest(i.commands) }),
  },
];

describe.each(BACKENDS)('purgeStep against $name', (backend) => {
  const ns = `purge-${run}-${backend.ordered ? 'r' : 'e'}`;
  const commands: string[][] = [];
  let l3: L3Server;
  let redis: ReturnType<typeof createRedis>;
  let tier: RedisTier;
  /** Keys expected in L3 now. */
  const live = new Set<string>();

  /** Every key of the namespace that is in L3, by MGET of all keys ever written. */
  async function present(keys: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const values = await redis.mget<(string | null)[]>(...batch.map((k) => l3Key(ns, k)));
      values.forEach((v, j) => {
        if (v !== null) found.add(batch[j] as string);
      });
    }
    return found;
  }

  async function purge(target: Omit<PurgeTarget, 'namespace'>, version: string) {
    const total = { scanned: 0, deleted: 0, pages: 0 };
    let cursor = '0';
    do {
      const page = await tier.purgeStep({ namespace: ns, ...target }, version, cursor, PAGE);
      expect(page.done).toBe(page.cursor === '0');
      total.scanned += page.scanned;
      total.deleted += page.deleted;
      total.pages++;
      cursor = page.cursor;
    } while (cursor !== '0');
    return total;
  }

  const allKeys = [...Array.from({ length: N }, (_, i) => keyOf(i)), 'survivor/newer'];

  beforeAll(async () => {
    const token = randomToken();
    l3 = await backend.start((c) => commands.push(...c), token);
    redis = createRedis(l3.url, token);
    tier = new RedisTier(redis);
    const started = performance.now();
    await inBatches(
      Array.from({ length: N }, (_, i) => i),
      64,
      async (i) => {
        await tier.set(entry(ns, keyOf(i), at(0), tagsOf(i)));
        live.add(keyOf(i));
      },
    );
    // The neighbour namespaces a sloppy MATCH would reach (`<ns>x`), and one that shares nothing.
    await tier.set(entry(`${ns}x`, 'blog/0', at(0), ['t0']));
    await tier.set(entry(`other-${run}`, 'blog/0', at(0), ['t0']));
    console.log(`${backend.name}: ${N} sets in ${(performance.now() - started).toFixed(0)} ms`);
  });

  afterAll(async () => {
    await l3?.close();
  });

  it('keeps each tag set alive at least as long as its longest-lived entry', async () => {
    const tag = `ttl-${run}`;
    await tier.set(entry(ns, 'ttl/a', at(0), [tag], 60_000));
    await tier.set(entry(ns, 'ttl/b', at(0), [tag], 120_000));
    await tier.set(entry(ns, 'ttl/c', at(0), [tag], 30_000));
    const pttl = await redis.pttl(l3TagKey(ns, tag));
    expect(pttl).toBeGreaterThan(110_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
    expect((await redis.smembers(l3TagKey(ns, tag))).sort()).toEqual(['ttl/a', 'ttl/b', 'ttl/c']);
    await redis.del(l3Key(ns, 'ttl/a'), l3Key(ns, 'ttl/b'), l3Key(ns, 'ttl/c'));
  });

  it('purges a tag: exactly the tagged entries older than the purge', async () => {
    // m7 holds every 7th entry. One is rewritten after the purge's version
    // (it survives); one is rewritten, older than the purge, without m7 (a
    // stale member, which survives too). The embedded store has neither the
    // versions nor the tags at hand: it purges every member.
    await tier.set(entry(ns, keyOf(7), at(2_000, 'eu-west'), ['m7']));
    await tier.set(entry(ns, keyOf(14), at(500), ['t4']));
    const tagged = [...live].filter((k) => indexOf(k) % 7 === 0);
    const kept = backend.ordered ? [keyOf(7), keyOf(14)] : [];
    const expectedGone = tagged.filter((k) => !kept.includes(k));

    const result = await purge({ kind: 'tag', value: 'm7' }, at(1_000));

    expect(result.deleted).toBe(expectedGone.length);
    expect(result.scanned).toBeGreaterThanOrEqual(tagged.length);
    expect(result.pages).toBeGreaterThan(1);
    for (const k of expectedGone) live.delete(k);
    expect(await present(allKeys)).toEqual(live);
    // What is left indexed: the newer write alone (the stale member left too).
    expect(await redis.smembers(l3TagKey(ns, 'm7'))).toEqual(backend.ordered ? [keyOf(7)] : []);
  });

  it.runIf(backend.ordered)('refuses an older write arriving after the purge', async () => {
    const purged = keyOf(21);
    expect(await redis.get(l3VersionKey(ns, purged))).toBe(at(1_000));
    await tier.set(entry(ns, purged, at(900, 'zz-late'), ['m7']));
    expect(await tier.get(ns, purged)).toBeNull();
    // A newer one lands.
    await tier.set(entry(ns, purged, at(1_001), ['m7']));
    expect((await tier.get(ns, purged))?.meta.version).toBe(at(1_001));
    await tier.delete(ns, purged, { version: at(1_002), expiresAt: Date.now() + 60_000 });
  });

  it('purges a prefix with glob characters literally, not as a pattern', async () => {
    // `a*[x]/` as a glob would also match every `abcx/` key.
    const expectedGone = [...live].filter((k) => k.startsWith('a*[x]/'));
    const decoys = [...live].filter((k) => k.startsWith('abcx/'));
    expect(expectedGone.length).toBeGreaterThan(800);
    expect(indexOf('a*[x]/28')).toBe(28);
    const result = await purge({ kind: 'prefix', value: 'a*[x]/' }, at(3_000));
    expect(result.deleted).toBe(expectedGone.length);
    for (const k of expectedGone) live.delete(k);
    expect(await present(allKeys)).toEqual(live);
    expect(decoys.length).toBeGreaterThan(800);
    expect(decoys.every((k) => live.has(k))).toBe(true);
  });

  it('purges a prefix, keeping a write newer than the purge', async () => {
    await tier.set(entry(ns, 'blog/10', at(5_000), ['t0']));
    const expectedGone = [...live].filter((k) => k.startsWith('blog/') && k !== 'blog/10');
    const result = await purge({ kind: 'prefix', value: 'blog/' }, at(4_000));
    expect(result.deleted).toBe(backend.ordered ? expectedGone.length : expectedGone.length + 1);
    for (const k of expectedGone) live.delete(k);
    if (!backend.ordered) live.delete('blog/10');
    expect(await present(allKeys)).toEqual(live);
  });

  it('purges the whole namespace and nothing outside it', async () => {
    await tier.set(entry(ns, 'survivor/newer', at(9_000), ['even']));
    live.add('survivor/newer');
    const expectedGone = [...live].filter((k) => !backend.ordered || k !== 'survivor/newer');
    const result = await purge({ kind: 'namespace', value: '' }, at(6_000));
    expect(result.deleted).toBe(expectedGone.length);
    // SCAN matched entries only: version keys and tag sets live under other prefixes.
    expect(result.scanned).toBeGreaterThanOrEqual(expectedGone.length);
    expect(result.scanned).toBeLessThan(expectedGone.length * 1.5);
    for (const k of expectedGone) live.delete(k);
    expect(await present(allKeys)).toEqual(live);
    expect(await tier.get(`${ns}x`, 'blog/0')).not.toBeNull();
    expect(await tier.get(`other-${run}`, 'blog/0')).not.toBeNull();
    if (backend.ordered) {
      // Fenced for the entry's remaining lifetime.
      expect(await redis.get(l3VersionKey(ns, 'shop/1'))).toBe(at(6_000));
      const ttl = await redis.pttl(l3VersionKey(ns, 'shop/1'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(600_000);
    }
  });

  it('never sends KEYS; pages with SCAN and SSCAN', () => {
    const names = new Set(commands.map((c) => (c[0] ?? '').toUpperCase()));
    expect(names.has('KEYS')).toBe(false);
    expect(names.has('SCAN')).toBe(true);
    expect(names.has('SSCAN')).toBe(true);
    const scans = commands.filter((c) => c[0]?.toUpperCase() === 'SCAN');
    for (const scan of scans) expect(scan.map((a) => a.toUpperCase())).toContain('COUNT');
    if (backend.ordered) expect(names.has('EVALSHA')).toBe(true);
  });
});

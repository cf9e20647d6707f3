/**
 * RedisTier (src/tiers/l3-redis.ts) against a fake client: where the server
 * has no scripting (the embedded dev store), writes, deletes, tag indexing
 * and purges still happen, as plain commands, and the tier stops trying the
 * scripts; where it has, what the scripts are given. Ordering by version and
 * the scripts themselves run against a real redis-server in
 * test/sim/l3-purge.test.ts and test/workers/replication.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globToRegExp } from '../../scripts/lib/embedded-store.ts';
import type { Entry } from '../../src/entry.ts';
import {
  APPLY_IF_NEWER,
  escapeGlob,
  l3Key,
  l3TagKey,
  PURGE_IF_OLDER,
  type RedisLike,
  RedisTier,
} from '../../src/tiers/l3-redis.ts';

interface FakeOptions {
  scriptError?: string | null;
  /** What the script returns. */
  scriptResult?: number;
  /** SCAN / SSCAN replies, in order. */
  pages?: [string, string[]][];
  /** PEXPIREAT NX's reply (0: the set already had an expiry). */
  nx?: number;
}

function fakeRedis(opts: FakeOptions = {}) {
  const calls: string[] = [];
  const scripts: { script: string; keys: string[]; args: string[] }[] = [];
  const store = new Map<string, string>();
  const pages = [...(opts.pages ?? [])];
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
      return keys.filter((k) => store.delete(k)).length;
    },
    createScript<T>(script: string) {
      return {
        async exec(keys: string[], args: string[]): Promise<T> {
          calls.push('EVALSHA');
          scripts.push({ script, keys, args });
          if (opts.scriptError) throw new Error(opts.scriptError);
          return (opts.scriptResult ?? 1) as T;
        },
      };
    },
    async scan(cursor: string, o: { match: string; count: number }) {
      calls.push(`SCAN ${cursor} MATCH ${o.match} COUNT ${o.count}`);
      return pages.shift() ?? ['0', []];
    },
    async sscan(key: string, cursor: string, o: { count: number }) {
      calls.push(`SSCAN ${key} ${cursor} COUNT ${o.count}`);
      return pages.shift() ?? ['0', []];
    },
    async sadd(key: string, ...members: string[]) {
      calls.push(`SADD ${key} ${members.join(' ')}`);
      return members.length;
    },
    async srem(key: string, ...members: string[]) {
      calls.push(`SREM ${key} ${members.join(' ')}`);
      return members.length;
    },
    async pexpireat(key: string, at: number, option: 'NX' | 'GT') {
      calls.push(`PEXPIREAT ${key} ${at} ${option}`);
      return option === 'NX' ? (opts.nx ?? 1) : 1;
    },
  };
  return { redis, calls, scripts, store };
}

const NO_SCRIPTING = 'ERR scripting is not supported by the embedded L3 store';
const expiresAt = Date.now() + 60_000;

function entryOf(key: string, tags: string[] = []): Entry {
  return {
    meta: {
      namespace: 'ns',
      key,
      version: '1000-0-us-east',
      createdAt: 1000,
      expiresAt,
      staleWhileRevalidate: 0,
      staleIfError: 0,
      tags,
      contentType: 'text/plain',
      size: 1,
    },
    value: new Uint8Array([120]),
  };
}
const entry = entryOf('k');

describe('RedisTier without scripting', () => {
  it('falls back to plain SET and DEL once, then stops trying the script', async () => {
    const { redis, calls, store } = fakeRedis({ scriptError: NO_SCRIPTING });
    const tier = new RedisTier(redis);
    await tier.set(entry);
    expect(store.has(l3Key('ns', 'k'))).toBe(true);
    await tier.delete('ns', 'k', { version: '2000-0-us-east', expiresAt: Date.now() + 1000 });
    expect(store.has(l3Key('ns', 'k'))).toBe(false);
    expect(calls).toEqual(['EVALSHA', 'SET strata:v1:ns:k', 'DEL strata:v1:ns:k']);
  });

  it('uses the script when the server has it, and surfaces other errors', async () => {
    const ok = fakeRedis();
    await new RedisTier(ok.redis).set(entry);
    expect(ok.calls).toEqual(['EVALSHA']);
    const broken = fakeRedis({ scriptError: 'ERR connection reset' });
    await expect(new RedisTier(broken.redis).set(entry)).rejects.toThrow(/connection reset/);
  });

  it('indexes tags with SADD, giving a new set the entry expiry and only extending an old one', async () => {
    const fresh = fakeRedis({ scriptError: NO_SCRIPTING, nx: 1 });
    await new RedisTier(fresh.redis).set(entryOf('blog/1', ['a']));
    expect(fresh.calls.slice(1)).toEqual([
      'SET strata:v1:ns:blog/1',
      'SADD strata:tag:v1:ns:a blog/1',
      `PEXPIREAT strata:tag:v1:ns:a ${expiresAt} NX`,
    ]);
    const old = fakeRedis({ scriptError: NO_SCRIPTING, nx: 0 });
    await new RedisTier(old.redis).set(entryOf('blog/1', ['a']));
    expect(old.calls.slice(-2)).toEqual([
      `PEXPIREAT strata:tag:v1:ns:a ${expiresAt} NX`,
      `PEXPIREAT strata:tag:v1:ns:a ${expiresAt} GT`,
    ]);
  });

  it('purges a page by plain DEL (no version check), and SREMs a tag page', async () => {
    const prefix = fakeRedis({
      scriptError: NO_SCRIPTING,
      pages: [['17', ['strata:v1:ns:blog/1', 'strata:v1:ns:blog/2']]],
    });
    prefix.store.set('strata:v1:ns:blog/1', 'x');
    const tier = new RedisTier(prefix.redis);
    const target = { namespace: 'ns', kind: 'prefix', value: 'blog/' } as const;
    expect(await tier.purgeStep(target, '2000-0-us-east', '0', 100)).toEqual({
      cursor: '17',
      scanned: 2,
      deleted: 1,
      done: false,
    });
    expect(prefix.calls).toEqual([
      'SCAN 0 MATCH strata:v1:ns:blog/* COUNT 100',
      'EVALSHA',
      'DEL strata:v1:ns:blog/1 strata:v1:ns:blog/2',
    ]);

    const tag = fakeRedis({ scriptError: NO_SCRIPTING, pages: [['0', ['blog/1', '42']]] });
    const page = await new RedisTier(tag.redis).purgeStep(
      { namespace: 'ns', kind: 'tag', value: 'p-42' },
      '2000-0-us-east',
      '5',
      100,
    );
    expect(page).toEqual({ cursor: '0', scanned: 2, deleted: 0, done: true });
    expect(tag.calls).toEqual([
      'SSCAN strata:tag:v1:ns:p-42 5 COUNT 100',
      'EVALSHA',
      'DEL strata:v1:ns:blog/1 strata:v1:ns:42',
      'SREM strata:tag:v1:ns:p-42 blog/1 42',
    ]);
  });
});

describe('RedisTier with scripting', () => {
  it('passes tag sets as KEYS and the key as the member', async () => {
    const { redis, scripts } = fakeRedis();
    await new RedisTier(redis).set(entryOf('blog/1', ['a', 'b']));
    expect(scripts[0]?.script).toBe(APPLY_IF_NEWER);
    expect(scripts[0]?.keys).toEqual([
      'strata:v1:ns:blog/1',
      'strata:ver:v1:ns:blog/1',
      'strata:tag:v1:ns:a',
      'strata:tag:v1:ns:b',
    ]);
    expect(scripts[0]?.args.slice(0, 3)).toEqual(['set', '1000-0-us-east', String(expiresAt)]);
    expect(scripts[0]?.args[4]).toBe('blog/1');
  });

  it('assembles one PURGE_IF_OLDER call per page: entry keys, version keys, tag set', async () => {
    const { redis, scripts, calls } = fakeRedis({
      scriptResult: 1,
      pages: [
        ['9', ['strata:v1:ns:a', 'strata:v1:ns:b']],
        ['0', ['x']],
      ],
    });
    const tier = new RedisTier(redis);
    const page = await tier.purgeStep(
      { namespace: 'ns', kind: 'namespace', value: 'ignored' },
      '2000-0-us-east',
      '0',
      500,
    );
    expect(page).toEqual({ cursor: '9', scanned: 2, deleted: 1, done: false });
    expect(calls[0]).toBe('SCAN 0 MATCH strata:v1:ns:* COUNT 500');
    expect(scripts[0]).toEqual({
      script: PURGE_IF_OLDER,
      keys: ['strata:v1:ns:a', 'strata:v1:ns:b', 'strata:ver:v1:ns:a', 'strata:ver:v1:ns:b'],
      args: ['2000-0-us-east', ''],
    });

    const last = await tier.purgeStep(
      { namespace: 'ns', kind: 'tag', value: 'a[1]' },
      '2000-0-us-east',
      page.cursor,
      500,
    );
    expect(last).toEqual({ cursor: '0', scanned: 1, deleted: 1, done: true });
    expect(scripts[1]).toEqual({
      script: PURGE_IF_OLDER,
      keys: ['strata:v1:ns:x', 'strata:ver:v1:ns:x', 'strata:tag:v1:ns:a[1]'],
      args: ['2000-0-us-east', 'a[1]'],
    });
  });

  it('skips the script on an empty page, which is not the end unless the cursor is 0', async () => {
    const { redis, calls } = fakeRedis({ pages: [['33', []]] });
    const page = await new RedisTier(redis).purgeStep(
      { namespace: 'ns', kind: 'prefix', value: 'p' },
      '2000-0-us-east',
      '0',
      10,
    );
    expect(page).toEqual({ cursor: '33', scanned: 0, deleted: 0, done: false });
    expect(calls).toEqual(['SCAN 0 MATCH strata:v1:ns:p* COUNT 10']);
  });

  it('escapes glob characters in the prefix', async () => {
    const { redis, calls } = fakeRedis();
    await new RedisTier(redis).purgeStep(
      { namespace: 'ns', kind: 'prefix', value: 'a*b?[c]\\d^-' },
      '2000-0-us-east',
      '0',
      10,
    );
    expect(calls[0]).toBe('SCAN 0 MATCH strata:v1:ns:a\\*b\\?\\[c\\]\\\\d^-* COUNT 10');
  });

  it('refuses a malformed version, cursor or count before any I/O', async () => {
    const { redis, calls } = fakeRedis();
    const tier = new RedisTier(redis);
    const target = { namespace: 'ns', kind: 'namespace', value: '' } as const;
    await expect(tier.purgeStep(target, 'v2', '0', 10)).rejects.toThrow(RangeError);
    await expect(tier.purgeStep(target, '1-0-r', '-1', 10)).rejects.toThrow(RangeError);
    await expect(tier.purgeStep(target, '1-0-r', '0', 0)).rejects.toThrow(RangeError);
    await expect(tier.purgeStep(target, '1-0-r', '0', 1.5)).rejects.toThrow(RangeError);
    expect(calls).toEqual([]);
  });

  it('never calls KEYS from Lua either', () => {
    for (const script of [APPLY_IF_NEWER, PURGE_IF_OLDER]) {
      expect(script).not.toMatch(/redis\.call\(\s*'(KEYS|SCAN)'/i);
    }
  });
});

describe('escapeGlob', () => {
  it('makes MATCH <escaped prefix>* select exactly the keys starting with the prefix', () => {
    // Checked with the embedded store's glob matcher; the sim test checks real Redis.
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '*', '?', '[', ']', '\\', '^', '-') });
    fc.assert(
      fc.property(text, text, (prefix, rest) => {
        const re = globToRegExp(`${escapeGlob(l3Key('ns', prefix))}*`);
        expect(re.test(l3Key('ns', prefix + rest))).toBe(true);
        const other = l3Key('ns', rest);
        expect(re.test(other)).toBe(other.startsWith(l3Key('ns', prefix)));
        expect(re.test(`strata:ver:v1:ns:${prefix}`)).toBe(false);
        expect(re.test(l3TagKey('ns', prefix))).toBe(false);
      }),
    );
  });
});

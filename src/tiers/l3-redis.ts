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
 *
 * Purges never send KEYS. An entry with tags is also a member (its key) of
 * one Redis set per tag, `strata:tag:v1:<namespace>:<tag>`, that lives at
 * least as long as the entry; `purgeStep` walks one page of SCAN (prefixes,
 * namespaces) or SSCAN (tags) and removes, in one Lua call
 * (`PURGE_IF_OLDER`), the entries whose version is older than the purge's,
 * leaving the purge's version behind so an older write arriving later is
 * refused by APPLY_IF_NEWER.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { base64ToBytes, bytesToBase64 } from '../base64.ts';
import type { Entry } from '../entry.ts';
import { decodeEntry, encodeEntry } from '../entry.ts';
import { parseHlc } from '../hlc.ts';
import type { Tier, Tombstone } from './tier.ts';

/** The part of the Upstash client L3 uses: narrow, so tests can pass a fake. */
export interface RedisLike {
  get<T = string>(key: string): Promise<T | null>;
  set(key: string, value: string, opts: { pxat: number }): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  /** Runs a Lua script (EVALSHA, then EVAL if the server does not have it yet). */
  createScript?<T>(script: string): { exec(keys: string[], args: string[]): Promise<T> };
  /** SCAN: `[next cursor, keys]`; "0" when the iteration is over. */
  scan(cursor: string, opts: { match: string; count: number }): Promise<[string, string[]]>;
  /** SSCAN: `[next cursor, members]`. */
  sscan(
    key: string,
    cursor: string,
    opts: { count: number },
  ): Promise<[string, (string | number)[]]>;
  sadd(key: string, member: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  /** PEXPIREAT with NX (only a key without expiry) or GT (only later). */
  pexpireat(key: string, unixMs: number, option: 'NX' | 'GT'): Promise<number>;
}

/** What one purge selects in a namespace: keys under a prefix, keys carrying a tag, or every key. */
export interface PurgeTarget {
  namespace: string;
  kind: 'prefix' | 'tag' | 'namespace';
  /** The prefix or the tag; ignored for `namespace`. */
  value: string;
}

/** One page of a purge. */
export interface PurgePage {
  /** Pass it to the next `purgeStep`; "0" once `done`. */
  cursor: string;
  /** Candidate keys this page looked at (SCAN keys or SSCAN members). */
  scanned: number;
  /** Entries it removed. */
  deleted: number;
  done: boolean;
}

export function l3Key(namespace: string, key: string): string {
  return `strata:v1:${namespace}:${key}`;
}

/** The key holding the HLC of the last change applied to `l3Key(namespace, key)`. */
export function l3VersionKey(namespace: string, key: string): string {
  return `strata:ver:v1:${namespace}:${key}`;
}

/** The set of keys (the part after `<namespace>:`) whose entries carry `tag`. */
export function l3TagKey(namespace: string, tag: string): string {
  return `strata:tag:v1:${namespace}:${tag}`;
}

/** `text` as a literal inside a Redis glob: `*`, `?`, `[`, `]` and `\` escaped. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Lua: an HLC `<wall>-<counter>-<region>` as its three parts. */
const PARSE_HLC = `
local function parse(v)
  local w, c, r = string.match(v, '^(%d+)-(%d+)-(.+)$')
  return tonumber(w), tonumber(c), r
end
`;

/**
 * KEYS: entry, version, then the entry's tag sets. ARGV: op (`set` | `del`),
 * version, PXAT, value, and the key (the tag sets' member).
 * Applies the change only if its version is newer than the stored one (HLCs
 * `<wall>-<counter>-<region>` compared as numbers, then region name), and
 * records the version with the same expiry. A `set` also adds the key to its
 * tag sets and makes each live at least until PXAT: a new set takes PXAT
 * (NX), an existing one only ever moves later (GT), so no PEXPIRETIME is
 * needed. Returns 1 if applied, 0 if not.
 */
export const APPLY_IF_NEWER = `${PARSE_HLC}
local current = redis.call('GET', KEYS[2])
if current then
  local w1, c1, r1 = parse(current)
  local w2, c2, r2 = parse(ARGV[2])
  if w1 > w2 or (w1 == w2 and (c1 > c2 or (c1 == c2 and r1 >= r2))) then return 0 end
end
if ARGV[1] == 'set' then
  redis.call('SET', KEYS[1], ARGV[4], 'PXAT', ARGV[3])
  for i = 3, #KEYS do
    redis.call('SADD', KEYS[i], ARGV[5])
    if redis.call('PEXPIREAT', KEYS[i], ARGV[3], 'NX') == 0 then
      redis.call('PEXPIREAT', KEYS[i], ARGV[3], 'GT')
    end
  end
else
  redis.call('DEL', KEYS[1])
end
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
return 1
`;

/**
 * KEYS: n entry keys, then their n version keys, then (tag purges only) the
 * tag set. ARGV: the purge's version, the tag (empty for prefix and
 * namespace purges). For each entry older than the purge (a missing version
 * counts as older) and, for a tag purge, still carrying the tag: DEL it and
 * set its version key to the purge's for the entry's remaining lifetime, as
 * a delete through APPLY_IF_NEWER would, so an older write arriving later is
 * refused. A tag purge also SREMs every member it deletes or finds stale
 * (entry gone, or rewritten without the tag); members whose entry is newer
 * than the purge stay indexed. Returns the number of entries deleted.
 *
 * The tag test reads only the entry's header and metadata (entry.ts: 'S',
 * format, uint32 length, JSON, all base64) with GETRANGE, not the value.
 */
export const PURGE_IF_OLDER = `${PARSE_HLC}
local function older(a, b)
  local w1, c1, r1 = parse(a)
  local w2, c2, r2 = parse(b)
  return w1 < w2 or (w1 == w2 and (c1 < c2 or (c1 == c2 and r1 < r2)))
end
local digits = {}
local alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
for i = 1, 64 do digits[string.byte(alphabet, i)] = i - 1 end
local function head(key, n)
  local text = redis.call('GETRANGE', key, 0, math.ceil(n / 3) * 4 - 1)
  local out = {}
  for i = 1, #text - 3, 4 do
    local a, b, c, d = string.byte(text, i, i + 3)
    local v = ((digits[a] or 0) * 64 + (digits[b] or 0)) * 4096 + (digits[c] or 0) * 64 + (digits[d] or 0)
    out[#out + 1] = string.char(math.floor(v / 65536), math.floor(v / 256) % 256, v % 256)
  end
  return string.sub(table.concat(out), 1, n)
end
-- Unreadable metadata counts as tagged: purging a corrupt entry is harmless.
local function tagged(key, tag)
  local h = head(key, 6)
  if #h < 6 then return true end
  local a, b, c, d = string.byte(h, 3, 6)
  local n = ((a * 256 + b) * 256 + c) * 256 + d
  local ok, meta = pcall(cjson.decode, string.sub(head(key, 6 + n), 7))
  if not ok or type(meta) ~= 'table' or type(meta.tags) ~= 'table' then return true end
  for _, t in ipairs(meta.tags) do
    if t == tag then return true end
  end
  return false
end
local version, tag = ARGV[1], ARGV[2]
local n = math.floor(#KEYS / 2)
local set = nil
if tag ~= '' then set = KEYS[2 * n + 1] end
local deleted = 0
for i = 1, n do
  local entry, ver = KEYS[i], KEYS[n + i]
  local ttl = redis.call('PTTL', entry)
  local member = string.match(entry, '^strata:v1:[^:]*:(.*)$')
  if ttl ~= -2 and (not set or tagged(entry, tag)) then
    local current = redis.call('GET', ver)
    if not current or older(current, version) then
      redis.call('DEL', entry)
      if ttl > 0 then redis.call('SET', ver, version, 'PX', ttl) end
      if set then redis.call('SREM', set, member) end
      deleted = deleted + 1
    end
  elseif set then
    redis.call('SREM', set, member)
  end
end
return deleted
`;

type Script<T> = { exec(keys: string[], args: string[]): Promise<T> };

export class RedisTier implements Tier {
  readonly name = 'L3' as const;
  private readonly applyIfNewer: Script<number> | null;
  private readonly purgeIfOlder: Script<number> | null;
  /** False once the server answered that it has no scripting: plain commands from then on. */
  private scripting = true;

  constructor(private readonly redis: RedisLike) {
    this.applyIfNewer = redis.createScript ? redis.createScript<number>(APPLY_IF_NEWER) : null;
    this.purgeIfOlder = redis.createScript ? redis.createScript<number>(PURGE_IF_OLDER) : null;
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
    const tagKeys = meta.tags.map((tag) => l3TagKey(meta.namespace, tag));
    const applied = await this.run(
      this.applyIfNewer,
      [l3Key(meta.namespace, meta.key), l3VersionKey(meta.namespace, meta.key), ...tagKeys],
      ['set', meta.version, String(meta.expiresAt), value, meta.key],
    );
    if (applied !== undefined) return;
    await this.redis.set(l3Key(meta.namespace, meta.key), value, { pxat: meta.expiresAt });
    // The script's tag indexing, one command at a time.
    await Promise.all(
      tagKeys.map(async (tagKey) => {
        await this.redis.sadd(tagKey, meta.key);
        if ((await this.redis.pexpireat(tagKey, meta.expiresAt, 'NX')) === 0) {
          await this.redis.pexpireat(tagKey, meta.expiresAt, 'GT');
        }
      }),
    );
  }

  async delete(namespace: string, key: string, tombstone?: Tombstone): Promise<void> {
    if (tombstone) {
      const applied = await this.run(
        this.applyIfNewer,
        [l3Key(namespace, key), l3VersionKey(namespace, key)],
        ['del', tombstone.version, String(tombstone.expiresAt), '', key],
      );
      if (applied !== undefined) return;
    }
    await this.redis.del(l3Key(namespace, key));
  }

  /**
   * One page of a purge: SCAN (`MATCH strata:v1:<ns>:<prefix>*`, glob
   * characters escaped) for a prefix or the whole namespace, SSCAN of the
   * tag's set for a tag; then one PURGE_IF_OLDER call removes the page's
   * entries older than `version` and fences them at `version`, so a write
   * newer than the purge survives and an older one arriving later is
   * refused. Start with cursor "0" and call again with the returned cursor
   * until `done`; SCAN's guarantee holds: every key present for the whole
   * walk is seen. Without scripting (the embedded dev store) the page's
   * keys are deleted outright, with no version check: ordering there is
   * best-effort, as it is for writes.
   *
   * @example
   * let page = { cursor: '0', done: false };
   * while (!page.done) {
   *   page = await l3.purgeStep({ namespace: 'pages', kind: 'tag', value: 'product-42' },
   *     purgeVersion, page.cursor, 500);
   * }
   */
  async purgeStep(
    target: PurgeTarget,
    version: string,
    cursor: string,
    count: number,
  ): Promise<PurgePage> {
    if (!parseHlc(version)) throw new RangeError(`purgeStep: ${version} is not an HLC version`);
    if (!/^\d+$/.test(cursor)) throw new RangeError(`purgeStep: invalid cursor ${cursor}`);
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`purgeStep: count must be a positive integer, not ${count}`);
    }
    const { namespace } = target;
    const tag = target.kind === 'tag' ? target.value : null;
    let next: string;
    let keys: string[];
    if (tag !== null) {
      const [at, members] = await this.redis.sscan(l3TagKey(namespace, tag), cursor, { count });
      next = String(at);
      keys = members.map(String);
    } else {
      const head = l3Key(namespace, target.kind === 'prefix' ? target.value : '');
      const [at, found] = await this.redis.scan(cursor, { match: `${escapeGlob(head)}*`, count });
      next = String(at);
      const skip = l3Key(namespace, '').length;
      keys = found.filter((k) => k.startsWith(head)).map((k) => k.slice(skip));
    }
    const deleted = keys.length ? await this.purgeKeys(namespace, tag, keys, version) : 0;
    return { cursor: next, scanned: keys.length, deleted, done: next === '0' };
  }

  /** Removes the older of `keys` (one page) from L3; the number removed. */
  private async purgeKeys(
    namespace: string,
    tag: string | null,
    keys: string[],
    version: string,
  ): Promise<number> {
    const entryKeys = keys.map((k) => l3Key(namespace, k));
    const scriptKeys = [...entryKeys, ...keys.map((k) => l3VersionKey(namespace, k))];
    if (tag !== null) scriptKeys.push(l3TagKey(namespace, tag));
    const deleted = await this.run(this.purgeIfOlder, scriptKeys, [version, tag ?? '']);
    if (deleted !== undefined) return Number(deleted);
    const removed = await this.redis.del(...entryKeys);
    if (tag !== null) await this.redis.srem(l3TagKey(namespace, tag), ...keys);
    return removed;
  }

  /** Runs a script; undefined when scripting is unavailable (the caller falls back). */
  private async run(
    script: Script<number> | null,
    keys: string[],
    args: string[],
  ): Promise<number | undefined> {
    if (!script || !this.scripting) return undefined;
    try {
      return await script.exec(keys, args);
    } catch (err) {
      if (/scripting|unknown command|not supported/i.test((err as Error).message ?? '')) {
        this.scripting = false;
        return undefined;
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

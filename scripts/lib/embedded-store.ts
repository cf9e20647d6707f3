/**
 * An in-memory stand-in for redis-server, for machines without one.
 *
 * It implements the commands Strata uses (strings, TTLs, hashes, sets, sorted
 * sets, SCAN) with Redis 7.0's reply shapes as RESP2 gives them (strings are
 * Buffers, integers numbers, missing values null) and Redis's error text.
 * Keys expire lazily, when touched. Scripting is not supported: EVAL/EVALSHA
 * fail with a clear error rather than a NOSCRIPT the client would retry.
 */

/** A RESP2 reply: bulk/simple strings as Buffers. */
export type Reply = Buffer | number | bigint | null | Reply[];

/** A Redis error reply; `message` is the exact text Redis would send. */
export class CommandError extends Error {
  override name = 'CommandError';
}

type Data =
  | { type: 'string'; value: Buffer }
  | { type: 'hash'; value: Map<string, Buffer> }
  | { type: 'set'; value: Set<string> }
  | { type: 'zset'; value: Map<string, number> };

interface Entry {
  data: Data;
  /** Unix ms, or null for no expiry. */
  expiresAt: number | null;
  /** Insertion sequence: SCAN cursors are sequence numbers. */
  seq: number;
}

export interface EmbeddedStoreOptions {
  /** Clock in Unix ms (injectable for tests). */
  now?: () => number;
}

const OK = Buffer.from('OK');
const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const NOT_INT = 'ERR value is not an integer or out of range';
const SYNTAX = 'ERR syntax error';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The keyspace plus the command table.
 *
 * @example
 * const store = new EmbeddedStore();
 * store.call(['SET', 'k', 'v', 'EX', '60']); // Buffer 'OK'
 * store.call(['GET', 'k']);                 // Buffer 'v'
 */
export class EmbeddedStore {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #seq = 0;

  constructor(opts: EmbeddedStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
  }

  /** Validates name and argument count only (what Redis checks when queueing inside MULTI). */
  check(args: readonly string[]): void {
    const name = (args[0] ?? '').toLowerCase();
    const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!spec) {
      const rest = args
        .slice(1)
        .map((a) => `'${a}' `)
        .join('');
      throw new CommandError(
        `ERR unknown command '${args[0] ?? ''}', with args beginning with: ${rest}`,
      );
    }
    const [arity] = spec;
    if (arity > 0 ? args.length !== arity : args.length < -arity) {
      throw new CommandError(`ERR wrong number of arguments for '${name}' command`);
    }
  }

  /** Runs one command; throws `CommandError` with Redis's error text. */
  call(args: readonly string[]): Reply {
    this.check(args);
    const spec = COMMANDS[(args[0] ?? '').toLowerCase()];
    if (!spec) throw new CommandError('ERR unknown command');
    return spec[1](this, args);
  }

  /** Current time in Unix ms. */
  now(): number {
    return this.#now();
  }

  /** The live entry for `key`, dropping it first if it has expired. */
  lookup(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Typed lookup: undefined when missing, WRONGTYPE when another type. */
  read<T extends Data['type']>(key: string, type: T): Extract<Data, { type: T }> | undefined {
    const entry = this.lookup(key);
    if (!entry) return undefined;
    if (entry.data.type !== type) throw new CommandError(WRONGTYPE);
    return entry.data as Extract<Data, { type: T }>;
  }

  /** A string value, or null when missing or of another type (MGET semantics). */
  string(key: string): Buffer | null {
    const data = this.lookup(key)?.data;
    return data?.type === 'string' ? data.value : null;
  }

  /** Like `read`, creating an empty value of `type` when missing. */
  upsert<T extends Data['type']>(key: string, type: T): Extract<Data, { type: T }> {
    const found = this.read(key, type);
    if (found) return found;
    const data = (
      type === 'hash'
        ? { type, value: new Map() }
        : type === 'set'
          ? { type, value: new Set() }
          : type === 'zset'
            ? { type, value: new Map() }
            : { type, value: Buffer.alloc(0) }
    ) as Extract<Data, { type: T }>;
    this.write(key, data, null);
    return data;
  }

  write(key: string, data: Data, expiresAt: number | null): void {
    const entry = this.lookup(key);
    if (entry) {
      entry.data = data;
      entry.expiresAt = expiresAt;
    } else {
      this.#entries.set(key, { data, expiresAt, seq: ++this.#seq });
    }
  }

  remove(key: string): boolean {
    return this.lookup(key) !== undefined && this.#entries.delete(key);
  }

  /** Drops `key` if its collection became empty (Redis never keeps empty hashes/sets). */
  dropIfEmpty(key: string, data: { value: { size: number } }): void {
    if (data.value.size === 0) this.#entries.delete(key);
  }

  flush(): void {
    this.#entries.clear();
  }

  /** Live entries in insertion order, purging expired ones on the way. */
  *live(): Generator<[string, Entry]> {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.#entries.delete(key);
      else yield [key, entry];
    }
  }
}

type Run = (db: EmbeddedStore, args: readonly string[]) => Reply;
/** [Redis arity (negative = at least), implementation] */
type Spec = [number, Run];

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');
const arg = (args: readonly string[], i: number): string => args[i] ?? '';

function parseInt64(raw: string, message = NOT_INT): bigint {
  if (!/^(0|-?[1-9]\d{0,19})$/.test(raw)) throw new CommandError(message);
  const n = BigInt(raw);
  if (n < INT64_MIN || n > INT64_MAX) throw new CommandError(message);
  return n;
}

function int(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n;
}

function parseScore(raw: string): number {
  const lower = raw.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  const n = raw.trim() === raw && raw !== '' ? Number(raw) : Number.NaN;
  if (Number.isNaN(n)) throw new CommandError('ERR value is not a valid float');
  return n;
}

function formatScore(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  return String(n);
}

function incrBy(db: EmbeddedStore, key: string, by: bigint): Reply {
  const entry = db.lookup(key);
  const current = db.read(key, 'string');
  const base = current ? parseInt64(current.value.toString('utf8')) : 0n;
  const next = base + by;
  if (next < INT64_MIN || next > INT64_MAX) {
    throw new CommandError('ERR increment or decrement would overflow');
  }
  db.write(key, { type: 'string', value: buf(next.toString()) }, entry?.expiresAt ?? null);
  return int(next);
}

function set(db: EmbeddedStore, args: readonly string[]): Reply {
  const key = arg(args, 1);
  let nx = false;
  let xx = false;
  let get = false;
  let keepTtl = false;
  let expiresAt: number | null = null;
  let expiryGiven = false;
  for (let i = 3; i < args.length; i++) {
    const option = arg(args, i).toUpperCase();
    if (option === 'NX' && !xx) nx = true;
    else if (option === 'XX' && !nx) xx = true;
    else if (option === 'GET') get = true;
    else if (option === 'KEEPTTL' && !expiryGiven) keepTtl = true;
    else if (['EX', 'PX', 'EXAT', 'PXAT'].includes(option) && !expiryGiven && !keepTtl) {
      if (i + 1 >= args.length) throw new CommandError(SYNTAX);
      const n = Number(parseInt64(arg(args, ++i)));
      if (n <= 0) throw new CommandError("ERR invalid expire time in 'set' command");
      const now = db.now();
      expiresAt =
        option === 'EX'
          ? now + n * 1000
          : option === 'PX'
            ? now + n
            : option === 'EXAT'
              ? n * 1000
              : n;
      expiryGiven = true;
    } else throw new CommandError(SYNTAX);
  }
  const previous = db.lookup(key);
  let old: Reply = null;
  if (get && previous) {
    if (previous.data.type !== 'string') throw new CommandError(WRONGTYPE);
    old = previous.data.value;
  }
  if ((nx && previous) || (xx && !previous)) return get ? old : null;
  const ttl = keepTtl ? (previous?.expiresAt ?? null) : expiresAt;
  db.write(key, { type: 'string', value: buf(arg(args, 2)) }, ttl);
  return get ? old : OK;
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT (Redis 7). */
function expire(unit: 1000 | 1, absolute: boolean): Run {
  return (db, args) => {
    const n = Number(parseInt64(arg(args, 2)));
    const when = absolute ? n * unit : db.now() + n * unit;
    const flags = new Set(args.slice(3).map((a) => a.toUpperCase()));
    for (const flag of flags)
      if (!['NX', 'XX', 'GT', 'LT'].includes(flag)) throw new CommandError(SYNTAX);
    if (flags.has('NX') && flags.size > 1) {
      throw new CommandError('ERR NX and XX, GT or LT options at the same time are not compatible');
    }
    if (flags.has('GT') && flags.has('LT')) {
      throw new CommandError('ERR GT and LT options at the same time are not compatible');
    }
    const entry = db.lookup(arg(args, 1));
    if (!entry) return 0;
    const current = entry.expiresAt ?? Number.POSITIVE_INFINITY;
    if (flags.has('NX') && entry.expiresAt !== null) return 0;
    if (flags.has('XX') && entry.expiresAt === null) return 0;
    if (flags.has('GT') && !(when > current)) return 0;
    if (flags.has('LT') && !(when < current)) return 0;
    if (when <= db.now()) db.remove(arg(args, 1));
    else entry.expiresAt = when;
    return 1;
  };
}

function ttl(ms: boolean): Run {
  return (db, args) => {
    const entry = db.lookup(arg(args, 1));
    if (!entry) return -2;
    if (entry.expiresAt === null) return -1;
    const left = entry.expiresAt - db.now();
    return ms ? left : Math.floor((left + 500) / 1000);
  };
}

/** Redis glob (`*`, `?`, `[a-z]`, `[^x]`, `\x`) as a RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeChar(pattern[++i] ?? '');
    else if (c === '[' && pattern.indexOf(']', i + 2) !== -1) {
      const end = pattern.indexOf(']', i + 2);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      const cls = body.replace(/\\(.)/g, '$1').replace(/[\]\\^]/g, '\\$&');
      out += `[${negate ? '^' : ''}${cls}]`;
      i = end;
    } else out += escapeChar(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeChar(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function scan(db: EmbeddedStore, args: readonly string[]): Reply {
  const cursorText = arg(args, 1);
  if (!/^\d+$/.test(cursorText)) throw new CommandError('ERR invalid cursor');
  const cursor = Number(cursorText);
  let count = 10;
  let match: RegExp | undefined;
  let type: string | undefined;
  for (let i = 2; i < args.length; i += 2) {
    const option = arg(args, i).toUpperCase();
    if (i + 1 >= args.length) throw new CommandError(SYNTAX);
    const value = arg(args, i + 1);
    if (option === 'COUNT') {
      count = Number(parseInt64(value));
      if (count < 1) throw new CommandError(SYNTAX);
    } else if (option === 'MATCH') match = globToRegExp(value);
    else if (option === 'TYPE') type = value.toLowerCase();
    else throw new CommandError(SYNTAX);
  }
  const keys: Buffer[] = [];
  let examined = 0;
  let next = 0;
  let more = false;
  for (const [key, entry] of db.live()) {
    if (entry.seq <= cursor) continue;
    if (examined === count) {
      more = true;
      break;
    }
    examined++;
    next = entry.seq;
    if ((!match || match.test(key)) && (!type || entry.data.type === type)) keys.push(buf(key));
  }
  // The cursor is the last examined insertion sequence: keys present for the
  // whole iteration are returned exactly once, as SCAN guarantees.
  return [buf(String(more ? next : 0)), keys];
}

function zadd(db: EmbeddedStore, args: readonly string[]): Reply {
  const flags = new Set<string>();
  let i = 2;
  for (; i < args.length; i++) {
    const flag = arg(args, i).toUpperCase();
    if (!['NX', 'XX', 'GT', 'LT', 'CH', 'INCR'].includes(flag)) break;
    flags.add(flag);
  }
  const pairs = args.slice(i);
  if (pairs.length === 0 || pairs.length % 2 !== 0) throw new CommandError(SYNTAX);
  if (flags.has('NX') && flags.has('XX')) {
    throw new CommandError('ERR XX and NX options at the same time are not compatible');
  }
  if (
    (flags.has('GT') && flags.has('LT')) ||
    (flags.has('NX') && (flags.has('GT') || flags.has('LT')))
  ) {
    throw new CommandError('ERR GT, LT, and/or NX options at the same time are not compatible');
  }
  if (flags.has('INCR') && pairs.length > 2) {
    throw new CommandError('ERR INCR option supports a single increment-element pair');
  }
  const scores = pairs.filter((_, j) => j % 2 === 0).map(parseScore);
  const key = arg(args, 1);
  if (flags.has('XX') && !db.read(key, 'zset')) return flags.has('INCR') ? null : 0;
  const zset = db.upsert(key, 'zset');
  let added = 0;
  let changed = 0;
  let last: number | null = null;
  for (let j = 0; j < scores.length; j++) {
    const member = pairs[j * 2 + 1] ?? '';
    const old = zset.value.get(member);
    let score = scores[j] ?? 0;
    if (flags.has('INCR')) score += old ?? 0;
    if (old === undefined ? flags.has('XX') : flags.has('NX')) continue;
    if (old !== undefined && flags.has('GT') && !(score > old)) continue;
    if (old !== undefined && flags.has('LT') && !(score < old)) continue;
    zset.value.set(member, score);
    last = score;
    if (old === undefined) added++;
    else if (old !== score) changed++;
  }
  db.dropIfEmpty(key, zset);
  if (flags.has('INCR')) return last === null ? null : buf(formatScore(last));
  return flags.has('CH') ? added + changed : added;
}

function zrange(db: EmbeddedStore, args: readonly string[]): Reply {
  let byScore = false;
  let rev = false;
  let withScores = false;
  let limit: [number, number] | undefined;
  for (let i = 4; i < args.length; i++) {
    const option = arg(args, i).toUpperCase();
    if (option === 'BYSCORE') byScore = true;
    else if (option === 'REV') rev = true;
    else if (option === 'WITHSCORES') withScores = true;
    else if (option === 'LIMIT' && i + 2 < args.length) {
      limit = [Number(parseInt64(arg(args, i + 1))), Number(parseInt64(arg(args, i + 2)))];
      i += 2;
    } else if (option === 'BYLEX') {
      throw new CommandError('ERR ZRANGE BYLEX is not supported by the embedded L3 store');
    } else throw new CommandError(SYNTAX);
  }
  if (limit && !byScore) {
    throw new CommandError(
      'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
    );
  }
  const zset = db.read(arg(args, 1), 'zset');
  let items = [...(zset?.value ?? new Map<string, number>())].sort(
    ([ma, sa], [mb, sb]) => sa - sb || (ma < mb ? -1 : ma > mb ? 1 : 0),
  );
  if (rev) items.reverse();
  if (byScore) {
    const bound = (raw: string) => ({
      exclusive: raw.startsWith('('),
      value: parseScore(raw.replace(/^\(/, '')),
    });
    const [lo, hi] = rev
      ? [bound(arg(args, 3)), bound(arg(args, 2))]
      : [bound(arg(args, 2)), bound(arg(args, 3))];
    items = items.filter(
      ([, s]) =>
        (lo.exclusive ? s > lo.value : s >= lo.value) &&
        (hi.exclusive ? s < hi.value : s <= hi.value),
    );
    if (limit)
      items = limit[1] < 0 ? items.slice(limit[0]) : items.slice(limit[0], limit[0] + limit[1]);
  } else {
    const len = items.length;
    let start = Number(parseInt64(arg(args, 2)));
    let stop = Number(parseInt64(arg(args, 3)));
    if (start < 0) start = Math.max(0, len + start);
    if (stop < 0) stop = len + stop;
    items = start > stop || start >= len ? [] : items.slice(start, Math.min(stop, len - 1) + 1);
  }
  return items.flatMap(([m, s]) => (withScores ? [buf(m), buf(formatScore(s))] : [buf(m)]));
}

const noScripting: Run = () => {
  throw new CommandError('ERR scripting is not supported by the embedded L3 store');
};

const del: Run = (db, args) => args.slice(1).filter((k) => db.remove(k)).length;

type Collection = 'hash' | 'set' | 'zset';

/** HDEL, SREM, ZREM: remove members, dropping the key when it empties. */
function removeMembers(type: Collection): Run {
  return (db, args) => {
    const data = db.read(arg(args, 1), type);
    if (!data) return 0;
    const removed = args.slice(2).filter((m) => data.value.delete(m)).length;
    db.dropIfEmpty(arg(args, 1), data);
    return removed;
  };
}

/** HLEN, SCARD, ZCARD. */
const sizeOf =
  (type: Collection): Run =>
  (db, args) =>
    db.read(arg(args, 1), type)?.value.size ?? 0;

/** HEXISTS, SISMEMBER. */
const hasMember =
  (type: Collection): Run =>
  (db, args) =>
    db.read(arg(args, 1), type)?.value.has(arg(args, 2)) ? 1 : 0;

function persist(db: EmbeddedStore, args: readonly string[]): Reply {
  const entry = db.lookup(arg(args, 1));
  if (!entry || entry.expiresAt === null) return 0;
  entry.expiresAt = null;
  return 1;
}

function getdel(db: EmbeddedStore, args: readonly string[]): Reply {
  const value = db.read(arg(args, 1), 'string')?.value ?? null;
  db.remove(arg(args, 1));
  return value;
}

function mset(db: EmbeddedStore, args: readonly string[]): Reply {
  if (args.length % 2 === 0)
    throw new CommandError("ERR wrong number of arguments for 'mset' command");
  for (let i = 1; i < args.length; i += 2) {
    db.write(arg(args, i), { type: 'string', value: buf(arg(args, i + 1)) }, null);
  }
  return OK;
}

function hset(db: EmbeddedStore, args: readonly string[]): Reply {
  if (args.length % 2 !== 0)
    throw new CommandError("ERR wrong number of arguments for 'hset' command");
  const hash = db.upsert(arg(args, 1), 'hash');
  let added = 0;
  for (let i = 2; i < args.length; i += 2) {
    if (!hash.value.has(arg(args, i))) added++;
    hash.value.set(arg(args, i), buf(arg(args, i + 1)));
  }
  return added;
}

function sadd(db: EmbeddedStore, args: readonly string[]): Reply {
  const set = db.upsert(arg(args, 1), 'set');
  const before = set.value.size;
  for (const m of args.slice(2)) set.value.add(m);
  return set.value.size - before;
}

function zscore(db: EmbeddedStore, args: readonly string[]): Reply {
  const score = db.read(arg(args, 1), 'zset')?.value.get(arg(args, 2));
  return score === undefined ? null : buf(formatScore(score));
}

const COMMANDS: Record<string, Spec> = {
  ping: [-1, (_db, args) => (args.length > 1 ? buf(arg(args, 1)) : Buffer.from('PONG'))],
  echo: [2, (_db, args) => buf(arg(args, 1))],
  get: [2, (db, args) => db.read(arg(args, 1), 'string')?.value ?? null],
  set: [-3, set],
  getdel: [2, getdel],
  del: [-2, del],
  unlink: [-2, del],
  exists: [-2, (db, args) => args.slice(1).filter((k) => db.lookup(k)).length],
  type: [2, (db, args) => Buffer.from(db.lookup(arg(args, 1))?.data.type ?? 'none')],
  expire: [-3, expire(1000, false)],
  pexpire: [-3, expire(1, false)],
  expireat: [-3, expire(1000, true)],
  pexpireat: [-3, expire(1, true)],
  persist: [2, persist],
  ttl: [2, ttl(false)],
  pttl: [2, ttl(true)],
  mget: [-2, (db, args) => args.slice(1).map((k) => db.string(k))],
  mset: [-3, mset],
  incr: [2, (db, args) => incrBy(db, arg(args, 1), 1n)],
  decr: [2, (db, args) => incrBy(db, arg(args, 1), -1n)],
  incrby: [3, (db, args) => incrBy(db, arg(args, 1), parseInt64(arg(args, 2)))],
  decrby: [3, (db, args) => incrBy(db, arg(args, 1), -parseInt64(arg(args, 2)))],
  hset: [-4, hset],
  hget: [3, (db, args) => db.read(arg(args, 1), 'hash')?.value.get(arg(args, 2)) ?? null],
  hmget: [
    -3,
    (db, args) => args.slice(2).map((f) => db.read(arg(args, 1), 'hash')?.value.get(f) ?? null),
  ],
  hexists: [3, hasMember('hash')],
  hlen: [2, sizeOf('hash')],
  hdel: [-3, removeMembers('hash')],
  hgetall: [
    2,
    (db, args) =>
      [...(db.read(arg(args, 1), 'hash')?.value ?? [])].flatMap(([f, v]) => [buf(f), v]),
  ],
  sadd: [-3, sadd],
  srem: [-3, removeMembers('set')],
  smembers: [2, (db, args) => [...(db.read(arg(args, 1), 'set')?.value ?? [])].map(buf)],
  sismember: [3, hasMember('set')],
  scard: [2, sizeOf('set')],
  scan: [-2, scan],
  zadd: [-4, zadd],
  zrange: [-4, zrange],
  zrem: [-3, removeMembers('zset')],
  zcard: [2, sizeOf('zset')],
  zscore: [3, zscore],
  eval: [-3, noScripting],
  evalsha: [-3, noScripting],
  eval_ro: [-3, noScripting],
  evalsha_ro: [-3, noScripting],
  script: [-2, noScripting],
  flushdb: [-1, (db) => (db.flush(), OK)],
  dbsize: [1, (db) => [...db.live()].length],
};

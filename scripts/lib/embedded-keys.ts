/**
 * The embedded store's keyspace commands, whatever a key holds: DEL/UNLINK,
 * expiry (EXPIRE and kin, PERSIST, TTL/PTTL) and SCAN with its glob MATCH,
 * whose cursor and paging SSCAN shares.
 */
import {
  arg,
  buf,
  CommandError,
  parseInt64,
  type Reply,
  type Run,
  SYNTAX,
} from './embedded-protocol.ts';
import type { EmbeddedStore } from './embedded-store.ts';

/** DEL, UNLINK. */
export const del: Run = (db, args) => args.slice(1).filter((k) => db.remove(k)).length;

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT (Redis 7). */
export function expire(unit: 1000 | 1, absolute: boolean): Run {
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

/** TTL (seconds, rounded) and PTTL: -2 when missing, -1 without expiry. */
export function ttl(ms: boolean): Run {
  return (db, args) => {
    const entry = db.lookup(arg(args, 1));
    if (!entry) return -2;
    if (entry.expiresAt === null) return -1;
    const left = entry.expiresAt - db.now();
    return ms ? left : Math.floor((left + 500) / 1000);
  };
}

/** PERSIST: 1 if an expiry was removed. */
export function persist(db: EmbeddedStore, args: readonly string[]): Reply {
  const entry = db.lookup(arg(args, 1));
  if (!entry || entry.expiresAt === null) return 0;
  entry.expiresAt = null;
  return 1;
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

/** A parsed SCAN-family request: where to resume and what to return. */
export interface ScanRequest {
  cursor: number;
  count: number;
  match?: RegExp;
  type?: string;
}

/**
 * Parses `cursor [MATCH glob] [COUNT n] [TYPE t]` starting at `args[at]`
 * (SCAN's cursor is argument 1, SSCAN's argument 2, after the key). TYPE is
 * SCAN's alone.
 */
export function parseScan(args: readonly string[], at: number, withType: boolean): ScanRequest {
  const cursorText = arg(args, at);
  if (!/^\d+$/.test(cursorText)) throw new CommandError('ERR invalid cursor');
  const request: ScanRequest = { cursor: Number(cursorText), count: 10 };
  for (let i = at + 1; i < args.length; i += 2) {
    const option = arg(args, i).toUpperCase();
    if (i + 1 >= args.length) throw new CommandError(SYNTAX);
    const value = arg(args, i + 1);
    if (option === 'COUNT') {
      request.count = Number(parseInt64(value));
      if (request.count < 1) throw new CommandError(SYNTAX);
    } else if (option === 'MATCH') request.match = globToRegExp(value);
    else if (option === 'TYPE' && withType) request.type = value.toLowerCase();
    else throw new CommandError(SYNTAX);
  }
  return request;
}

/**
 * One page of a SCAN-family iteration over `[name, seq, type]` in insertion
 * order. The cursor is the last examined insertion sequence, so names present
 * for the whole iteration are returned exactly once, as SCAN guarantees, even
 * when others are removed in between (which a positional cursor would skip).
 */
export function scanPage(
  items: Iterable<readonly [string, number, string]>,
  request: ScanRequest,
): Reply {
  const { cursor, count, match, type } = request;
  const names: Buffer[] = [];
  let examined = 0;
  let next = 0;
  let more = false;
  for (const [name, seq, itemType] of items) {
    if (seq <= cursor) continue;
    if (examined === count) {
      more = true;
      break;
    }
    examined++;
    next = seq;
    if ((!match || match.test(name)) && (!type || itemType === type)) names.push(buf(name));
  }
  return [buf(String(more ? next : 0)), names];
}

/** SCAN cursor [MATCH glob] [COUNT n] [TYPE t]. */
export function scan(db: EmbeddedStore, args: readonly string[]): Reply {
  return scanPage(
    (function* () {
      for (const [key, entry] of db.live()) yield [key, entry.seq, entry.data.type] as const;
    })(),
    parseScan(args, 1, true),
  );
}

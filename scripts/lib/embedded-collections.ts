/**
 * The embedded store's hash and set commands (writes, SMEMBERS, SSCAN), and
 * the member helpers hashes, sets and sorted sets share (remove, count,
 * test). A collection emptied by a removal is dropped, as Redis never keeps
 * an empty one.
 */

import { parseScan, scanPage } from './embedded-keys.ts';
import { arg, buf, CommandError, type Reply, type Run } from './embedded-protocol.ts';
import type { EmbeddedStore } from './embedded-store.ts';

type Collection = 'hash' | 'set' | 'zset';

/** HDEL, SREM, ZREM: remove members, dropping the key when it empties. */
export function removeMembers(type: Collection): Run {
  return (db, args) => {
    const data = db.read(arg(args, 1), type);
    if (!data) return 0;
    const removed = args.slice(2).filter((m) => data.value.delete(m)).length;
    db.dropIfEmpty(arg(args, 1), data);
    return removed;
  };
}

/** HLEN, SCARD, ZCARD. */
export const sizeOf =
  (type: Collection): Run =>
  (db, args) =>
    db.read(arg(args, 1), type)?.value.size ?? 0;

/** HEXISTS, SISMEMBER. */
export const hasMember =
  (type: Collection): Run =>
  (db, args) =>
    db.read(arg(args, 1), type)?.value.has(arg(args, 2)) ? 1 : 0;

/** HSET: the number of new fields. */
export function hset(db: EmbeddedStore, args: readonly string[]): Reply {
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

/** SADD: the number of new members. A member keeps its sequence while it stays. */
export function sadd(db: EmbeddedStore, args: readonly string[]): Reply {
  const set = db.upsert(arg(args, 1), 'set');
  const before = set.value.size;
  for (const m of args.slice(2)) if (!set.value.has(m)) set.value.set(m, db.nextSeq());
  return set.value.size - before;
}

/** SMEMBERS, in insertion order. */
export const smembers: Run = (db, args) =>
  [...(db.read(arg(args, 1), 'set')?.value.keys() ?? [])].map(buf);

/** SSCAN key cursor [MATCH glob] [COUNT n]: SCAN's paging over one set's members. */
export function sscan(db: EmbeddedStore, args: readonly string[]): Reply {
  const request = parseScan(args, 2, false);
  const members = db.read(arg(args, 1), 'set')?.value ?? new Map<string, number>();
  return scanPage(
    (function* () {
      for (const [member, seq] of members) yield [member, seq, 'set'] as const;
    })(),
    request,
  );
}

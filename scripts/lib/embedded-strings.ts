/**
 * The embedded store's string commands with options or arithmetic: SET (NX,
 * XX, GET, KEEPTTL, EX/PX/EXAT/PXAT), GETDEL, MSET and INCRBY/DECRBY. The
 * one-line string reads (GET, MGET) are in the command table.
 */
import {
  arg,
  buf,
  CommandError,
  INT64_MAX,
  INT64_MIN,
  int,
  OK,
  parseInt64,
  type Reply,
  SYNTAX,
  WRONGTYPE,
} from './embedded-protocol.ts';
import type { EmbeddedStore } from './embedded-store.ts';

/** INCR, DECR, INCRBY, DECRBY: keeps the key's TTL, as Redis does. */
export function incrBy(db: EmbeddedStore, key: string, by: bigint): Reply {
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

/** SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT n|KEEPTTL]. */
export function set(db: EmbeddedStore, args: readonly string[]): Reply {
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

/** GETDEL: the string value, then the key is gone. */
export function getdel(db: EmbeddedStore, args: readonly string[]): Reply {
  const value = db.read(arg(args, 1), 'string')?.value ?? null;
  db.remove(arg(args, 1));
  return value;
}

/** MSET: every key set, with no expiry. */
export function mset(db: EmbeddedStore, args: readonly string[]): Reply {
  if (args.length % 2 === 0)
    throw new CommandError("ERR wrong number of arguments for 'mset' command");
  for (let i = 1; i < args.length; i += 2) {
    db.write(arg(args, i), { type: 'string', value: buf(arg(args, i + 1)) }, null);
  }
  return OK;
}

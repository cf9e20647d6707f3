/**
 * The embedded store's command table: each command Strata uses, by lower-case
 * name, with its Redis arity and implementation. The one-liners live here;
 * the rest are in embedded-strings, embedded-keys, embedded-collections and
 * embedded-sorted-sets.
 */
import {
  hasMember,
  hset,
  removeMembers,
  sadd,
  sizeOf,
  smembers,
  sscan,
} from './embedded-collections.ts';
import { del, expire, persist, scan, ttl } from './embedded-keys.ts';
import { arg, buf, CommandError, OK, parseInt64, type Run } from './embedded-protocol.ts';
import { zadd, zrange, zscore } from './embedded-sorted-sets.ts';
import { getdel, incrBy, mset, set } from './embedded-strings.ts';

/** [Redis arity (negative = at least), implementation] */
export type Spec = [number, Run];

const noScripting: Run = () => {
  throw new CommandError('ERR scripting is not supported by the embedded L3 store');
};

/** Every supported command, by lower-case name. */
export const COMMANDS: Record<string, Spec> = {
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
  smembers: [2, smembers],
  sismember: [3, hasMember('set')],
  scard: [2, sizeOf('set')],
  scan: [-2, scan],
  sscan: [-3, sscan],
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
  flushdb: [
    -1,
    (db) => {
      db.flush();
      return OK;
    },
  ],
  dbsize: [1, (db) => [...db.live()].length],
};

/**
 * The embedded store's sorted-set commands: ZADD (NX, XX, GT, LT, CH, INCR),
 * ZRANGE (by rank or BYSCORE, REV, LIMIT, WITHSCORES; BYLEX unsupported) and
 * ZSCORE, with Redis's score syntax (`inf`, `-inf`, `(` for exclusive bounds).
 */
import { arg, buf, CommandError, parseInt64, type Reply, SYNTAX } from './embedded-protocol.ts';
import type { EmbeddedStore } from './embedded-store.ts';

/** A score argument: a float, `inf`, `+inf` or `-inf`. */
function parseScore(raw: string): number {
  const lower = raw.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  const n = raw.trim() === raw && raw !== '' ? Number(raw) : Number.NaN;
  if (Number.isNaN(n)) throw new CommandError('ERR value is not a valid float');
  return n;
}

/** A score as Redis writes it in a reply. */
function formatScore(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  return String(n);
}

/** ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member …]. */
export function zadd(db: EmbeddedStore, args: readonly string[]): Reply {
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

/** ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] [WITHSCORES]. */
export function zrange(db: EmbeddedStore, args: readonly string[]): Reply {
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

/** ZSCORE: the member's score, or null. */
export function zscore(db: EmbeddedStore, args: readonly string[]): Reply {
  const score = db.read(arg(args, 1), 'zset')?.value.get(arg(args, 2));
  return score === undefined ? null : buf(formatScore(score));
}

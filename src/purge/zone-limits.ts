/**
 * Cloudflare zone purge limits and the pure decisions built on them: which
 * plan a deployment is on, whether a call may go out now (a token bucket on an
 * injected clock), which queued tags the next call carries, how long to wait
 * after a 429 or a failed call. No I/O and no runtime imports, so the same
 * module runs in node tests, in workerd and in the local API stand-in.
 *
 * Source of every figure below: "Purge cache" > purge limits,
 * https://developers.cloudflare.com/cache/how-to/purge-cache/
 * Purge by tag, hostname and prefix (and purge everything) share one token
 * bucket per account, one token a request:
 *
 *   plan        rate           bucket  items a request
 *   free        5 / minute     25      100
 *   pro         5 / second     25      100
 *   business    10 / second    50      100
 *   enterprise  50 / second    500     100
 *
 * (Purge by URL has separate, per-URL limits that Strata does not use.)
 */

export type ZonePlan = 'free' | 'pro' | 'business' | 'enterprise';

export const ZONE_PLANS: readonly ZonePlan[] = ['free', 'pro', 'business', 'enterprise'];

/** The purge limits of one plan. */
export interface ZoneLimits {
  /** Tokens (purge requests) added to the bucket per second, continuously. */
  ratePerSecond: number;
  /** Bucket size: the most requests that may go out in a burst. */
  burst: number;
  /** Most tags (items) one purge request may carry. */
  itemsPerCall: number;
}

/** Per-plan limits; see the module comment for the source. */
export const ZONE_PLAN_LIMITS: Readonly<Record<ZonePlan, Readonly<ZoneLimits>>> = {
  free: { ratePerSecond: 5 / 60, burst: 25, itemsPerCall: 100 },
  pro: { ratePerSecond: 5, burst: 25, itemsPerCall: 100 },
  business: { ratePerSecond: 10, burst: 50, itemsPerCall: 100 },
  enterprise: { ratePerSecond: 50, burst: 500, itemsPerCall: 100 },
};

/**
 * Reads `CF_ZONE_PLAN`; unset or empty means `free`, the most conservative plan.
 * @example
 * parseZonePlan(undefined); // 'free'
 * parseZonePlan('Business'); // 'business'
 * parseZonePlan('gold'); // throws: CF_ZONE_PLAN must be one of free, pro, business, enterprise, got "gold"
 */
export function parseZonePlan(raw: string | undefined): ZonePlan {
  if (raw === undefined || raw.trim() === '') return 'free';
  const plan = raw.trim().toLowerCase();
  if (!(ZONE_PLANS as readonly string[]).includes(plan)) {
    throw new Error(
      `CF_ZONE_PLAN must be one of ${ZONE_PLANS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return plan as ZonePlan;
}

// --- token bucket ---------------------------------------------------------

/** A token bucket's state, small enough to persist as two numbers. */
export interface BucketState {
  /** Tokens in the bucket at `updatedAt` (fractional: refill is continuous). */
  tokens: number;
  /** Epoch milliseconds of the last refill. */
  updatedAt: number;
}

/** Tolerance for the float sum of many small refills. */
const EPSILON = 1e-9;

/** A full bucket, as a new deployment starts with. */
export function fullBucket(limits: ZoneLimits, now: number): BucketState {
  return { tokens: limits.burst, updatedAt: now };
}

/**
 * The bucket at `now`: tokens added at `ratePerSecond` since `updatedAt`,
 * capped at `burst`. A clock that went backwards (alarms may run on another
 * machine) adds nothing and does not move `updatedAt` back.
 * @example
 * refill({ tokens: 0, updatedAt: 0 }, ZONE_PLAN_LIMITS.pro, 300); // { tokens: 1.5, updatedAt: 300 }
 */
export function refill(state: BucketState, limits: ZoneLimits, now: number): BucketState {
  if (now <= state.updatedAt) return state;
  const added = ((now - state.updatedAt) / 1000) * limits.ratePerSecond;
  return { tokens: Math.min(limits.burst, state.tokens + added), updatedAt: now };
}

/** The outcome of asking the bucket for one token. */
export type Take =
  | { ok: true; state: BucketState }
  | { ok: false; state: BucketState; retryAt: number };

/**
 * Takes one token at `now` if there is one; otherwise says when there will be.
 * @example
 * let b = fullBucket(limits, now);
 * const t = takeToken(b, limits, now);
 * if (t.ok) { b = t.state; send(); } else { wakeAt(t.retryAt); }
 */
export function takeToken(state: BucketState, limits: ZoneLimits, now: number): Take {
  const current = refill(state, limits, now);
  if (current.tokens >= 1 - EPSILON) {
    return {
      ok: true,
      state: { tokens: Math.max(0, current.tokens - 1), updatedAt: current.updatedAt },
    };
  }
  return { ok: false, state: current, retryAt: now + msUntilToken(current, limits) };
}

/** Milliseconds until the (already refilled) bucket holds one whole token; 0 if it does. */
export function msUntilToken(state: BucketState, limits: ZoneLimits): number {
  const missing = 1 - state.tokens;
  if (missing <= EPSILON) return 0;
  // Less a hair before rounding up, so float noise does not add a whole millisecond.
  return Math.ceil((missing / limits.ratePerSecond) * 1000 - 1e-6);
}

// --- batching -------------------------------------------------------------

/** One queued tag of one purge. */
export interface QueuedTag {
  tag: string;
  purgeId: string;
}

/**
 * The tags of the next purge call: the first `itemsPerCall` distinct tags of
 * `queue`, in queue order (oldest first). A tag queued by several purges is
 * sent once; one call settles all of them. Reads `queue` lazily and stops at
 * the first tag that would not fit, so a SQLite cursor over a long queue is
 * not read to the end.
 * @example
 * nextBatch([{ tag: 'a', purgeId: 'p1' }, { tag: 'b', purgeId: 'p1' }, { tag: 'a', purgeId: 'p2' }], 100);
 * // ['a', 'b']
 */
export function nextBatch(queue: Iterable<QueuedTag>, itemsPerCall: number): string[] {
  const tags = new Set<string>();
  if (itemsPerCall < 1) return [];
  for (const row of queue) {
    if (tags.has(row.tag)) continue;
    if (tags.size === itemsPerCall) break;
    tags.add(row.tag);
  }
  return [...tags];
}

// --- waiting after a refusal or a failure ---------------------------------

/** `Sun, 06 Nov 1994 08:49:37 GMT`, the date form senders must use (RFC 9110 §5.6.7). */
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Longest wait a `Retry-After` may impose; a larger value is taken as this. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * Milliseconds a `Retry-After` header asks for (RFC 9110 §10.2.3: delay in
 * seconds, or an HTTP date), clamped to [1 s, 1 h]; null when absent or
 * unreadable.
 * @example
 * parseRetryAfter('7', now); // 7000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now); // ms until then, at least 1000
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | null {
  if (header === null || header === undefined) return null;
  const value = header.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(value)) ms = Number(value) * 1000;
  else if (IMF_FIXDATE.test(value)) ms = Date.parse(value) - now;
  else return null;
  if (Number.isNaN(ms)) return null;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(1000, ms));
}

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_MAX_MS = 5 * 60 * 1000;

/**
 * Wait after the `failures`-th consecutive retryable failure (5xx, network,
 * timeout): a ceiling of 1 s doubling per failure up to 5 min, with jitter
 * over its upper half so regions that failed together do not retry together,
 * while a recovered API is still retried within the ceiling.
 * @example
 * backoffMs(1, () => 0.5); // 750
 * backoffMs(20, Math.random); // between 150 000 and 300 000
 */
export function backoffMs(failures: number, random: () => number): number {
  const ceiling = Math.min(
    BACKOFF_MAX_MS,
    BACKOFF_BASE_MS * 2 ** Math.max(0, Math.min(failures - 1, 20)),
  );
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

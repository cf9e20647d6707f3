/**
 * Replays a compact trace through a cache and counts what it hits: the
 * simulator's inner loop, shared by every policy and by the `lru-cache`
 * anchor so they are timed the same way.
 *
 * Request `i` is a `get` at time `now = i`; a miss is followed by
 * `set(key, { size, expiresAt: Infinity }, i)` (demand fetch, nothing
 * expires). Keys are the dense ids as decimal strings, so the trace's own key
 * strings need not be kept. A hit counts the request's size as hit bytes.
 * `seconds` times the replay loop only (not building the policy).
 *
 * @example
 * const r = replayPolicy('lru', compactTrace(['a', 'b', 'a']), 2);
 * hitRatio(r); // 1/3
 */
import { createPolicy } from '../policy/index.ts';
import type { EntryInfo } from '../policy/policy.ts';
import type { CompactTrace } from './compact-trace.ts';

/** What the replay needs of a cache: a `Policy`, or an adapter around another cache. */
export interface Replayable {
  get(key: string, now: number): boolean;
  set(key: string, info: EntryInfo, now: number): unknown;
}

export interface SimResult {
  requests: number;
  hits: number;
  /** Sum of request sizes (= requests without sizes). */
  bytes: number;
  /** Sum of the sizes of hit requests. */
  byteHits: number;
  /** Wall time of the simulation loop. */
  seconds: number;
}

export interface ReplayOptions {
  /** Called with the number of requests done, every 2^18 requests. */
  onProgress?: (done: number) => void;
  /** Milliseconds, for `seconds`; default `performance.now`. */
  clock?: () => number;
}

const PROGRESS_MASK = (1 << 18) - 1;

export function replay(
  cache: Replayable,
  trace: CompactTrace,
  options: ReplayOptions = {},
): SimResult {
  const { ids, sizes, length } = trace;
  const { onProgress } = options;
  const clock = options.clock ?? (() => performance.now());
  let hits = 0;
  let bytes = 0;
  let byteHits = 0;
  const started = clock();
  for (let i = 0; i < length; i++) {
    const key = String(ids[i]);
    const size = sizes === null ? 1 : (sizes[i] as number);
    bytes += size;
    if (cache.get(key, i)) {
      hits++;
      byteHits += size;
    } else {
      cache.set(key, { size, expiresAt: Number.POSITIVE_INFINITY }, i);
    }
    if ((i & PROGRESS_MASK) === PROGRESS_MASK) onProgress?.(i + 1);
  }
  const seconds = (clock() - started) / 1000;
  return { requests: length, hits, bytes, byteHits, seconds };
}

/**
 * Replays `trace` through a fresh registered policy with `maxWeight: capacity`
 * (entries, or bytes when the trace has sizes).
 */
export function replayPolicy(
  name: string,
  trace: CompactTrace,
  capacity: number,
  options: ReplayOptions = {},
): SimResult {
  return replay(createPolicy(name, { maxWeight: capacity }), trace, options);
}

/** Hits as a fraction of requests (0.3283, not 32.83); 0 for an empty trace. */
export function hitRatio(result: SimResult): number {
  return result.requests === 0 ? 0 : result.hits / result.requests;
}

/** Hit bytes as a fraction of requested bytes; 0 when nothing was requested. */
export function byteHitRatio(result: SimResult): number {
  return result.bytes === 0 ? 0 : result.byteHits / result.bytes;
}

/** Requests per second of the simulation loop. */
export function opsPerSec(result: SimResult): number {
  return result.seconds > 0 ? result.requests / result.seconds : 0;
}

/**
 * Belady's OPT (MIN): the offline optimum the online policies are measured
 * against. Demand paging with "always admit", as in the traces README: every
 * miss is inserted, and when the cache is full the resident key whose next
 * request is furthest in the future (or never comes) is evicted.
 *
 * Next uses come from one backward pass over the trace's dense ids
 * (`nextUses`); the residents sit in an indexed max-heap on their next use,
 * so each request costs O(log capacity). Memory: the trace's Int32Array of
 * ids plus an Int32Array of next uses (13.2M requests of p12: 2 × 53 MB),
 * one Int32Array per distinct key and the heap.
 *
 * With sizes (`--bytes`) the same rule evicts furthest-next-use keys until
 * the newcomer fits. That is a heuristic: optimal caching with variable sizes
 * is NP-hard (Berger et al., "Practical Bounds on Optimal Caching with
 * Variable Object Sizes", SIGMETRICS 2018), so read the sized OPT as an
 * approximate upper bound — a size-aware policy can beat it on object hits.
 *
 * @example
 * simulateOpt(compactTrace(['a', 'b', 'a']), 1).hits // 0
 */
import type { CompactTrace } from './compact-trace.ts';
import type { SimResult } from './replay.ts';

/** The next use of a key that is never requested again (furthest of all). */
export const NEVER = 0x7fffffff;

/**
 * `next[i]` is the index of the next request for the key of request `i`, or
 * `NEVER`.
 * @example nextUses(compactTrace(['a', 'b', 'a'])) // Int32Array [2, NEVER, NEVER]
 */
export function nextUses(trace: CompactTrace): Int32Array {
  const { ids, length } = trace;
  if (length >= NEVER) throw new RangeError('trace too long for Int32 next-use indices');
  const next = new Int32Array(length);
  const seen = new Int32Array(trace.keyCount).fill(NEVER);
  for (let i = length - 1; i >= 0; i--) {
    const id = ids[i] as number;
    next[i] = seen[id] as number;
    seen[id] = i;
  }
  return next;
}

/**
 * Resident key ids in a binary max-heap on their next use, with each id's
 * heap slot recorded so a hit can move its key in O(log n).
 */
class NextUseHeap {
  size = 0;
  private readonly at: Int32Array;
  private readonly ids: Int32Array;
  /** Heap slot of each key id, -1 when not resident. */
  private readonly slot: Int32Array;

  constructor(capacity: number, keyCount: number) {
    this.at = new Int32Array(capacity);
    this.ids = new Int32Array(capacity);
    this.slot = new Int32Array(keyCount).fill(-1);
  }

  has(id: number): boolean {
    return (this.slot[id] as number) >= 0;
  }

  /** The resident id with the furthest next use. */
  top(): number {
    return this.ids[0] as number;
  }

  push(id: number, nextUse: number): void {
    const i = this.size++;
    this.place(i, id, nextUse);
    this.up(i);
  }

  /**
   * A hit: `id`'s next use moves later (it was the current request, earlier
   * than every other resident's), so it can only rise.
   */
  later(id: number, nextUse: number): void {
    const i = this.slot[id] as number;
    this.at[i] = nextUse;
    this.up(i);
  }

  /** Removes and returns the id with the furthest next use. */
  pop(): number {
    const top = this.ids[0] as number;
    this.slot[top] = -1;
    const last = --this.size;
    if (last > 0) {
      this.place(0, this.ids[last] as number, this.at[last] as number);
      this.down(0);
    }
    return top;
  }

  /** `pop()` then `push(id, nextUse)` in one sift. */
  replaceTop(id: number, nextUse: number): number {
    const top = this.ids[0] as number;
    this.slot[top] = -1;
    this.place(0, id, nextUse);
    this.down(0);
    return top;
  }

  private place(i: number, id: number, nextUse: number): void {
    this.at[i] = nextUse;
    this.ids[i] = id;
    this.slot[id] = i;
  }

  private up(i: number): void {
    const { at, ids, slot } = this;
    const key = at[i] as number;
    const id = ids[i] as number;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((at[parent] as number) >= key) break;
      at[i] = at[parent] as number;
      ids[i] = ids[parent] as number;
      slot[ids[i] as number] = i;
      i = parent;
    }
    at[i] = key;
    ids[i] = id;
    slot[id] = i;
  }

  private down(i: number): void {
    const { at, ids, slot } = this;
    const n = this.size;
    const key = at[i] as number;
    const id = ids[i] as number;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && (at[child + 1] as number) > (at[child] as number)) child++;
      if ((at[child] as number) <= key) break;
      at[i] = at[child] as number;
      ids[i] = ids[child] as number;
      slot[ids[i] as number] = i;
      i = child;
    }
    at[i] = key;
    ids[i] = id;
    slot[id] = i;
  }
}

export interface OptOptions {
  /** Precomputed `nextUses(trace)`, to share between capacities. */
  next?: Int32Array;
  /** Called with the number of requests done, every 2^18 requests. */
  onProgress?: (done: number) => void;
  /** Milliseconds, for `seconds`; default `performance.now`. */
  clock?: () => number;
}

const PROGRESS_MASK = (1 << 18) - 1;

/**
 * Replays `trace` through OPT with room for `capacity` entries, or bytes when
 * the trace has sizes. `seconds` covers the next-use pass and the replay.
 */
export function simulateOpt(
  trace: CompactTrace,
  capacity: number,
  options: OptOptions = {},
): SimResult {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const next = options.next ?? nextUses(trace);
  const counts =
    trace.sizes === null
      ? optByCount(trace, next, capacity, options.onProgress)
      : optBySize(trace, trace.sizes, next, capacity, options.onProgress);
  return { ...counts, seconds: (clock() - started) / 1000 };
}

function optByCount(
  trace: CompactTrace,
  next: Int32Array,
  capacity: number,
  onProgress?: (done: number) => void,
): Omit<SimResult, 'seconds'> {
  const { ids, length } = trace;
  const room = Math.max(0, Math.min(Math.floor(capacity), trace.keyCount));
  const heap = new NextUseHeap(room, trace.keyCount);
  let hits = 0;
  for (let i = 0; i < length; i++) {
    const id = ids[i] as number;
    const nextUse = next[i] as number;
    if (heap.has(id)) {
      hits++;
      heap.later(id, nextUse);
    } else if (heap.size < room) {
      heap.push(id, nextUse);
    } else if (room > 0) {
      heap.replaceTop(id, nextUse); // always admit: the furthest resident goes
    }
    if ((i & PROGRESS_MASK) === PROGRESS_MASK) onProgress?.(i + 1);
  }
  return { requests: length, hits, bytes: length, byteHits: hits };
}

function optBySize(
  trace: CompactTrace,
  sizes: Float64Array,
  next: Int32Array,
  capacity: number,
  onProgress?: (done: number) => void,
): Omit<SimResult, 'seconds'> {
  const { ids, length } = trace;
  // Zero-size requests aside, at most one resident per distinct key.
  const heap = new NextUseHeap(trace.keyCount, trace.keyCount);
  const residentSize = new Float64Array(trace.keyCount);
  let weight = 0;
  let hits = 0;
  let bytes = 0;
  let byteHits = 0;
  for (let i = 0; i < length; i++) {
    const id = ids[i] as number;
    const size = sizes[i] as number;
    const nextUse = next[i] as number;
    bytes += size;
    if (heap.has(id)) {
      // A hit keeps the resident copy; the request's own size counts as hit bytes.
      hits++;
      byteHits += size;
      heap.later(id, nextUse);
    } else if (size <= capacity) {
      while (weight + size > capacity) weight -= residentSize[heap.pop()] as number;
      heap.push(id, nextUse);
      residentSize[id] = size;
      weight += size;
    }
    if ((i & PROGRESS_MASK) === PROGRESS_MASK) onProgress?.(i + 1);
  }
  return { requests: length, hits, bytes, byteHits };
}

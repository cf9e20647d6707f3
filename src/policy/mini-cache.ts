/**
 * A miniature W-TinyLFU for what-if simulation (Waldspurger, Saemundsson,
 * Ahmad & Park, "Cache Modeling and Optimization using Miniature
 * Simulations", USENIX ATC 2017): the same regions and admission rule as
 * `WTinyLfuPolicy` (`window-slru.ts`), run on a hash-sampled subset of the
 * keys at a proportionally scaled capacity.
 *
 * Deviations that make it cheap enough to run several beside a live cache:
 * - Keys are their 32-bit hash in an `IntMap` (a shadow never needs the
 *   string; two keys sharing 30 hash bits are one key to it, which only
 *   blurs a statistic).
 * - It keeps no sketch or read clock of its own: it asks the live policy
 *   (`ShadowSource`), whose sketch sees every access of every sampled key
 *   and ages on the same clock a scaled sketch would.
 * - No expiry, priorities or entry-count limit: it models the hit ratio of a
 *   configuration under the weight limit.
 *
 * @example
 * const mini = new MiniCache(20, 0.05, 'frequency-recency');
 * if (!mini.access(h, live.reads)) mini.insert(h, 1, live.priorRead, live);
 */
import type { Admission } from './admission.ts';
import { IntMap } from './int-map.ts';
import { NEVER } from './last-seen.ts';
import { Segments, WINDOW } from './segments.ts';
import { type FrequencySource, WindowSlru } from './window-slru.ts';

/** What a mini cache reads from the live policy: its sketch and its read counter. */
export interface ShadowSource extends FrequencySource {
  /** Access number of the current read (the clock `seen` times are on). */
  readonly reads: number;
}

/** A mini cache as JSON-safe data: each region as [hash, size, seen, prior, …], LRU first. */
export interface MiniCacheState {
  maxWeight: number;
  rng: number;
  segments: number[][];
}

const FIELDS = 4;

export class MiniCache {
  readonly windowFraction: number;
  private maxWeight: number;
  private total = 0;
  private readonly index: IntMap;
  private readonly s: Segments;
  private readonly regions: WindowSlru;

  constructor(maxWeight: number, windowFraction: number, admission: Admission) {
    this.windowFraction = windowFraction;
    this.maxWeight = maxWeight;
    this.s = new Segments(Math.min(maxWeight, 4096));
    this.index = new IntMap(Math.min(maxWeight, 4096));
    this.regions = new WindowSlru(this.s, admission);
    this.regions.resizeRegions(maxWeight, windowFraction);
  }

  get count(): number {
    return this.index.size;
  }

  /** A read at access number `clock`: true on a hit (which updates recency); a miss changes nothing. */
  access(h: number, clock: number): boolean {
    const id = this.index.get(h >>> 2);
    if (id < 0) return false;
    this.s.seen[id] = clock;
    this.regions.touch(id);
    return true;
  }

  /**
   * Adds an absent key of `size`, read before at access number `prior`, to
   * the window and evicts as W-TinyLFU would.
   */
  insert(h: number, size: number, prior: number, source: ShadowSource): void {
    if (size > this.maxWeight || this.index.get(h >>> 2) >= 0) return;
    this.add(WINDOW, h, size, source.reads, prior);
    this.evict(source);
  }

  remove(h: number): void {
    const id = this.index.get(h >>> 2);
    if (id >= 0) this.drop(id);
  }

  /** Changes the (scaled) capacity, evicting as needed. */
  resize(maxWeight: number, source: FrequencySource): void {
    this.maxWeight = maxWeight;
    this.regions.resizeRegions(maxWeight, this.windowFraction);
    this.evict(source);
  }

  /** Drops every key for which `keep` is false (the sample shrank). */
  prune(keep: (h: number) => boolean): void {
    const gone: number[] = [];
    this.index.forEachValue((id) => {
      if (!keep(this.s.hash[id] as number)) gone.push(id);
    });
    for (const id of gone) this.drop(id);
  }

  save(): MiniCacheState {
    const s = this.s;
    const segments = [0, 1, 2].map((segment) => {
      const out: number[] = [];
      for (let id = s.first(segment); id >= 0; id = s.after(id)) {
        const prior = s.prior[id] as number;
        out.push(s.hash[id] as number, s.size[id] as number, s.seen[id] as number);
        out.push(Number.isFinite(prior) ? prior : -1);
      }
      return out;
    });
    return { maxWeight: this.maxWeight, rng: this.regions.rng, segments };
  }

  static load(state: MiniCacheState, windowFraction: number, admission: Admission): MiniCache {
    const mini = new MiniCache(state.maxWeight, windowFraction, admission);
    mini.regions.rng = state.rng;
    state.segments.forEach((flat, segment) => {
      for (let i = 0; i + FIELDS <= flat.length; i += FIELDS) {
        const prior = flat[i + 3] as number;
        const h = flat[i] as number;
        mini.add(
          segment,
          h,
          flat[i + 1] as number,
          flat[i + 2] as number,
          prior < 0 ? NEVER : prior,
        );
      }
    });
    return mini;
  }

  private add(segment: number, h: number, size: number, seen: number, prior: number): void {
    const s = this.s;
    const id = s.alloc('', size, 0, h, 0, 0);
    this.index.set(h >>> 2, id);
    s.pushBack(segment, id);
    s.seen[id] = seen;
    s.prior[id] = prior;
    this.total += size;
  }

  private evict(source: FrequencySource): void {
    while (this.total > this.maxWeight) this.drop(this.regions.nextLoser(source));
    if (this.regions.windowOverflows) this.regions.rebalance();
  }

  private drop(id: number): void {
    this.index.delete((this.s.hash[id] as number) >>> 2);
    this.total -= this.s.size[id] as number;
    this.s.release(id);
  }
}

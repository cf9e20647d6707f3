/**
 * Slots of an `EntryTable` grouped in buckets by a numeric rank, the lowest
 * rank first, each bucket a list in the order its slots were added (the
 * constant-time LFU of Shah, Mitra & Matani, 2010, with the sorted bucket
 * list replaced by a heap). The frequency-ordered policies share it:
 *
 *   lfu       rank = K (LFU-DA's L + F); the victim is the lowest bucket's oldest
 *   learned   rank = frequency; LFU's victim is the lowest bucket's oldest,
 *             CR-LFU's its newest
 *
 * (GDSF in priority.ts keeps a heap of slots instead: its ranks are mostly
 * distinct in byte-weighted caches, where buckets would add a map lookup
 * and a list per access; measured slower there.)
 *
 * A rank finds its bucket through a `NumberMap`; an indexed min-heap of the
 * buckets by rank (`RankHeap`, one bucket per rank, so its seq is unused)
 * gives the lowest, and a bucket leaves the heap as soon as it empties, so
 * a slot can come back at any rank without a walk. The per-slot
 * rank stays readable after `remove` (a learned ghost keeps its frequency).
 * Nothing is allocated per access. Ranks must not be NaN.
 *
 * @example
 * const buckets = new RankBuckets(table);
 * buckets.add(slot, 1);
 * buckets.oldest(buckets.lowest()); // slot
 */
import type { EntryTable } from './entry-table.ts';
import { grown, NONE } from './entry-table.ts';
import { NumberMap } from './number-map.ts';
import { RankHeap } from './rank-heap.ts';
import { SlotLists } from './slot-lists.ts';

export class RankBuckets {
  /** Per slot: the rank it was last added with (kept after `remove`). */
  rank = new Float64Array(0);
  private readonly lists: SlotLists;
  /** Rank to its bucket, for every bucket in use. */
  private readonly bucketOf = new NumberMap(64);
  /** The buckets in use by rank. */
  private readonly byRank = new RankHeap();

  constructor(table: EntryTable) {
    this.lists = new SlotLists(table, 0);
    table.onGrow((capacity) => {
      this.rank = grown(this.rank, capacity);
    });
  }

  /** Appends `slot` (in no bucket) as the newest of the bucket for `rank`. */
  add(slot: number, rank: number): void {
    this.addTo(slot, rank, this.bucketOf.get(rank));
  }

  /** `remove` then `add`: the slot becomes the newest of the bucket for `rank`. */
  move(slot: number, rank: number): void {
    const bucket = this.lists.owner(slot);
    const target = this.bucketOf.get(rank);
    if (target === NONE && this.lists.length[bucket] === 1) {
      // Alone in its bucket, to a rank nobody holds: the bucket takes the new rank.
      this.bucketOf.delete(this.rank[slot] as number);
      this.bucketOf.set(rank, bucket);
      this.byRank.update(bucket, rank, 0);
      this.rank[slot] = rank;
      return;
    }
    this.remove(slot);
    // Removing may have emptied and dropped the target only if it was the slot's own bucket.
    this.addTo(slot, rank, target === bucket ? this.bucketOf.get(rank) : target);
  }

  /** Takes `slot` out of its bucket (a no-op if it is in none); its rank stays. */
  remove(slot: number): void {
    const bucket = this.lists.owner(slot);
    if (bucket === NONE) return;
    this.lists.remove(slot);
    if (this.lists.length[bucket] === 0) {
      this.bucketOf.delete(this.rank[slot] as number);
      this.byRank.remove(bucket);
      this.lists.dropList(bucket);
    }
  }

  private addTo(slot: number, rank: number, found: number): void {
    this.rank[slot] = rank;
    let bucket = found;
    if (bucket === NONE) {
      bucket = this.lists.addList();
      this.bucketOf.set(rank, bucket);
      this.byRank.push(bucket, rank, 0);
    }
    this.lists.pushBack(bucket, slot);
  }

  /** The bucket of the lowest rank, or `NONE` when empty. */
  lowest(): number {
    return this.byRank.peek();
  }

  /** The bucket holding `rank`, or `NONE`. */
  bucket(rank: number): number {
    return this.bucketOf.get(rank);
  }

  /** The slot added to a bucket first (of those still in it); `NONE` for `NONE`. */
  oldest(bucket: number): number {
    return bucket === NONE ? NONE : (this.lists.head[bucket] as number);
  }

  /** The slot added to a bucket last; `NONE` for `NONE`. */
  newest(bucket: number): number {
    return bucket === NONE ? NONE : (this.lists.tail[bucket] as number);
  }

  /** Every rank in use, ascending. */
  ranks(): number[] {
    return this.bucketOf.keyList().sort((a, b) => a - b);
  }

  /** The slots of a bucket, oldest first. */
  slots(bucket: number): Generator<number> {
    return this.lists.slots(bucket);
  }
}

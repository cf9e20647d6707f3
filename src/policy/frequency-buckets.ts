/**
 * LFU order in O(1) over the slots of an `EntryTable`: entries grouped in
 * buckets by frequency, each bucket a list from least to most recently
 * touched (the constant-time LFU of Shah, Mitra & Matani, 2010). Only the
 * least-frequent bucket is ever asked for, so instead of a sorted bucket list
 * a small min-heap of bucket frequencies with lazy deletion finds it; that
 * lets an entry come back at any frequency (the learned policy restores a
 * ghost's count) without a walk.
 *
 * Both ends of the least-frequent bucket are offered: its oldest entry (LFU
 * with LRU tie-break) and its newest (CACHEUS's churn-resistant CR-LFU).
 * The per-slot frequency stays readable after `remove`, so a ghost keeps its
 * count. Nothing is allocated per access.
 *
 * @example
 * const buckets = new FrequencyBuckets(table);
 * buckets.add(slot, 1);
 * buckets.increment(slot);
 */
import type { EntryTable } from './entry-table.ts';
import { grown, NONE } from './entry-table.ts';
import { heapPop, heapPush } from './min-heap.ts';
import { SlotLists } from './slot-lists.ts';

export class FrequencyBuckets {
  /** Per slot: its frequency (kept after `remove`). */
  freq = new Float64Array(0);
  private readonly lists: SlotLists;
  private readonly listOf = new Map<number, number>();
  /** Frequencies of live buckets, plus stale ones dropped when they surface. */
  private heap: number[] = [];

  constructor(table: EntryTable) {
    this.lists = new SlotLists(table, 0);
    table.onGrow((capacity) => {
      this.freq = grown(this.freq, capacity);
    });
  }

  /** Appends `slot` as the newest of the bucket for `freq`. */
  add(slot: number, freq: number): void {
    this.freq[slot] = freq;
    let list = this.listOf.get(freq);
    if (list === undefined) {
      list = this.lists.addList();
      this.listOf.set(freq, list);
      this.push(freq);
      // Hot keys climbing one frequency at a time leave stale heap items behind.
      if (this.heap.length > 64 && this.heap.length > 4 * this.listOf.size) this.rebuild();
    }
    this.lists.pushBack(list, slot);
  }

  /** Takes `slot` out of its bucket (a no-op if it is in none); its frequency stays. */
  remove(slot: number): void {
    const list = this.lists.owner(slot);
    if (list === NONE) return;
    this.lists.remove(slot);
    if (this.lists.length[list] === 0) {
      this.listOf.delete(this.freq[slot] as number);
      this.lists.dropList(list);
    }
  }

  /** One more use: the slot moves to the newest end of the next bucket. */
  increment(slot: number): void {
    this.remove(slot);
    this.add(slot, (this.freq[slot] as number) + 1);
  }

  /** The least-frequent bucket, for `oldest` and `newest`; `NONE` when empty. */
  leastFrequent(): number {
    return this.minList();
  }

  /** The least recently touched slot of a bucket (LFU's victim in the least-frequent one). */
  oldest(bucket: number): number {
    return bucket === NONE ? NONE : (this.lists.head[bucket] as number);
  }

  /** The most recently touched slot of a bucket (CR-LFU's victim in the least-frequent one). */
  newest(bucket: number): number {
    return bucket === NONE ? NONE : (this.lists.tail[bucket] as number);
  }

  private minList(): number {
    const heap = this.heap;
    while (heap.length > 0) {
      const list = this.listOf.get(heap[0] as number);
      if (list !== undefined) return list;
      this.pop();
    }
    return NONE;
  }

  private rebuild(): void {
    this.heap = [];
    for (const freq of this.listOf.keys()) this.push(freq);
  }

  private push(freq: number): void {
    heapPush(this.heap, freq);
  }

  private pop(): void {
    heapPop(this.heap);
  }
}

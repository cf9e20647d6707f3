/**
 * LFU-DA, LFU with Dynamic Aging (Arlitt, Cherkasova, Dilley, Friedrich &
 * Jin, "Evaluating content management techniques for Web proxy caches",
 * 2000; Squid's `heap_lfuda`): each entry has the key K = L + F, where F is
 * its reference count since it entered and L the cache's age, which rises to
 * the K of every victim. The smallest K goes first; ties go least recently
 * used first. Aging lets a once-popular entry fall out: a newcomer starts at
 * L + 1, so old counts are worth less as L grows.
 *
 * Plain LFU with counts halved every N accesses was measured as the other
 * option (glimpse, sprite, multi2, oltp, scarab-recs, corda) and lost on most
 * rows (corda at 512: 10.0% against 33.3%), so aging is LFU-DA's.
 *
 * Structure: one list per K value (in arrival order, so ties are LRU), a Map
 * from K to its list and a min-heap of K values with lazy deletion, so a hit
 * is O(1) amortised. Size-aware only as far as eviction repeats until the
 * newcomer fits (GreedyDual-Size-Frequency weighs K by cost/size instead).
 *
 * @example
 * const lfu = new LfuPolicy({ maxWeight: 1000 });
 */
import type { SavedResident } from './base-policy.ts';
import { grown } from './entry-table.ts';
import { heapPop, heapPush } from './min-heap.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

interface LfuState {
  age: number;
  /** Residents by ascending K, least recent first within a K. */
  entries: Array<[entry: SavedResident, refs: number, k: number]>;
}

export class LfuPolicy extends TablePolicy {
  readonly name: string = 'lfu';
  /** One list per K value in use. */
  private readonly buckets = new SlotLists(this.table, 0);
  private readonly bucketOf = new Map<number, number>();
  /** K values that had a bucket when pushed; stale ones are skipped. */
  private kHeap: number[] = [];
  private refs = new Float64Array(0);
  private k = new Float64Array(0);
  /** L: the K of the last victim. */
  private age = 0;

  constructor(capacity: Capacity) {
    super(capacity);
    this.table.onGrow((c) => {
      this.refs = grown(this.refs, c);
      this.k = grown(this.k, c);
    });
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): LfuPolicy {
    const state = snapshot.state as LfuState;
    const lfu = new LfuPolicy(capacity);
    lfu.age = state.age;
    for (const [saved, refs, k] of state.entries) {
      const slot = lfu.table.load(saved);
      lfu.refs[slot] = refs;
      lfu.place(slot, k);
      lfu.admitted(slot);
    }
    return lfu;
  }

  snapshot(): PolicySnapshot {
    const entries: LfuState['entries'] = [];
    for (const k of [...this.bucketOf.keys()].sort((a, b) => a - b)) {
      for (const slot of this.buckets.slots(this.bucketOf.get(k) as number)) {
        entries.push([this.table.save(slot), this.refs[slot] as number, k]);
      }
    }
    const state: LfuState = { age: this.age, entries };
    return { name: this.name, version: 1, state };
  }

  protected onHit(slot: number): void {
    this.leave(slot);
    const refs = (this.refs[slot] as number) + 1;
    this.refs[slot] = refs;
    this.place(slot, this.age + refs);
  }

  protected insert(
    key: string,
    _ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void {
    this.makeRoom(info.size, 1, now, evicted, -1);
    const slot = this.table.alloc(key, info);
    this.refs[slot] = 1;
    this.place(slot, this.age + 1);
    this.admitted(slot);
  }

  /** A write is a reference; the entry is out of the order while room is made. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.leave(slot);
    this.table.count--;
    this.table.weight -= info.size;
    this.makeRoom(info.size, 1, now, evicted, -1);
    this.table.update(slot, info);
    const refs = (this.refs[slot] as number) + 1;
    this.refs[slot] = refs;
    this.place(slot, this.age + refs);
    this.admitted(slot);
  }

  protected evictOne(evicted: string[]): void {
    const heap = this.kHeap;
    let bucket = this.bucketOf.get(heap[0] as number);
    while (bucket === undefined) {
      if (heap.length === 0) throw new Error('lfu: nothing to evict');
      this.popK();
      bucket = this.bucketOf.get(heap[0] as number);
    }
    const victim = this.buckets.head[bucket] as number;
    this.age = this.k[victim] as number;
    this.leave(victim);
    this.retire(victim, evicted);
    this.table.release(victim);
  }

  protected unlink(slot: number): void {
    this.leave(slot);
  }

  private place(slot: number, k: number): void {
    let bucket = this.bucketOf.get(k);
    if (bucket === undefined) {
      bucket = this.buckets.addList();
      this.bucketOf.set(k, bucket);
      this.pushK(k);
    }
    this.k[slot] = k;
    this.buckets.pushBack(bucket, slot);
  }

  private leave(slot: number): void {
    const buckets = this.buckets;
    const bucket = buckets.owner(slot);
    buckets.remove(slot);
    if (buckets.length[bucket] === 0) {
      this.bucketOf.delete(this.k[slot] as number);
      buckets.dropList(bucket);
    }
  }

  private pushK(k: number): void {
    const heap = this.kHeap;
    if (heap.length > 2 * this.bucketOf.size + 64) {
      // Mostly stale: rebuild from the live K values (a sorted array is a heap).
      this.kHeap = [...this.bucketOf.keys()].sort((a, b) => a - b);
      return; // k is already a key of bucketOf
    }
    heapPush(heap, k);
  }

  private popK(): void {
    heapPop(this.kHeap);
  }
}

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
 * Structure: `RankBuckets` with rank K, one list per K value in use (in
 * arrival order, so ties are LRU), so a hit is a relink (and at most a few
 * heap steps over the distinct K values) and the next victim is the oldest
 * entry of the lowest K. Size-aware only as far as eviction repeats until the
 * newcomer fits (GreedyDual-Size-Frequency weighs K by cost/size instead).
 *
 * @example
 * const lfu = new LfuPolicy({ maxWeight: 1000 });
 */
import type { SavedResident } from './base-policy.ts';
import { grown, NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { RankBuckets } from './rank-buckets.ts';
import { TablePolicy } from './table-policy.ts';

interface LfuState {
  age: number;
  /** Residents by ascending K, least recent first within a K. */
  entries: Array<[entry: SavedResident, refs: number, k: number]>;
}

export class LfuPolicy extends TablePolicy {
  readonly name: string = 'lfu';
  /** Residents by K: `buckets.rank[slot]` is the slot's K. */
  private readonly buckets = new RankBuckets(this.table);
  private refs = new Float64Array(0);
  /** L: the K of the last victim. */
  private age = 0;

  constructor(capacity: Capacity) {
    super(capacity);
    this.table.onGrow((c) => {
      this.refs = grown(this.refs, c);
    });
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): LfuPolicy {
    const state = snapshot.state as LfuState;
    const lfu = new LfuPolicy(capacity);
    lfu.age = state.age;
    for (const [saved, refs, k] of state.entries) {
      const slot = lfu.table.load(saved);
      lfu.refs[slot] = refs;
      lfu.buckets.add(slot, k);
      lfu.admitted(slot);
    }
    return lfu;
  }

  snapshot(): PolicySnapshot {
    const entries: LfuState['entries'] = [];
    for (const k of this.buckets.ranks()) {
      for (const slot of this.buckets.slots(this.buckets.bucket(k))) {
        entries.push([this.table.save(slot), this.refs[slot] as number, k]);
      }
    }
    const state: LfuState = { age: this.age, entries };
    return { name: this.name, version: 1, state };
  }

  protected onHit(slot: number): void {
    const refs = (this.refs[slot] as number) + 1;
    this.refs[slot] = refs;
    this.buckets.move(slot, this.age + refs);
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
    this.buckets.add(slot, this.age + 1);
    this.admitted(slot);
  }

  /** A write is a reference; the entry is out of the order while room is made. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.buckets.remove(slot);
    this.table.count--;
    this.table.weight -= info.size;
    this.makeRoom(info.size, 1, now, evicted, -1);
    this.table.update(slot, info);
    const refs = (this.refs[slot] as number) + 1;
    this.refs[slot] = refs;
    this.buckets.add(slot, this.age + refs);
    this.admitted(slot);
  }

  protected evictOne(evicted: string[]): void {
    const victim = this.buckets.oldest(this.buckets.lowest());
    if (victim === NONE) throw new Error('lfu: nothing to evict');
    this.age = this.buckets.rank[victim] as number;
    this.buckets.remove(victim);
    this.retire(victim, evicted);
    this.table.release(victim);
  }

  protected unlink(slot: number): void {
    this.buckets.remove(slot);
  }
}

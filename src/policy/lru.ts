/**
 * LRU: evict the least recently used entry.
 *
 * One recency list over the shared slot table (entry-table.ts, the layout
 * npm lru-cache uses), so a hit is one Map lookup and a relink, and an
 * eviction is the list head. Expired entries go first (table-policy.ts).
 *
 * @example
 * const lru = new LruPolicy({ maxWeight: 2 });
 * lru.set('a', { size: 1, expiresAt: Infinity }, 0);
 */
import type { SavedResident } from './base-policy.ts';
import { NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

interface LruState {
  /** Least recently used first. */
  entries: SavedResident[];
}

export class LruPolicy extends TablePolicy {
  readonly name: string = 'lru';
  /** Least recently used at the head. */
  private readonly order = new SlotLists(this.table, 1);

  static restore(snapshot: PolicySnapshot, capacity: Capacity): LruPolicy {
    const lru = new LruPolicy(capacity);
    for (const saved of (snapshot.state as LruState).entries) {
      const slot = lru.table.load(saved);
      lru.order.pushBack(0, slot);
      lru.admitted(slot);
    }
    return lru;
  }

  snapshot(): PolicySnapshot {
    const entries = [...this.order.slots(0)].map((slot) => this.table.save(slot));
    return { name: this.name, version: 2, state: { entries } satisfies LruState };
  }

  protected onHit(slot: number): void {
    this.order.moveToBack(0, slot);
  }

  protected insert(
    key: string,
    _ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void {
    this.makeRoom(info.size, 1, now, evicted, NONE);
    const slot = this.table.alloc(key, info);
    this.order.pushBack(0, slot);
    this.admitted(slot);
  }

  /** A write is a use: the entry becomes most recent, then room is made around it. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.order.moveToBack(0, slot);
    this.order.reweigh(slot, info.size);
    this.table.size[slot] = info.size;
    this.makeRoom(0, 0, now, evicted, slot);
    this.table.update(slot, info);
  }

  protected evictOne(evicted: string[], exclude: number): void {
    let victim = this.order.head[0] as number;
    if (victim === exclude) victim = this.order.next(victim);
    if (victim === NONE) throw new Error('lru: nothing to evict');
    this.order.remove(victim);
    this.retire(victim, evicted);
    this.table.release(victim);
  }

  protected unlink(slot: number): void {
    this.order.remove(slot);
  }
}

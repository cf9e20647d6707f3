/**
 * TTL-first: evict the entry that expires soonest. Entries that never expire
 * go last, least recently used first among them. Useful when expiry times
 * carry the application's own idea of value (short TTL = cheap to lose).
 *
 * Finite expiries are the shared `EntryTable` heap, ordered by (expiresAt,
 * key): entries expiring in the same millisecond leave in key order, which
 * is arbitrary but survives a snapshot. Expired entries are simply the
 * soonest of all, so "expired first" costs nothing extra here.
 *
 * @example
 * const ttl = new TtlPolicy({ maxWeight: 2 });
 * ttl.set('a', { size: 1, expiresAt: 5000 }, 0);
 * ttl.set('b', { size: 1, expiresAt: Infinity }, 0);
 * ttl.set('c', { size: 1, expiresAt: 9000 }, 0); // ['a']
 */
import type { SavedResident } from './base-policy.ts';
import { NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

interface TtlState {
  /** Never-expiring entries least recently used first, then the rest. */
  entries: SavedResident[];
}

export class TtlPolicy extends TablePolicy {
  readonly name: string = 'ttl';
  /** Never-expiring residents, least recently used first. */
  private readonly forever = new SlotLists(this.table, 1);

  static restore(snapshot: PolicySnapshot, capacity: Capacity): TtlPolicy {
    const ttl = new TtlPolicy(capacity);
    for (const saved of (snapshot.state as TtlState).entries) {
      const slot = ttl.table.load(saved);
      if (!Number.isFinite(ttl.table.expiresAt[slot] as number)) ttl.forever.pushBack(0, slot);
      ttl.admitted(slot);
    }
    return ttl;
  }

  snapshot(): PolicySnapshot {
    const entries = [...this.forever.slots(0)].map((s) => this.table.save(s));
    for (const slot of this.table.index.values()) {
      if (this.forever.owner(slot) === NONE) entries.push(this.table.save(slot));
    }
    return { name: this.name, version: 1, state: { entries } satisfies TtlState };
  }

  protected onHit(slot: number): void {
    if (this.forever.owner(slot) !== NONE) this.forever.moveToBack(0, slot);
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
    if (!Number.isFinite(info.expiresAt)) this.forever.pushBack(0, slot);
    this.admitted(slot);
  }

  /** A write may change the expiry: the entry is out of both orders while room is made. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.forever.remove(slot);
    this.table.count--;
    this.table.weight -= info.size;
    this.makeRoom(info.size, 1, now, evicted, NONE);
    this.table.update(slot, info);
    if (!Number.isFinite(info.expiresAt)) this.forever.pushBack(0, slot);
    this.admitted(slot);
  }

  protected evictOne(evicted: string[]): void {
    let victim = this.table.soonest();
    if (victim === NONE) victim = this.forever.head[0] as number;
    this.forever.remove(victim);
    this.retire(victim, evicted);
    this.table.release(victim);
  }

  protected unlink(slot: number): void {
    this.forever.remove(slot);
  }
}

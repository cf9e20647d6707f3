/**
 * The `Policy` plumbing shared by the slot-based policies (LRU, ARC, LIRS,
 * LFU-DA, TTL-first, S3-FIFO, SIEVE, learned, priority): limits, resident
 * count and weight, the oversize refusal, reads, deletes, resize, and
 * "expired entries go first". Ghosts live in the same table as residents,
 * a subclass acts before or after a newcomer is placed as it needs (ARC's
 * REPLACE depends on which ghost list the newcomer hit; GDSF ranks the
 * newcomer first), and a read is one Map lookup.
 *
 * Residents are flagged in `table.resident` (ghosts share the table); the
 * hot paths read only `this.table` and one hook, so they stay fast when a
 * simulator runs several policies in one process. A subclass supplies:
 *   onHit(slot)       a read hit
 *   insert(...)       a newcomer (maybe a ghost)      update(...)  a write to a resident
 *   evictOne(...)     evict one resident, never `exclude`
 *   unlink(slot)      take a resident out of the order (delete, expiry; no ghost)
 */
import { EntryTable, NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, Policy, PolicySnapshot } from './policy.ts';
import { fits, overCapacity } from './policy.ts';

export abstract class TablePolicy implements Policy {
  abstract readonly name: string;
  protected readonly table = new EntryTable();

  constructor(capacity: Capacity) {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.table.limits = { ...capacity };
  }

  get capacity(): Readonly<Capacity> {
    return this.table.limits;
  }

  get count(): number {
    return this.table.count;
  }

  get weight(): number {
    return this.table.weight;
  }

  get(key: string, now: number): boolean {
    const t = this.table;
    const slot = t.index.get(key);
    if (slot !== undefined && t.resident[slot] === 1) {
      if (now < (t.expiresAt[slot] as number)) {
        this.onHit(slot);
        return true;
      }
      this.drop(slot);
      t.noteMiss(key, NONE);
    } else {
      t.noteMiss(key, slot ?? NONE);
    }
    return false;
  }

  set(key: string, info: EntryInfo, now: number): string[] {
    const t = this.table;
    const slot = t.lookup(key);
    const resident = slot !== NONE && t.resident[slot] === 1;
    if (!fits(t.limits, info.size)) {
      if (resident) this.drop(slot);
      return [key];
    }
    const evicted: string[] = [];
    if (resident) {
      // The key must not be picked as expired while room is made for its new size.
      t.clearExpiry(slot);
      t.weight += info.size - (t.size[slot] as number);
      this.update(slot, info, now, evicted);
    } else {
      this.insert(key, slot, info, now, evicted);
    }
    return evicted;
  }

  delete(key: string): boolean {
    const slot = this.table.index.get(key);
    if (slot === undefined || this.table.resident[slot] !== 1) return false;
    this.drop(slot);
    return true;
  }

  has(key: string): boolean {
    const slot = this.table.index.get(key);
    return slot !== undefined && this.table.resident[slot] === 1;
  }

  *keys(): IterableIterator<string> {
    const resident = this.table.resident;
    for (const [key, slot] of this.table.index) if (resident[slot] === 1) yield key;
  }

  resize(capacity: Capacity, now: number): string[] {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.table.limits = { ...capacity };
    const evicted: string[] = [];
    this.makeRoom(0, 0, now, evicted, NONE);
    this.afterResize();
    return evicted;
  }

  abstract snapshot(): PolicySnapshot;

  /**
   * Evicts until `weight` more weight and `count` more entries fit: expired
   * entries first (soonest first), then the policy's own victims, never `exclude`.
   */
  protected makeRoom(
    weight: number,
    count: number,
    now: number,
    evicted: string[],
    exclude: number,
  ): void {
    const t = this.table;
    while (overCapacity(t.limits, t.weight + weight, t.count + count)) {
      const dead = t.peekExpired(now);
      if (dead !== NONE) {
        evicted.push(t.keys[dead] as string);
        this.drop(dead);
      } else {
        this.evictOne(evicted, exclude);
      }
    }
  }

  /** Counts a newly placed resident. */
  protected admitted(slot: number): void {
    const t = this.table;
    t.resident[slot] = 1;
    t.count++;
    t.weight += t.size[slot] as number;
  }

  /** Counts an evicted resident (reported in `evicted`); the subclass keeps or releases its slot. */
  protected retire(slot: number, evicted: string[]): void {
    const t = this.table;
    evicted.push(t.keys[slot] as string);
    t.resident[slot] = 0;
    t.count--;
    t.weight -= t.size[slot] as number;
    t.clearExpiry(slot);
  }

  /** Removes a resident without leaving a ghost (delete, expiry, oversize update). */
  protected drop(slot: number): void {
    const t = this.table;
    this.unlink(slot);
    t.count--;
    t.weight -= t.size[slot] as number;
    t.release(slot);
  }

  /** After `resize` has evicted: trim ghosts or targets to the new limits. */
  protected afterResize(): void {}

  protected abstract onHit(slot: number): void;
  /** A write of a non-resident key; `ghost` is its ghost slot or `NONE`. Calls `makeRoom`. */
  protected abstract insert(
    key: string,
    ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void;
  /**
   * A write to a resident: `table.weight` already counts `info.size` and the
   * expiry is cleared; make room (excluding `slot`), then `table.update(slot, info)`.
   */
  protected abstract update(slot: number, info: EntryInfo, now: number, evicted: string[]): void;
  protected abstract evictOne(evicted: string[], exclude: number): void;
  protected abstract unlink(slot: number): void;
}

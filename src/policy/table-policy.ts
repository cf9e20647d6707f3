/**
 * The `Policy` plumbing shared by the slot-based policies (ARC, LIRS, LFU-DA,
 * TTL-first, S3-FIFO, SIEVE): limits, resident count and weight, the
 * oversize refusal, reads, deletes, resize, and "expired entries go first".
 * It exists beside `BasePolicy` because these policies keep ghosts in the
 * same table as residents and need to act before a newcomer is placed (ARC's
 * REPLACE depends on which ghost list the newcomer hit), which BasePolicy's
 * insert-then-victim hooks cannot express; and a read here is one Map lookup.
 *
 * A subclass supplies:
 *   isResident(slot)  ghosts share the table          onHit(slot)  a read hit
 *   insert(...)       a newcomer (maybe a ghost)      update(...)  a write to a resident
 *   evictOne(...)     evict one resident, never `exclude`
 *   unlink(slot)      take a resident out of the order (delete, expiry; no ghost)
 */
import { EntryTable, NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, Policy, PolicySnapshot } from './policy.ts';
import { fits, overCapacity } from './policy.ts';

export abstract class TablePolicy implements Policy {
  abstract readonly name: string;
  protected limits: Capacity;
  protected readonly table = new EntryTable();
  protected residentCount = 0;
  protected residentWeight = 0;
  /**
   * The last `get` miss, so the `set` that usually follows (demand fetch)
   * skips a second Map lookup; valid while `table.generation` is unchanged.
   */
  private missKey: string | undefined;
  private missSlot = NONE;
  private missGeneration = -1;

  constructor(capacity: Capacity) {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.limits = { ...capacity };
  }

  get capacity(): Readonly<Capacity> {
    return this.limits;
  }

  get count(): number {
    return this.residentCount;
  }

  get weight(): number {
    return this.residentWeight;
  }

  get(key: string, now: number): boolean {
    const table = this.table;
    const slot = table.index.get(key);
    if (slot !== undefined && this.isResident(slot)) {
      if (now < (table.expiresAt[slot] as number)) {
        this.onHit(slot);
        return true;
      }
      this.drop(slot);
      this.missSlot = NONE;
    } else {
      this.missSlot = slot ?? NONE;
    }
    this.missKey = key;
    this.missGeneration = table.generation;
    return false;
  }

  set(key: string, info: EntryInfo, now: number): string[] {
    const slot =
      key === this.missKey && this.missGeneration === this.table.generation
        ? this.missSlot
        : (this.table.index.get(key) ?? NONE);
    const resident = slot !== NONE && this.isResident(slot);
    if (!fits(this.limits, info.size)) {
      if (resident) this.drop(slot);
      return [key];
    }
    const evicted: string[] = [];
    if (resident) {
      // The key must not be picked as expired while room is made for its new size.
      this.table.clearExpiry(slot);
      this.residentWeight += info.size - (this.table.size[slot] as number);
      this.update(slot, info, now, evicted);
    } else {
      this.insert(key, slot, info, now, evicted);
    }
    return evicted;
  }

  delete(key: string): boolean {
    const slot = this.table.index.get(key);
    if (slot === undefined || !this.isResident(slot)) return false;
    this.drop(slot);
    return true;
  }

  has(key: string): boolean {
    const slot = this.table.index.get(key);
    return slot !== undefined && this.isResident(slot);
  }

  *keys(): IterableIterator<string> {
    for (const [key, slot] of this.table.index) if (this.isResident(slot)) yield key;
  }

  resize(capacity: Capacity, now: number): string[] {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.limits = { ...capacity };
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
    while (overCapacity(this.limits, this.residentWeight + weight, this.residentCount + count)) {
      const dead = this.table.peekExpired(now);
      if (dead !== NONE) {
        evicted.push(this.table.keys[dead] as string);
        this.drop(dead);
      } else {
        this.evictOne(evicted, exclude);
      }
    }
  }

  /** Counts a newly placed resident. */
  protected admitted(slot: number): void {
    this.residentCount++;
    this.residentWeight += this.table.size[slot] as number;
  }

  /** Counts an evicted resident (reported in `evicted`); the subclass keeps or releases its slot. */
  protected retire(slot: number, evicted: string[]): void {
    evicted.push(this.table.keys[slot] as string);
    this.residentCount--;
    this.residentWeight -= this.table.size[slot] as number;
    this.table.clearExpiry(slot);
  }

  /** Removes a resident without leaving a ghost (delete, expiry, oversize update). */
  protected drop(slot: number): void {
    this.unlink(slot);
    this.residentCount--;
    this.residentWeight -= this.table.size[slot] as number;
    this.table.release(slot);
  }

  /** After `resize` has evicted: trim ghosts or targets to the new limits. */
  protected afterResize(): void {}

  protected abstract isResident(slot: number): boolean;
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
   * A write to a resident: `residentWeight` already counts `info.size` and the
   * expiry is cleared; make room (excluding `slot`), then `table.update(slot, info)`.
   */
  protected abstract update(slot: number, info: EntryInfo, now: number, evicted: string[]): void;
  protected abstract evictOne(evicted: string[], exclude: number): void;
  protected abstract unlink(slot: number): void;
}

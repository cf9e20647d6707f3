/**
 * LRU: evict the least recently used entry. Recency order is a Map's
 * insertion order: a hit moves the key to the end, the victim is the first.
 *
 * @example
 * const lru = new LruPolicy({ maxWeight: 2 });
 * lru.set('a', { size: 1, expiresAt: Infinity }, 0);
 */
import type { Resident, SavedResident } from './base-policy.ts';
import { BasePolicy, loadResident, saveResident } from './base-policy.ts';
import type { Capacity, PolicySnapshot } from './policy.ts';

export class LruPolicy extends BasePolicy {
  readonly name: string = 'lru';
  /** Keys from least to most recently used. */
  private readonly order = new Map<string, true>();

  static restore(snapshot: PolicySnapshot, capacity: Capacity): LruPolicy {
    const policy = new LruPolicy(capacity);
    // Entries are saved least recently used first, so re-inserting them restores the order.
    for (const saved of (snapshot.state as { entries: SavedResident[] }).entries) {
      policy.restoreResident(...loadResident(saved));
    }
    return policy;
  }

  snapshot(): PolicySnapshot {
    const entries: SavedResident[] = [];
    for (const key of this.order.keys())
      entries.push(saveResident(key, this.info(key) as Resident));
    return { name: this.name, version: 1, state: { entries } };
  }

  protected onInsert(key: string): void {
    this.order.set(key, true);
  }

  protected onHit(key: string): void {
    this.order.delete(key);
    this.order.set(key, true);
  }

  protected onRemove(key: string): void {
    this.order.delete(key);
  }

  protected victim(): string {
    return this.order.keys().next().value as string;
  }
}

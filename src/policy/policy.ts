/**
 * The one interface every eviction/admission policy implements, in the
 * shard, the optional in-isolate hot set and the trace simulator alike.
 *
 * A policy is a *directory* of resident keys with their sizes: it decides
 * what stays, it stores no values. Pure: no runtime imports, no clock reads
 * (time comes in as `now`), no unseeded randomness, so the same sequence of
 * calls always gives the same decisions.
 *
 * Capacity is two limits at once: `maxWeight` (bytes, or entries when every
 * size is 1, as trace simulations use) and optionally `maxEntries`.
 */

/** What a policy knows about an entry. */
export interface EntryInfo {
  /** Weight against `maxWeight`: bytes in the shard, 1 in count-based simulations. */
  size: number;
  /** Milliseconds since epoch after which the entry is dead; `Infinity` for never. */
  expiresAt: number;
  /** Business priority class, 0 (cheapest to lose) to 3 (keep longest). Default 1. */
  priority?: number;
  /** Cost of a miss (origin time, money…), in any consistent unit. Default 1. */
  cost?: number;
}

export interface Capacity {
  /** Sum of resident sizes never exceeds this. */
  maxWeight: number;
  /** Resident entries never exceed this (optional second limit). */
  maxEntries?: number;
}

export interface Policy {
  /** Registry name, e.g. `lru`, `w-tinylfu`. */
  readonly name: string;
  /** The current limits (see `resize`). */
  readonly capacity: Readonly<Capacity>;
  /** Resident entries. */
  readonly count: number;
  /** Sum of resident sizes. */
  readonly weight: number;

  /**
   * A read of `key` at `now`. True on a hit (resident and `now < expiresAt`),
   * updating recency/frequency. A resident but expired key is removed and is
   * a miss. Misses also feed what the policy learns (ghosts, sketches).
   */
  get(key: string, now: number): boolean;

  /**
   * Inserts `key` or updates its info (an update keeps its history). Returns
   * the keys evicted to make room, in eviction order. The list contains `key`
   * itself when the policy declines to admit it (admission filters, or a size
   * above `maxWeight`). Expired entries are always evicted before live ones.
   * Afterwards `weight <= maxWeight` and `count <= maxEntries`.
   */
  set(key: string, info: EntryInfo, now: number): string[];

  /**
   * Changes the capacity and evicts (expired first, then in the policy's own
   * order) until the new limits hold; returns the evicted keys. The shard uses
   * it to take bytes from one namespace's policy when several share a budget.
   */
  resize(capacity: Capacity, now: number): string[];

  /** Removes `key` (an explicit delete, not an eviction). True if it was resident. */
  delete(key: string): boolean;

  has(key: string): boolean;

  /** Resident keys, in no particular order. */
  keys(): IterableIterator<string>;

  /**
   * Everything the policy needs to carry on after a restart, as JSON-safe
   * data (persisted in the shard's SQLite). `restorePolicy` reverses it.
   */
  snapshot(): PolicySnapshot;
}

export interface PolicySnapshot {
  name: string;
  /** Format version of `state`, owned by the policy. */
  version: number;
  state: unknown;
}

/** Normalises optional fields of an `EntryInfo`. */
export function priorityOf(info: EntryInfo): number {
  return info.priority ?? 1;
}

export function costOf(info: EntryInfo): number {
  return info.cost ?? 1;
}

/** True if an entry of `size` can ever fit. */
export function fits(capacity: Capacity, size: number): boolean {
  return (
    size <= capacity.maxWeight && (capacity.maxEntries === undefined || capacity.maxEntries >= 1)
  );
}

/** True while `weight`/`count` exceed the capacity. */
export function overCapacity(capacity: Capacity, weight: number, count: number): boolean {
  return (
    weight > capacity.maxWeight ||
    (capacity.maxEntries !== undefined && count > capacity.maxEntries)
  );
}

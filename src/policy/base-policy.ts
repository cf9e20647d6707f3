/**
 * Shared bookkeeping for policies that can say "this is my next victim":
 * residency, weight and count, the capacity rules, the oversize refusal and
 * "expired entries go first". A subclass supplies the order through hooks:
 *
 *   onInsert(key)  a new resident          onHit(key)     a read hit
 *   onRemove(key)  it left (any reason)    victim()       who goes next
 *   admit(key)     optional admission filter, asked before evicting for a newcomer
 *   onMiss(key)    optional, a read of a non-resident key (ghosts, sketches)
 *
 * Policies whose structure does not fit (W-TinyLFU's window/main handover)
 * implement `Policy` directly and reuse `ExpiryQueue`.
 */
import { ExpiryQueue } from './expiry-queue.ts';
import type { Capacity, EntryInfo, Policy, PolicySnapshot } from './policy.ts';
import { overCapacity } from './policy.ts';

export interface Resident {
  size: number;
  expiresAt: number;
  priority: number;
  cost: number;
}

/** A resident as JSON-safe data: `Infinity` (never expires) becomes `null`. */
export type SavedResident = [
  key: string,
  size: number,
  expiresAt: number | null,
  priority: number,
  cost: number,
];

export function saveResident(key: string, r: Resident): SavedResident {
  return [key, r.size, Number.isFinite(r.expiresAt) ? r.expiresAt : null, r.priority, r.cost];
}

export function loadResident(saved: SavedResident): [string, Resident] {
  const [key, size, expiresAt, priority, cost] = saved;
  return [key, { size, expiresAt: expiresAt ?? Number.POSITIVE_INFINITY, priority, cost }];
}

export abstract class BasePolicy implements Policy {
  abstract readonly name: string;
  private limits: Capacity;
  protected readonly residents = new Map<string, Resident>();
  private readonly expiry = new ExpiryQueue();
  private totalWeight = 0;

  constructor(capacity: Capacity) {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.limits = { ...capacity };
  }

  get capacity(): Readonly<Capacity> {
    return this.limits;
  }

  get count(): number {
    return this.residents.size;
  }

  get weight(): number {
    return this.totalWeight;
  }

  has(key: string): boolean {
    return this.residents.has(key);
  }

  keys(): IterableIterator<string> {
    return this.residents.keys();
  }

  get(key: string, now: number): boolean {
    const r = this.residents.get(key);
    if (r === undefined) {
      this.onMiss(key, now);
      return false;
    }
    if (now >= r.expiresAt) {
      this.remove(key, r);
      this.onMiss(key, now);
      return false;
    }
    this.onHit(key, now);
    return true;
  }

  set(key: string, info: EntryInfo, now: number): string[] {
    const next: Resident = {
      size: info.size,
      expiresAt: info.expiresAt,
      priority: info.priority ?? 1,
      cost: info.cost ?? 1,
    };
    const existing = this.residents.get(key);
    const tooBig =
      info.size > this.capacity.maxWeight ||
      (this.capacity.maxEntries !== undefined && this.capacity.maxEntries < 1);
    if (tooBig) {
      if (existing) this.remove(key, existing);
      return [key];
    }
    const evicted: string[] = [];
    if (existing) {
      // An update keeps the key's history; only its weight and expiry change.
      this.totalWeight += next.size - existing.size;
      this.residents.set(key, next);
      this.expiry.set(key, next.expiresAt);
      this.onUpdate(key, now);
    } else {
      const needsRoom = overCapacity(
        this.capacity,
        this.totalWeight + next.size,
        this.residents.size + 1,
      );
      if (needsRoom && this.expiry.peekExpired(now) === undefined && !this.admit(key, next, now)) {
        return [key];
      }
      this.residents.set(key, next);
      this.totalWeight += next.size;
      this.expiry.set(key, next.expiresAt);
      this.onInsert(key, now);
    }
    this.evictToFit(key, now, evicted);
    return evicted;
  }

  resize(capacity: Capacity, now: number): string[] {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.limits = { ...capacity };
    const evicted: string[] = [];
    this.evictToFit(undefined, now, evicted);
    return evicted;
  }

  /** Evicts, expired entries first, until the limits hold; `incoming` goes last if at all. */
  private evictToFit(incoming: string | undefined, now: number, evicted: string[]): void {
    while (overCapacity(this.limits, this.totalWeight, this.residents.size)) {
      const victim = this.expiry.peekExpired(now) ?? this.victim(incoming);
      const r = this.residents.get(victim);
      if (r === undefined) throw new Error(`${this.name}: victim ${victim} is not resident`);
      this.remove(victim, r);
      this.onEvict(victim, now);
      evicted.push(victim);
    }
  }

  delete(key: string): boolean {
    const r = this.residents.get(key);
    if (r === undefined) return false;
    this.remove(key, r);
    return true;
  }

  abstract snapshot(): PolicySnapshot;

  /** The resident entry's info (for subclasses). */
  protected info(key: string): Resident | undefined {
    return this.residents.get(key);
  }

  /** Re-inserts residents in order when restoring a snapshot (no eviction, no hooks' side effects beyond onInsert). */
  protected restoreResident(key: string, r: Resident, now = 0): void {
    this.residents.set(key, r);
    this.totalWeight += r.size;
    this.expiry.set(key, r.expiresAt);
    this.onInsert(key, now);
  }

  private remove(key: string, r: Resident): void {
    this.residents.delete(key);
    this.totalWeight -= r.size;
    this.expiry.delete(key);
    this.onRemove(key);
  }

  protected abstract onInsert(key: string, now: number): void;
  protected abstract onHit(key: string, now: number): void;
  protected abstract onRemove(key: string): void;
  /** The next key to evict; `incoming` is the key being inserted, if any (evict it last, if at all). */
  protected abstract victim(incoming: string | undefined): string;
  protected onUpdate(key: string, now: number): void {
    this.onHit(key, now);
  }
  protected onMiss(_key: string, _now: number): void {}
  /** Called after `key` was evicted (not deleted): ghost lists record it here. */
  protected onEvict(_key: string, _now: number): void {}
  /** Admission filter for a newcomer when room is needed; default admits. */
  protected admit(_key: string, _info: Resident, _now: number): boolean {
    return true;
  }
}

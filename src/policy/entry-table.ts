/**
 * Entry storage for the policies' hot path, in the manner of npm lru-cache:
 * every key a policy tracks (residents, and the ghosts of ARC, LIRS and
 * S3-FIFO) owns a numbered slot, and its fields live in typed arrays that
 * grow by doubling, so a read allocates nothing and costs one Map lookup.
 * The resident count, weight and limits live here too: one object shape for
 * every policy, so the shared code in `TablePolicy` stays monomorphic when a
 * simulator runs several policies in one process.
 *
 * Finite expiries sit in an indexed min-heap ordered by (expiresAt, key).
 * Unlike `ExpiryQueue`, ties break by key rather than by insertion history,
 * so a policy restored from a snapshot (which rebuilds the heap in another
 * order) still picks the same expired entry as the original.
 *
 * @example
 * const table = new EntryTable();
 * const slot = table.alloc('a', { size: 1, expiresAt: 5 });
 * table.peekExpired(5); // slot
 */
import type { SavedResident } from './base-policy.ts';
import { loadResident, saveResident } from './base-policy.ts';
import type { Capacity, EntryInfo } from './policy.ts';

/** "No slot": the null of the slot links. */
export const NONE = -1;

type Column = Int32Array | Float64Array | Uint8Array;

/** A copy of `a` with room for `capacity` items (the rest zeroed). */
export function grown<T extends Column>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

export class EntryTable {
  /** Key to slot, for every tracked key (residents and ghosts). */
  readonly index = new Map<string, number>();
  keys: string[] = [];
  size = new Float64Array(0);
  expiresAt = new Float64Array(0);
  priority = new Float64Array(0);
  cost = new Float64Array(0);
  private heapPos = new Int32Array(0);
  private heap = new Int32Array(0);
  private heapLength = 0;
  private readonly free: number[] = [];
  private used = 0;
  private capacity = 0;
  private readonly growers: Array<(capacity: number) => void> = [];
  /** Bumped whenever a key gains or loses its slot. */
  generation = 0;
  /** 1 for a resident slot; 0 for ghosts and free slots. */
  resident = new Uint8Array(0);
  /** Resident count and summed size, and the limits they keep. */
  count = 0;
  weight = 0;
  limits: Capacity = { maxWeight: 0 };
  /**
   * The last read miss, so the write that usually follows (demand fetch)
   * skips a second Map lookup; valid while `generation` is unchanged.
   */
  private missKey: string | undefined;
  private missSlot = NONE;
  private missGeneration = -1;

  /** Registers a callback that resizes a policy's own per-slot columns. */
  onGrow(grow: (capacity: number) => void): void {
    this.growers.push(grow);
    if (this.capacity > 0) grow(this.capacity);
  }

  /** Remembers a read miss of `key` (its ghost slot, or `NONE`). */
  noteMiss(key: string, slot: number): void {
    this.missKey = key;
    this.missSlot = slot;
    this.missGeneration = this.generation;
  }

  /** The slot of `key`, or `NONE`. */
  lookup(key: string): number {
    if (key === this.missKey && this.missGeneration === this.generation) return this.missSlot;
    return this.index.get(key) ?? NONE;
  }

  /** A fresh slot for `key` holding `info`; the caller links it into its lists. */
  alloc(key: string, info: EntryInfo): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    this.index.set(key, slot);
    this.generation++;
    this.keys[slot] = key;
    this.resident[slot] = 0;
    this.heapPos[slot] = NONE;
    this.update(slot, info);
    return slot;
  }

  /** Replaces the slot's info (size, expiry, priority, cost). */
  update(slot: number, info: EntryInfo): void {
    this.size[slot] = info.size;
    this.priority[slot] = info.priority ?? 1;
    this.cost[slot] = info.cost ?? 1;
    this.setExpiry(slot, info.expiresAt);
  }

  /** Forgets the slot's key; the caller has unlinked it from its lists. */
  release(slot: number): void {
    this.index.delete(this.keys[slot] as string);
    this.generation++;
    this.resident[slot] = 0;
    this.clearExpiry(slot);
    this.keys[slot] = '';
    this.free.push(slot);
  }

  /** The resident as JSON-safe data. */
  save(slot: number): SavedResident {
    return saveResident(this.keys[slot] as string, {
      size: this.size[slot] as number,
      expiresAt: this.expiresAt[slot] as number,
      priority: this.priority[slot] as number,
      cost: this.cost[slot] as number,
    });
  }

  /** Allocates a slot for a saved resident. */
  load(saved: SavedResident): number {
    const [key, r] = loadResident(saved);
    return this.alloc(key, r);
  }

  setExpiry(slot: number, expiresAt: number): void {
    this.expiresAt[slot] = expiresAt;
    const pos = this.heapPos[slot] as number;
    if (!Number.isFinite(expiresAt)) {
      if (pos !== NONE) this.heapRemove(pos);
    } else if (pos === NONE) {
      const i = this.heapLength++;
      this.heap[i] = slot;
      this.heapPos[slot] = i;
      this.siftUp(i);
    } else {
      this.siftDown(this.siftUp(pos));
    }
  }

  /** Takes the slot out of the expiry order (a ghost, or a key being updated). */
  clearExpiry(slot: number): void {
    const pos = this.heapPos[slot] as number;
    if (pos !== NONE) this.heapRemove(pos);
  }

  /** The soonest-expiring slot if it is expired at `now`, else `NONE`. */
  peekExpired(now: number): number {
    if (this.heapLength === 0) return NONE;
    const slot = this.heap[0] as number;
    return (this.expiresAt[slot] as number) <= now ? slot : NONE;
  }

  /** The soonest-expiring slot with a finite expiry, else `NONE`. */
  soonest(): number {
    return this.heapLength === 0 ? NONE : (this.heap[0] as number);
  }

  private grow(): void {
    const capacity = Math.max(16, this.capacity * 2);
    this.capacity = capacity;
    this.size = grown(this.size, capacity);
    this.expiresAt = grown(this.expiresAt, capacity);
    this.priority = grown(this.priority, capacity);
    this.cost = grown(this.cost, capacity);
    this.heapPos = grown(this.heapPos, capacity);
    this.resident = grown(this.resident, capacity);
    this.heap = grown(this.heap, capacity);
    for (const g of this.growers) g(capacity);
  }

  /** Heap order: sooner first, then by key. */
  private before(a: number, b: number): boolean {
    const ea = this.expiresAt[a] as number;
    const eb = this.expiresAt[b] as number;
    return ea < eb || (ea === eb && (this.keys[a] as string) < (this.keys[b] as string));
  }

  private heapRemove(pos: number): void {
    const removed = this.heap[pos] as number;
    this.heapPos[removed] = NONE;
    const last = this.heap[--this.heapLength] as number;
    if (pos === this.heapLength) return;
    this.heap[pos] = last;
    this.heapPos[last] = pos;
    this.siftDown(this.siftUp(pos));
  }

  private siftUp(pos: number): number {
    const heap = this.heap;
    const slot = heap[pos] as number;
    let i = pos;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as number;
      if (!this.before(slot, p)) break;
      heap[i] = p;
      this.heapPos[p] = i;
      i = parent;
    }
    heap[i] = slot;
    this.heapPos[slot] = i;
    return i;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const n = this.heapLength;
    const slot = heap[pos] as number;
    let i = pos;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.before(heap[child + 1] as number, heap[child] as number)) child++;
      const c = heap[child] as number;
      if (!this.before(c, slot)) break;
      heap[i] = c;
      this.heapPos[c] = i;
      i = child;
    }
    heap[i] = slot;
    this.heapPos[slot] = i;
  }
}

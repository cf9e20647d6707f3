/**
 * SIEVE (Zhang, Yang, Yue, Vigfusson & Rashmi, NSDI'24): one FIFO queue, a
 * visited bit per entry and a hand. A hit only sets the bit (no reordering,
 * the cheapest hit of all policies here). To evict, the hand walks from the
 * oldest entry towards the newest, clearing set bits, and evicts the first
 * entry whose bit is clear; it stays there for the next eviction and wraps
 * to the oldest entry at the end. New entries join at the newest end.
 * SIEVE has no parameters; with sizes it evicts until the newcomer fits.
 *
 * @example
 * const sieve = new SievePolicy({ maxWeight: 1000 });
 */
import type { SavedResident } from './base-policy.ts';
import { grown, NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

interface SieveState {
  /** Oldest first. */
  entries: SavedResident[];
  /** Indexes into `entries` of the visited ones. */
  visited: number[];
  /** Index of the hand in `entries`, or null when it starts at the oldest. */
  hand: number | null;
}

export class SievePolicy extends TablePolicy {
  readonly name: string = 'sieve';
  /** Oldest (head) to newest (tail); the paper calls these tail and head. */
  private readonly queue = new SlotLists(this.table, 1);
  private visited = new Uint8Array(0);
  private hand = NONE;

  constructor(capacity: Capacity) {
    super(capacity);
    this.table.onGrow((c) => {
      this.visited = grown(this.visited, c);
    });
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): SievePolicy {
    const state = snapshot.state as SieveState;
    const sieve = new SievePolicy(capacity);
    const slots = state.entries.map((saved) => {
      const slot = sieve.table.load(saved);
      sieve.queue.pushBack(0, slot);
      sieve.admitted(slot);
      return slot;
    });
    for (const i of state.visited) sieve.visited[slots[i] as number] = 1;
    sieve.hand = state.hand === null ? NONE : (slots[state.hand] as number);
    return sieve;
  }

  snapshot(): PolicySnapshot {
    const state: SieveState = { entries: [], visited: [], hand: null };
    for (const slot of this.queue.slots(0)) {
      if (this.visited[slot] === 1) state.visited.push(state.entries.length);
      if (slot === this.hand) state.hand = state.entries.length;
      state.entries.push(this.table.save(slot));
    }
    return { name: this.name, version: 1, state };
  }

  protected onHit(slot: number): void {
    this.visited[slot] = 1;
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
    this.visited[slot] = 0;
    this.queue.pushBack(0, slot);
    this.admitted(slot);
  }

  /** A write is a hit: it keeps its place; the hand passes over it while room is made. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.visited[slot] = 1;
    this.queue.reweigh(slot, info.size);
    this.table.size[slot] = info.size;
    this.makeRoom(0, 0, now, evicted, slot);
    this.table.update(slot, info);
  }

  protected evictOne(evicted: string[], exclude: number): void {
    const { queue, visited } = this;
    let slot = this.hand === NONE ? (queue.head[0] as number) : this.hand;
    for (;;) {
      if (slot === NONE) {
        slot = queue.head[0] as number; // wrap around to the oldest
        if (slot === NONE) throw new Error('sieve: nothing to evict');
      }
      if (slot !== exclude) {
        if (visited[slot] === 0) break;
        visited[slot] = 0;
      }
      slot = queue.next(slot);
    }
    this.hand = queue.next(slot);
    queue.remove(slot);
    this.retire(slot, evicted);
    this.table.release(slot);
  }

  protected unlink(slot: number): void {
    if (this.hand === slot) this.hand = this.queue.next(slot);
    this.queue.remove(slot);
  }
}

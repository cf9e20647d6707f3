/**
 * ARC, Adaptive Replacement Cache (Megiddo & Modha, FAST'03, Fig. 4): two
 * resident LRU lists, T1 (seen once recently) and T2 (seen at least twice),
 * their ghost lists B1 and B2 (keys only), and a target `p` for T1 that a
 * ghost hit moves: a hit in B1 grows it, a hit in B2 shrinks it.
 *
 * Deliberate generalisation to sizes: every |X| of the paper is the summed
 * size of X and `c` is `maxWeight`, so with unit sizes this is the paper's
 * count-based ARC exactly (the traces README's golden values are reproduced).
 * With sizes, REPLACE runs repeatedly until the newcomer fits, the ghost
 * lists keep each key's size and stay within c (L1 = T1+B1 <= c and
 * L1+L2 <= 2c, by weight), and a ghost hit moves `p` by its size times the
 * paper's delta. `maxEntries`, if set, is one more reason to REPLACE.
 *
 * The paper's Case II-IV happen on `set` (the fetch): a `get` miss records
 * nothing, so a read that is never followed by a write does not move `p`.
 *
 * @example
 * const arc = new ArcPolicy({ maxWeight: 1000 });
 */
import type { SavedResident } from './base-policy.ts';
import { NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

const T1 = 0;
const T2 = 1;
const B1 = 2;
const B2 = 3;

interface ArcState {
  p: number;
  t1: SavedResident[];
  t2: SavedResident[];
  b1: Array<[key: string, size: number]>;
  b2: Array<[key: string, size: number]>;
}

export class ArcPolicy extends TablePolicy {
  readonly name: string = 'arc';
  private readonly lists = new SlotLists(this.table, 4);
  /** Target weight of T1. */
  private p = 0;
  /** True while REPLACE runs for a newcomer that hit in B2 (the paper's `x in B2`). */
  private incomingInB2 = false;

  static restore(snapshot: PolicySnapshot, capacity: Capacity): ArcPolicy {
    const state = snapshot.state as ArcState;
    const arc = new ArcPolicy(capacity);
    arc.p = state.p;
    for (const [list, saved] of [
      [T1, state.t1],
      [T2, state.t2],
    ] as const) {
      for (const r of saved) {
        const slot = arc.table.load(r);
        arc.lists.pushBack(list, slot);
        arc.admitted(slot);
      }
    }
    for (const [list, ghosts] of [
      [B1, state.b1],
      [B2, state.b2],
    ] as const) {
      for (const [key, size] of ghosts) {
        const slot = arc.table.alloc(key, { size, expiresAt: Number.POSITIVE_INFINITY });
        arc.lists.pushBack(list, slot);
      }
    }
    return arc;
  }

  snapshot(): PolicySnapshot {
    const { lists, table } = this;
    const ghosts = (list: number) =>
      [...lists.slots(list)].map((s): [string, number] => [
        table.keys[s] as string,
        table.size[s] as number,
      ]);
    const state: ArcState = {
      p: this.p,
      t1: [...lists.slots(T1)].map((s) => table.save(s)),
      t2: [...lists.slots(T2)].map((s) => table.save(s)),
      b1: ghosts(B1),
      b2: ghosts(B2),
    };
    return { name: this.name, version: 1, state };
  }

  /** Case I: a hit moves the key to the MRU end of T2. */
  protected onHit(slot: number): void {
    this.lists.moveToBack(T2, slot);
  }

  protected insert(
    key: string,
    ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void {
    const { lists, table } = this;
    const c = this.table.limits.maxWeight;
    const size = info.size;
    if (ghost !== NONE) {
      // Case II (B1) / III (B2): adapt p, REPLACE, move the key to T2.
      const b1 = lists.weight[B1] as number;
      const b2 = lists.weight[B2] as number;
      const g = table.size[ghost] as number;
      const inB2 = lists.owner(ghost) === B2;
      // The paper's delta, times the ghost's size (1 in count-based use).
      if (g > 0 && inB2) this.p = Math.max(0, this.p - g * (b2 >= b1 ? 1 : b1 / b2));
      else if (g > 0) this.p = Math.min(c, this.p + g * (b1 >= b2 ? 1 : b2 / b1));
      this.incomingInB2 = inB2;
      this.makeRoom(size, 1, now, evicted, NONE);
      this.incomingInB2 = false;
      lists.remove(ghost);
      table.update(ghost, info);
      lists.pushBack(T2, ghost);
      this.admitted(ghost);
      this.trimGhosts();
      return;
    }
    // Case IV: a complete miss. Expired entries go first, then the directory is
    // kept within L1 <= c and L1 + L2 <= 2c, then REPLACE makes room.
    for (let dead = table.peekExpired(now); dead !== NONE && this.overLimits(size); ) {
      evicted.push(table.keys[dead] as string);
      this.drop(dead);
      dead = table.peekExpired(now);
    }
    while ((lists.weight[T1] as number) + (lists.weight[B1] as number) + size > c) {
      if (lists.length[B1] !== 0) this.forget(lists.head[B1] as number);
      else if (lists.length[T1] !== 0) {
        // Case IV.A with B1 empty: T1 alone is full; its LRU page leaves without a ghost.
        const victim = lists.head[T1] as number;
        lists.remove(victim);
        this.retire(victim, evicted);
        table.release(victim);
      } else break;
    }
    while (this.directoryWeight() + size > 2 * c && lists.length[B2] !== 0) {
      this.forget(lists.head[B2] as number);
    }
    this.makeRoom(size, 1, now, evicted, NONE);
    const slot = table.alloc(key, info);
    lists.pushBack(T1, slot);
    this.admitted(slot);
  }

  /** A write to a resident is a hit (Case I); if it grew, REPLACE makes room. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.lists.remove(slot);
    this.table.count--;
    this.table.weight -= info.size;
    this.makeRoom(info.size, 1, now, evicted, NONE);
    this.table.update(slot, info);
    this.lists.pushBack(T2, slot);
    this.admitted(slot);
    this.trimGhosts();
  }

  /** REPLACE(x, p): demote the LRU of T1 to B1 if T1 exceeds its target, else T2's to B2. */
  protected evictOne(evicted: string[]): void {
    const lists = this.lists;
    const t1 = lists.weight[T1] as number;
    const fromT1 =
      lists.length[T1] !== 0 &&
      (t1 > this.p || (this.incomingInB2 && t1 >= this.p) || lists.length[T2] === 0);
    const victim = lists.head[fromT1 ? T1 : T2] as number;
    lists.remove(victim);
    this.retire(victim, evicted);
    lists.pushBack(fromT1 ? B1 : B2, victim);
  }

  protected unlink(slot: number): void {
    this.lists.remove(slot);
  }

  protected override afterResize(): void {
    this.p = Math.min(this.p, this.table.limits.maxWeight);
    this.trimGhosts();
  }

  private overLimits(size: number): boolean {
    const { maxWeight, maxEntries } = this.table.limits;
    return (
      this.table.weight + size > maxWeight ||
      (maxEntries !== undefined && this.table.count + 1 > maxEntries)
    );
  }

  private directoryWeight(): number {
    const w = this.lists.weight;
    return (w[T1] as number) + (w[T2] as number) + (w[B1] as number) + (w[B2] as number);
  }

  /** Keeps the ghost lists within L1 <= c and L1 + L2 <= 2c. */
  private trimGhosts(): void {
    const lists = this.lists;
    const c = this.table.limits.maxWeight;
    while ((lists.weight[T1] as number) + (lists.weight[B1] as number) > c && lists.length[B1]) {
      this.forget(lists.head[B1] as number);
    }
    while (this.directoryWeight() > 2 * c && lists.length[B2] !== 0) {
      this.forget(lists.head[B2] as number);
    }
    while (this.directoryWeight() > 2 * c && lists.length[B1] !== 0) {
      this.forget(lists.head[B1] as number);
    }
  }

  /** Drops a ghost. */
  private forget(slot: number): void {
    this.lists.remove(slot);
    this.table.release(slot);
  }
}

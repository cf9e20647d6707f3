/**
 * LIRS, Low Inter-reference Recency Set (Jiang & Zhang, SIGMETRICS'02):
 * entries with a short reuse distance (LIR) hold 99% of the capacity; the
 * rest holds resident HIR entries in a FIFO queue Q, the only place victims
 * come from. Stack S orders LIR, resident HIR and non-resident HIR (ghost)
 * entries by recency; its bottom is always LIR (stack pruning). An HIR entry
 * re-referenced while still in S has a reuse distance shorter than the
 * oldest LIR's, so it becomes LIR and that oldest LIR is demoted to Q.
 *
 * Deviations, all documented options or size generalisations:
 * - The paper leaves stack S unbounded. Here the non-resident entries in S
 *   are bounded (`nonResident`, default 3 x maxWeight by weight); over the
 *   bound the one that became non-resident longest ago leaves S, as in
 *   Caffeine's simulator and the authors' reference code. `nonResident:
 *   Infinity` is the paper's unbounded stack (the golden-value tests use it).
 * - Sizes: the LIR budget is `maxWeight - hirShare x maxWeight` by weight, an
 *   entry larger than it stays HIR, and when Q is empty but room is needed
 *   the bottom LIR is demoted to Q first. With unit sizes this is the paper.
 * - A miss records nothing on `get`; Case 3 of the paper happens on `set`.
 *
 * @example
 * const lirs = new LirsPolicy({ maxWeight: 1000 }); // 10 entries of HIR space
 */
import type { SavedResident } from './base-policy.ts';
import { grown, NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

export interface LirsOptions {
  /** Share of the capacity for resident HIR entries; default 0.01 (the paper's 1%). */
  hirShare?: number;
  /** Bound on non-resident entries in S, times `maxWeight`; default 3, `Infinity` for none. */
  nonResident?: number;
}

const LIR = 1;
const HIR = 2;
const GHOST = 3;

interface LirsState {
  hirShare: number;
  /** `null` is an unbounded stack (`Infinity` is not JSON). */
  nonResident: number | null;
  residents: SavedResident[];
  lir: string[];
  /** Non-resident entries, oldest first, with their sizes. */
  ghosts: Array<[key: string, size: number]>;
  /** Stack S, bottom to top. */
  s: string[];
  /** Queue Q, front (next victim) to end. */
  q: string[];
}

export class LirsPolicy extends TablePolicy {
  readonly name: string = 'lirs';
  private readonly hirShare: number;
  private readonly nonResident: number;
  private readonly s = new SlotLists(this.table, 1);
  private readonly q = new SlotLists(this.table, 1);
  /** Non-resident entries in the order they became so (for the bound). */
  private readonly nr = new SlotLists(this.table, 1);
  private status = new Uint8Array(0);
  private lirWeight = 0;
  private lirLimit = 0;

  constructor(capacity: Capacity, options: LirsOptions = {}) {
    super(capacity);
    this.hirShare = options.hirShare ?? 0.01;
    this.nonResident = options.nonResident ?? 3;
    this.table.onGrow((c) => {
      this.status = grown(this.status, c);
    });
    this.afterResize();
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): LirsPolicy {
    const st = snapshot.state as LirsState;
    const lirs = new LirsPolicy(capacity, {
      hirShare: st.hirShare,
      nonResident: st.nonResident ?? Number.POSITIVE_INFINITY,
    });
    const table = lirs.table;
    for (const saved of st.residents) {
      const slot = table.load(saved);
      lirs.status[slot] = HIR;
      lirs.admitted(slot);
    }
    for (const key of st.lir) {
      const slot = table.index.get(key) as number;
      lirs.status[slot] = LIR;
      lirs.lirWeight += table.size[slot] as number;
    }
    for (const [key, size] of st.ghosts) {
      const slot = table.alloc(key, { size, expiresAt: Number.POSITIVE_INFINITY });
      lirs.status[slot] = GHOST;
      lirs.nr.pushBack(0, slot);
    }
    for (const key of st.s) lirs.s.pushBack(0, table.index.get(key) as number);
    for (const key of st.q) lirs.q.pushBack(0, table.index.get(key) as number);
    return lirs;
  }

  snapshot(): PolicySnapshot {
    const { table, status } = this;
    const keysOf = (lists: SlotLists) => [...lists.slots(0)].map((s) => table.keys[s] as string);
    const residents: SavedResident[] = [];
    const lir: string[] = [];
    for (const slot of table.index.values()) {
      if (status[slot] === GHOST) continue;
      residents.push(table.save(slot));
      if (status[slot] === LIR) lir.push(table.keys[slot] as string);
    }
    const state: LirsState = {
      hirShare: this.hirShare,
      nonResident: Number.isFinite(this.nonResident) ? this.nonResident : null,
      residents,
      lir,
      ghosts: [...this.nr.slots(0)].map((s) => [table.keys[s] as string, table.size[s] as number]),
      s: keysOf(this.s),
      q: keysOf(this.q),
    };
    return { name: this.name, version: 1, state };
  }

  protected onHit(slot: number): void {
    const s = this.s;
    if (this.status[slot] === LIR) {
      // Case 1: move to the top; if it was the bottom, prune.
      const bottom = s.head[0] === slot;
      s.moveToBack(0, slot);
      if (bottom) this.prune();
    } else if (s.owner(slot) !== NONE && (this.table.size[slot] as number) <= this.lirLimit) {
      // Case 2a: a resident HIR still in S turns LIR; the bottom LIR goes to Q.
      this.q.remove(slot);
      this.makeLir(slot);
    } else {
      // Case 2b: it stays HIR, at the top of S and the end of Q.
      s.moveToBack(0, slot);
      this.q.moveToBack(0, slot);
    }
  }

  protected insert(
    key: string,
    ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void {
    const table = this.table;
    // Out of the non-resident bound while room is made, so the bound cannot drop it.
    if (ghost !== NONE) this.nr.remove(ghost);
    this.makeRoom(info.size, 1, now, evicted, NONE);
    // Demotion and pruning while making room may have dropped the ghost (its
    // status is then 0; nothing is allocated meanwhile, so the slot is not reused).
    let slot = ghost !== NONE && this.status[ghost] === GHOST ? ghost : NONE;
    if (slot !== NONE) {
      // Case 3a: a non-resident entry still in S.
      this.s.reweigh(slot, info.size);
      table.update(slot, info);
      this.admitted(slot);
      if (info.size <= this.lirLimit) this.makeLir(slot);
      else this.makeHir(slot);
    } else {
      slot = table.alloc(key, info);
      this.admitted(slot);
      if (this.lirWeight + info.size <= this.lirLimit) {
        // The LIR set is not full yet: every new entry is LIR.
        this.status[slot] = LIR;
        this.lirWeight += info.size;
        this.s.pushBack(0, slot);
      } else {
        // Case 3b: HIR, at the top of S and the end of Q.
        this.makeHir(slot);
      }
    }
    // Only matters when nothing is LIR (a tiny LIR budget): S then keeps no HIR entries.
    this.prune();
    this.boundNonResident();
  }

  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    const table = this.table;
    this.onHit(slot);
    const old = table.size[slot] as number;
    this.s.reweigh(slot, info.size);
    this.q.reweigh(slot, info.size);
    table.size[slot] = info.size;
    if (this.status[slot] === LIR) {
      this.lirWeight += info.size - old;
      this.demoteOverflow();
    }
    this.makeRoom(0, 0, now, evicted, slot);
    table.update(slot, info);
    this.boundNonResident();
  }

  /** Evicts the front of Q; with Q empty, the bottom LIR is demoted first. */
  protected evictOne(evicted: string[], exclude: number): void {
    const { s, q } = this;
    let victim = q.head[0] as number;
    if (victim !== NONE && victim === exclude) victim = q.next(victim);
    while (victim === NONE) {
      const bottom = s.head[0] as number;
      if (bottom === NONE || bottom === exclude) throw new Error('lirs: nothing to evict');
      this.demote(bottom);
      this.prune();
      victim = q.head[0] as number;
      if (victim !== NONE && victim === exclude) victim = q.next(victim);
    }
    q.remove(victim);
    this.retire(victim, evicted);
    if (s.owner(victim) !== NONE) {
      // It stays in S as a non-resident entry, remembering its recency.
      this.status[victim] = GHOST;
      this.nr.pushBack(0, victim);
    } else {
      this.status[victim] = 0;
      this.table.release(victim);
    }
  }

  protected unlink(slot: number): void {
    if (this.status[slot] === LIR) {
      const bottom = this.s.head[0] === slot;
      this.s.remove(slot);
      this.lirWeight -= this.table.size[slot] as number;
      if (bottom) this.prune();
    } else {
      this.q.remove(slot);
      this.s.remove(slot);
    }
    this.status[slot] = 0;
  }

  protected override afterResize(): void {
    const c = this.table.limits.maxWeight;
    this.lirLimit = c - Math.max(1, Math.round(c * this.hirShare));
    this.demoteOverflow();
    this.boundNonResident();
  }

  /** Makes `slot` (resident, not in Q) LIR at the top of S, demoting the bottom LIRs over budget. */
  private makeLir(slot: number): void {
    this.status[slot] = LIR;
    this.lirWeight += this.table.size[slot] as number;
    this.s.moveToBack(0, slot);
    this.demoteOverflow();
    this.prune();
  }

  private makeHir(slot: number): void {
    this.status[slot] = HIR;
    this.s.moveToBack(0, slot);
    this.q.pushBack(0, slot);
  }

  private demoteOverflow(): void {
    while (this.lirWeight > this.lirLimit) {
      this.prune();
      const bottom = this.s.head[0] as number;
      if (bottom === NONE) return;
      this.demote(bottom);
    }
    this.prune();
  }

  /** The bottom LIR leaves S and becomes a resident HIR at the end of Q. */
  private demote(slot: number): void {
    this.s.remove(slot);
    this.status[slot] = HIR;
    this.lirWeight -= this.table.size[slot] as number;
    this.q.pushBack(0, slot);
  }

  /** Stack pruning: removes HIR entries from the bottom of S until an LIR entry is there. */
  private prune(): void {
    const s = this.s;
    for (let bottom = s.head[0] as number; bottom !== NONE; bottom = s.head[0] as number) {
      const st = this.status[bottom];
      if (st === LIR) return;
      s.remove(bottom);
      if (st === GHOST) {
        this.nr.remove(bottom);
        this.status[bottom] = 0;
        this.table.release(bottom);
      }
    }
  }

  private boundNonResident(): void {
    const limit = this.nonResident * this.table.limits.maxWeight;
    const nr = this.nr;
    while ((nr.weight[0] as number) > limit) {
      const oldest = nr.head[0] as number;
      nr.remove(oldest);
      this.s.remove(oldest);
      this.status[oldest] = 0;
      this.table.release(oldest);
    }
  }
}

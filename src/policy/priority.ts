/**
 * `priority`: business priority on top of GreedyDual-Size-Frequency
 * (Cherkasova, HP Labs TR HPL-98-69, 1998; Jin & Bestavros, "Popularity-aware
 * GreedyDual-Size", 2000). Each resident has
 *
 *   H = L + frequency × cost × classWeight(priority) / size
 *
 * and the smallest H goes first (the oldest among equals). L, the inflation
 * value, becomes the H of each victim, so an entry that stops being read
 * sinks below newcomers as L rises past it: a costly entry is kept for
 * longer, not for ever. A hit re-ranks from the current L, as GDSF does.
 *
 * `priority` (`EntryInfo.priority`, set per namespace or by a `Cache-Priority`
 * header on the write) is a class 0–3, default 1. Each class is worth four
 * times the one below, so class 3 holds on 64× as long as class 0 at equal
 * cost, size and frequency:
 *
 *   class        0     1 (default)   2     3
 *   classWeight  0.25  1             4     16
 *
 * Other values are rounded and clamped to 0–3. `cost` (default 1) is the cost
 * of a miss in any consistent unit (origin milliseconds, money); `size` is
 * bytes in the shard, 1 in count-based simulations (then it is LFU with
 * dynamic aging weighted by cost and class). Deviation from the papers:
 * frequency counts reads since admission and is kept across updates (an
 * update is an access); sizes below 1 count as 1.
 *
 * Residents live in the shared slot table (`table-policy.ts`), ordered by
 * (H, seq) in an indexed heap of typed arrays (`rank-heap.ts`), where seq
 * numbers the accesses, so a hit is one Map lookup and a sift, with no
 * allocation. As in GDSF, a newcomer is ranked before the victims are
 * chosen around it (it goes last, if at all), and an entry being written
 * may itself leave as expired.
 *
 * @example
 * const policy = new PriorityPolicy({ maxWeight: 64 * 1024 * 1024 });
 * policy.set('model:answer', { size: 400_000, expiresAt, cost: 2_000, priority: 3 }, now);
 */
import type { SavedResident } from './base-policy.ts';
import { grown, NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { overCapacity } from './policy.ts';
import { RankHeap } from './rank-heap.ts';
import { TablePolicy } from './table-policy.ts';

/** classWeight by priority class 0–3 (see the module comment). */
export const CLASS_WEIGHTS: readonly number[] = [0.25, 1, 4, 16];

export function classWeight(priority: number): number {
  const cls = Math.min(3, Math.max(0, Math.round(priority)));
  return CLASS_WEIGHTS[Number.isNaN(cls) ? 1 : cls] as number;
}

/** Snapshot state, version 1. */
interface PriorityState {
  /** [resident, H, frequency, seq], in no particular order. */
  entries: [SavedResident, number, number, number][];
  inflation: number;
  nextSeq: number;
}

export class PriorityPolicy extends TablePolicy {
  readonly name: string = 'priority';
  /** Residents by (H, seq): `heap.rank(slot)` is the slot's H. */
  private readonly heap = new RankHeap();
  /** Per slot: reads since admission, plus writes. */
  private freq = new Float64Array(0);
  /** Per slot: `classWeight` of its priority, kept so a hit does not recompute it. */
  private classWeightOf = new Float64Array(0);
  /** L: the H of the last victim. */
  private inflation = 0;
  private nextSeq = 0;

  constructor(capacity: Capacity) {
    super(capacity);
    this.table.onGrow((c) => {
      this.freq = grown(this.freq, c);
      this.classWeightOf = grown(this.classWeightOf, c);
    });
  }

  /** The current inflation value L (for tests and the simulator). */
  get aging(): number {
    return this.inflation;
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): PriorityPolicy {
    const policy = new PriorityPolicy(capacity);
    const state = snapshot.state as PriorityState;
    for (const [saved, h, freq, seq] of state.entries) {
      const slot = policy.table.load(saved);
      policy.classWeightOf[slot] = classWeight(policy.table.priority[slot] as number);
      policy.freq[slot] = freq;
      policy.heap.push(slot, h, seq);
      policy.admitted(slot);
    }
    policy.inflation = state.inflation;
    policy.nextSeq = state.nextSeq;
    return policy;
  }

  snapshot(): PolicySnapshot {
    const entries: PriorityState['entries'] = [];
    for (const slot of this.heap.ids()) {
      entries.push([
        this.table.save(slot),
        this.heap.rank(slot),
        this.freq[slot] as number,
        this.heap.seq(slot),
      ]);
    }
    const state: PriorityState = { entries, inflation: this.inflation, nextSeq: this.nextSeq };
    return { name: this.name, version: 1, state };
  }

  /** Among equal H, the most recently used goes last: a fresh seq, then H from the current L. */
  protected onHit(slot: number): void {
    this.freq[slot] = (this.freq[slot] as number) + 1;
    const seq = this.nextSeq++;
    this.heap.update(slot, this.score(slot), seq);
  }

  /** The newcomer is ranked first; the victims are the smallest (H, seq) other than it. */
  protected insert(
    key: string,
    _ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void {
    const t = this.table;
    const slot = t.alloc(key, info);
    this.classWeightOf[slot] = classWeight(t.priority[slot] as number);
    this.freq[slot] = 1;
    const seq = this.nextSeq++;
    const rank = this.score(slot);
    this.admitted(slot);
    if (
      this.heap.size > 0 &&
      t.peekExpired(now) === NONE &&
      overCapacity(t.limits, t.weight, t.count)
    ) {
      // The usual miss of a full cache. The first victim is the smallest
      // (H, seq) other than the newcomer's, which is the root as it stands:
      // evict it and put the newcomer in its place with one sift instead of two.
      const victim = this.heap.peek();
      this.age(victim);
      this.heap.replaceRoot(slot, rank, seq);
      this.retire(victim, evicted);
      t.release(victim);
    } else {
      this.heap.push(slot, rank, seq);
    }
    this.makeRoom(0, 0, now, evicted, slot);
  }

  /**
   * A write is an access, ranked with the new cost, class and size. The new
   * expiry counts at once, as GDSF's "expired first" sees it: an entry
   * written already expired is the first to go.
   */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.table.update(slot, info);
    this.classWeightOf[slot] = classWeight(this.table.priority[slot] as number);
    this.onHit(slot);
    this.makeRoom(0, 0, now, evicted, slot);
  }

  /** Evicts the smallest H other than `exclude` (the entry being written), or it if nothing else is left. */
  protected evictOne(evicted: string[], exclude: number): void {
    let victim = this.heap.peekExcept(exclude);
    if (victim === NONE) victim = exclude;
    if (victim === NONE || this.table.resident[victim] !== 1) {
      throw new Error('priority: nothing to evict');
    }
    this.age(victim);
    this.heap.remove(victim);
    this.retire(victim, evicted);
    this.table.release(victim);
  }

  protected unlink(slot: number): void {
    this.heap.remove(slot);
  }

  /** GDSF aging: L rises to the victim's H, and never decreases (a re-ranked entry may sit below it). */
  private age(victim: number): void {
    const h = this.heap.rank(victim);
    if (h > this.inflation) this.inflation = h;
  }

  /** H for the slot's frequency, from the current L and its info. */
  private score(slot: number): number {
    const t = this.table;
    return (
      this.inflation +
      ((this.freq[slot] as number) *
        (t.cost[slot] as number) *
        (this.classWeightOf[slot] as number)) /
        Math.max(t.size[slot] as number, 1)
    );
  }
}

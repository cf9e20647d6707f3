/**
 * `learned`: eviction that trains online on the access stream, as
 * regret-weighted experts (LeCaR, Vietri et al., HotStorage 2018; CACHEUS,
 * Rodriguez et al., FAST 2021). Three experts rank the same residents:
 *
 *   LRU     the least recently used entry
 *   LFU     the least frequently used, oldest first among equals
 *   CR-LFU  the least frequently used, newest first among equals (CACHEUS's
 *           churn-resistant LFU: in a loop larger than the cache it keeps the
 *           old keys and lets the newcomers churn)
 *
 * Half the evictions are made by the leading expert, the other half by one
 * sampled by weight (seeded PRNG, see expert-weights.ts). The evicted key becomes a ghost in the history of every
 * expert that would have chosen it (none if all agree, as in LeCaR); writing
 * a ghost key back lowers those experts' weights, discounted by the ghost's
 * age, and re-admits it with its old frequency + 1 (LeCaR).
 *
 * Deviations from the papers, each chosen by replaying ../shared/traces
 * (README "Reference values"): three experts instead of two (LFU with LRU
 * tie-break wins oltp and scarab-recs, CR-LFU wins loop, glimpse and
 * multi2); ghost histories of 2N per expert instead of N/2, so loops up to
 * about 3N long are learned (loop at 256: 0% with N/2, 18% with 2N);
 * importance-weighted penalties and a 1e-4 weight floor (expert-weights.ts).
 * Time is a logical clock of hits and writes, never `now`, so a stream gives
 * the same decisions in the shard, the isolate hot set and the simulator.
 * N is the number of resident entries.
 *
 * Residents and ghosts share one `EntryTable` (one Map lookup a request);
 * the recency list, the frequency buckets and the three ghost FIFOs are
 * intrusive lists over its slots.
 *
 * @example
 * const policy = new LearnedPolicy({ maxWeight: 64 * 1024 * 1024 });
 * if (!policy.get(key, now)) policy.set(key, { size, expiresAt }, now);
 */
import type { SavedResident } from './base-policy.ts';
import { grown, NONE } from './entry-table.ts';
import { ExpertWeights, type SavedWeights } from './expert-weights.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { RankBuckets } from './rank-buckets.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

const LRU = 0;
const LFU = 1;
const CR_LFU = 2;
const EXPERTS = 3;
const ALL_EXPERTS = (1 << EXPERTS) - 1;
/** Ghosts remembered per expert, in multiples of the resident count. */
const HISTORY_FACTOR = 2;

/** A ghost as JSON-safe data: [key, tick of eviction, frequency, chance of the eviction]. */
type SavedGhost = [key: string, tick: number, freq: number, chance: number];

/** Snapshot state, version 1. */
interface LearnedState {
  /** Least recently used first, each with its frequency. */
  entries: [SavedResident, number][];
  /** Per expert, oldest ghost first. */
  ghosts: SavedGhost[][];
  learner: SavedWeights;
  tick: number;
}

export class LearnedPolicy extends TablePolicy {
  readonly name: string = 'learned';
  /** Residents, least recently used first (list 0). */
  private readonly recency = new SlotLists(this.table, 1);
  /** Residents by frequency: `buckets.rank[slot]` is the slot's frequency (a ghost keeps it). */
  private readonly buckets = new RankBuckets(this.table);
  /** One ghost FIFO per expert (list 0 of each); a ghost may be on several. */
  private readonly ghosts: SlotLists[] = [];
  private ghostTick = new Float64Array(0);
  private ghostChance = new Float64Array(0);
  private readonly learner = new ExpertWeights(EXPERTS);
  /** Logical clock: one tick per hit or write. */
  private tick = 0;

  constructor(capacity: Capacity) {
    super(capacity);
    for (let e = 0; e < EXPERTS; e++) this.ghosts.push(new SlotLists(this.table, 1));
    this.table.onGrow((c) => {
      this.ghostTick = grown(this.ghostTick, c);
      this.ghostChance = grown(this.ghostChance, c);
    });
  }

  /** The current probability of each expert: [LRU, LFU, CR-LFU]. */
  get weights(): number[] {
    return [LRU, LFU, CR_LFU].map((e) => this.learner.weight(e));
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): LearnedPolicy {
    const policy = new LearnedPolicy(capacity);
    const state = snapshot.state as LearnedState;
    const table = policy.table;
    for (const [saved, freq] of state.entries) {
      const slot = table.load(saved);
      policy.recency.pushBack(0, slot);
      policy.buckets.add(slot, freq);
      policy.admitted(slot);
    }
    for (const [e, saved] of state.ghosts.entries()) {
      for (const [key, tick, freq, chance] of saved) {
        // A ghost on several experts' lists is one slot.
        let slot = table.index.get(key) ?? NONE;
        if (slot === NONE)
          slot = table.alloc(key, { size: 1, expiresAt: Number.POSITIVE_INFINITY });
        policy.ghostTick[slot] = tick;
        policy.ghostChance[slot] = chance;
        policy.buckets.rank[slot] = freq;
        policy.ghosts[e]?.pushBack(0, slot);
      }
    }
    policy.learner.load(state.learner);
    policy.tick = state.tick;
    return policy;
  }

  snapshot(): PolicySnapshot {
    const entries: LearnedState['entries'] = [];
    for (const slot of this.recency.slots(0))
      entries.push([this.table.save(slot), this.buckets.rank[slot] as number]);
    const ghosts = this.ghosts.map((lists) =>
      Array.from(
        lists.slots(0),
        (slot): SavedGhost => [
          this.table.keys[slot] as string,
          this.ghostTick[slot] as number,
          this.buckets.rank[slot] as number,
          this.ghostChance[slot] as number,
        ],
      ),
    );
    const state: LearnedState = { entries, ghosts, learner: this.learner.save(), tick: this.tick };
    return { name: this.name, version: 1, state };
  }

  protected onHit(slot: number): void {
    this.tick++;
    this.recency.moveToBack(0, slot);
    this.buckets.move(slot, (this.buckets.rank[slot] as number) + 1);
  }

  protected insert(
    key: string,
    ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void {
    this.tick++;
    let freq = 1;
    if (ghost !== NONE) {
      // Off the ghost lists first, so making room cannot trim it away.
      let mask = 0;
      for (let e = 0; e < EXPERTS; e++) {
        const lists = this.ghosts[e] as SlotLists;
        if (lists.owner(ghost) === NONE) continue;
        lists.remove(ghost);
        mask |= 1 << e;
      }
      const age = this.tick - (this.ghostTick[ghost] as number);
      this.learner.penalise(mask, age, this.table.count, this.ghostChance[ghost] as number);
      freq = (this.buckets.rank[ghost] as number) + 1;
    }
    this.makeRoom(info.size, 1, now, evicted, NONE);
    let slot = ghost;
    if (slot === NONE) slot = this.table.alloc(key, info);
    else this.table.update(slot, info);
    this.recency.pushBack(0, slot);
    this.buckets.add(slot, freq);
    this.admitted(slot);
  }

  /** A write is an access; the entry is out of every order while room is made. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.tick++;
    this.unlink(slot);
    this.table.count--;
    this.table.weight -= info.size;
    this.makeRoom(info.size, 1, now, evicted, NONE);
    this.table.update(slot, info);
    this.recency.pushBack(0, slot);
    this.buckets.add(slot, (this.buckets.rank[slot] as number) + 1);
    this.admitted(slot);
  }

  protected evictOne(evicted: string[]): void {
    const byRecency = this.recency.head[0] as number;
    const least = this.buckets.lowest();
    const byFrequency = this.buckets.oldest(least);
    const byChurn = this.buckets.newest(least);
    const expert = this.learner.sample();
    const pick = expert === LRU ? byRecency : expert === LFU ? byFrequency : byChurn;
    const mask =
      (byRecency === pick ? 1 << LRU : 0) |
      (byFrequency === pick ? 1 << LFU : 0) |
      (byChurn === pick ? 1 << CR_LFU : 0);
    this.unlink(pick);
    this.retire(pick, evicted);
    if (mask === ALL_EXPERTS) {
      // Every expert agreed: no regret to learn from later (LeCaR).
      this.table.release(pick);
      return;
    }
    this.ghostTick[pick] = this.tick;
    this.ghostChance[pick] = this.learner.chance(mask);
    const limit = Math.max(1, HISTORY_FACTOR * this.table.count);
    for (let e = 0; e < EXPERTS; e++) {
      if ((mask & (1 << e)) === 0) continue;
      const lists = this.ghosts[e] as SlotLists;
      while ((lists.length[0] as number) >= limit) this.forget(lists, lists.head[0] as number);
      lists.pushBack(0, pick);
    }
  }

  protected unlink(slot: number): void {
    this.recency.remove(slot);
    this.buckets.remove(slot);
  }

  /** Drops the oldest ghost of one expert; the slot goes once no expert remembers it. */
  private forget(lists: SlotLists, slot: number): void {
    lists.remove(slot);
    for (const other of this.ghosts) if (other.owner(slot) !== NONE) return;
    this.table.release(slot);
  }
}

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
 * @example
 * const policy = new PriorityPolicy({ maxWeight: 64 * 1024 * 1024 });
 * policy.set('model:answer', { size: 400_000, expiresAt, cost: 2_000, priority: 3 }, now);
 */
import type { Resident, SavedResident } from './base-policy.ts';
import { BasePolicy, loadResident, saveResident } from './base-policy.ts';
import type { Capacity, PolicySnapshot } from './policy.ts';
import { RankHeap, type RankNode } from './rank-heap.ts';

/** classWeight by priority class 0–3 (see the module comment). */
export const CLASS_WEIGHTS: readonly number[] = [0.25, 1, 4, 16];

export function classWeight(priority: number): number {
  const cls = Math.min(3, Math.max(0, Math.round(priority)));
  return CLASS_WEIGHTS[Number.isNaN(cls) ? 1 : cls] as number;
}

interface Node extends RankNode {
  key: string;
  freq: number;
}

/** Snapshot state, version 1. */
interface PriorityState {
  /** [resident, H, frequency, seq], in no particular order. */
  entries: [SavedResident, number, number, number][];
  inflation: number;
  nextSeq: number;
}

export class PriorityPolicy extends BasePolicy {
  readonly name: string = 'priority';
  private readonly nodes = new Map<string, Node>();
  private readonly heap = new RankHeap<Node>();
  /** L: the H of the last victim. */
  private inflation = 0;
  private nextSeq = 0;
  private spare: Node | null = null;
  /** Set while `restore` re-inserts residents: [H, frequency, seq]. */
  private restoring: [number, number, number] | undefined;

  /** The current inflation value L (for tests and the simulator). */
  get aging(): number {
    return this.inflation;
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): PriorityPolicy {
    const policy = new PriorityPolicy(capacity);
    const state = snapshot.state as PriorityState;
    for (const [saved, h, freq, seq] of state.entries) {
      policy.restoring = [h, freq, seq];
      policy.restoreResident(...loadResident(saved));
    }
    policy.restoring = undefined;
    policy.inflation = state.inflation;
    policy.nextSeq = state.nextSeq;
    return policy;
  }

  snapshot(): PolicySnapshot {
    const entries: PriorityState['entries'] = [];
    for (const n of this.heap.values())
      entries.push([saveResident(n.key, this.info(n.key) as Resident), n.rank, n.freq, n.seq]);
    const state: PriorityState = { entries, inflation: this.inflation, nextSeq: this.nextSeq };
    return { name: this.name, version: 1, state };
  }

  protected onInsert(key: string): void {
    const node = this.spare ?? { key, freq: 1, rank: 0, seq: 0, index: -1 };
    this.spare = null;
    node.key = key;
    if (this.restoring !== undefined) {
      [node.rank, node.freq, node.seq] = this.restoring;
    } else {
      node.freq = 1;
      node.seq = this.nextSeq++;
      node.rank = this.score(key, 1);
    }
    this.nodes.set(key, node);
    this.heap.push(node);
  }

  protected onHit(key: string): void {
    const node = this.nodes.get(key) as Node;
    node.freq++;
    // Among equal H, the most recently used goes last.
    node.seq = this.nextSeq++;
    node.rank = this.score(key, node.freq);
    this.heap.update(node);
  }

  protected onRemove(key: string): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    this.nodes.delete(key);
    this.heap.remove(node);
    this.spare = node;
  }

  protected victim(incoming: string | undefined): string {
    const held = incoming === undefined ? undefined : this.nodes.get(incoming);
    const node = this.heap.peekExcept(held) ?? (held as Node);
    // GDSF aging: L never decreases (a re-ranked entry may sit below it).
    if (node.rank > this.inflation) this.inflation = node.rank;
    return node.key;
  }

  /** H for a resident of this frequency, from the current L and its info. */
  private score(key: string, freq: number): number {
    const r = this.info(key) as Resident;
    return this.inflation + (freq * r.cost * classWeight(r.priority)) / Math.max(r.size, 1);
  }
}

/**
 * An indexed binary min-heap of small non-negative integer ids (table slots,
 * bucket numbers) by (rank, seq): the smallest rank first, the smaller `seq`
 * first among equal ranks. Callers keep (rank, seq) unique and ranks not
 * NaN, so the order is total: which id is smallest never depends on the
 * heap's layout, and a restored heap decides exactly like the original. Used by
 * GreedyDual-Size-Frequency (priority.ts, slots by H and recency) and for
 * the frequency buckets of LFU-DA and the learned policy (bucket numbers by
 * frequency, seq unused).
 *
 * Layout: the rank, seq and id of each heap position sit in three typed
 * arrays in heap order, so a sift compares neighbouring memory; `pos` maps
 * an id to its position, so re-ranking or removing an id is O(log n) without
 * a search. The arrays grow by doubling; nothing is allocated per call.
 *
 * @example
 * const heap = new RankHeap();
 * heap.push(7, 3, 0);
 * heap.peek(); // 7
 */
import { grown, NONE } from './entry-table.ts';

export class RankHeap {
  /** By heap position: rank, seq and id. */
  private ranks = new Float64Array(16);
  private seqs = new Float64Array(16);
  private idAt = new Int32Array(16);
  /** By id: its heap position, or `NONE`. */
  private pos = new Int32Array(16).fill(NONE);
  private length = 0;

  get size(): number {
    return this.length;
  }

  rank(id: number): number {
    return this.ranks[this.pos[id] as number] as number;
  }

  seq(id: number): number {
    return this.seqs[this.pos[id] as number] as number;
  }

  /** The smallest id, or `NONE`. */
  peek(): number {
    return this.length === 0 ? NONE : (this.idAt[0] as number);
  }

  /** The smallest id that is not `skip` (the root's smaller child if the root is `skip`), or `NONE`. */
  peekExcept(skip: number): number {
    if (this.length === 0) return NONE;
    const root = this.idAt[0] as number;
    if (root !== skip) return root;
    if (this.length < 3) return this.length === 2 ? (this.idAt[1] as number) : NONE;
    return this.less(2, 1) ? (this.idAt[2] as number) : (this.idAt[1] as number);
  }

  /** Adds `id`, which must not be in the heap. */
  push(id: number, rank: number, seq: number): void {
    if (id >= this.pos.length) this.growIds(id);
    if (this.length === this.idAt.length) this.growItems();
    this.siftUp(this.length++, id, rank, seq);
  }

  /** Gives an id in the heap a new rank and seq. */
  update(id: number, rank: number, seq: number): void {
    const i = this.pos[id] as number;
    if (i > 0 && before(rank, seq, this.ranks, this.seqs, (i - 1) >> 1)) {
      this.siftUp(i, id, rank, seq);
    } else {
      this.siftDown(i, id, rank, seq);
    }
  }

  /**
   * Takes the root out and puts `id` in with one sift, as `remove(peek())`
   * then `push(id, …)` would. Needs a non-empty heap.
   */
  replaceRoot(id: number, rank: number, seq: number): void {
    if (id >= this.pos.length) this.growIds(id);
    this.pos[this.idAt[0] as number] = NONE;
    this.siftDown(0, id, rank, seq);
  }

  remove(id: number): void {
    const i = this.pos[id] as number;
    this.pos[id] = NONE;
    const n = --this.length;
    if (i === n) return;
    // The last item fills the hole, then moves whichever way its rank says.
    const last = this.idAt[n] as number;
    const rank = this.ranks[n] as number;
    const seq = this.seqs[n] as number;
    if (i > 0 && before(rank, seq, this.ranks, this.seqs, (i - 1) >> 1)) {
      this.siftUp(i, last, rank, seq);
    } else {
      this.siftDown(i, last, rank, seq);
    }
  }

  /** Every id in the heap, in heap order (no particular order). */
  *ids(): Generator<number> {
    for (let i = 0; i < this.length; i++) yield this.idAt[i] as number;
  }

  /** True if heap position `a` comes before position `b`. */
  private less(a: number, b: number): boolean {
    return before(this.ranks[a] as number, this.seqs[a] as number, this.ranks, this.seqs, b);
  }

  /** Places (id, rank, seq) at position `start` or above it. */
  private siftUp(start: number, id: number, rank: number, seq: number): void {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(rank, seq, this.ranks, this.seqs, parent)) break;
      this.moveTo(i, parent);
      i = parent;
    }
    this.place(i, id, rank, seq);
  }

  /** Places (id, rank, seq) at position `start` or below it. */
  private siftDown(start: number, id: number, rank: number, seq: number): void {
    const ranks = this.ranks;
    const seqs = this.seqs;
    const n = this.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const child = left + 1 < n ? left + rightFirst(ranks, seqs, left) : left;
      const childRank = ranks[child] as number;
      if (!(childRank < rank || (childRank === rank && (seqs[child] as number) < seq))) break;
      this.moveTo(i, child);
      i = child;
    }
    this.place(i, id, rank, seq);
  }

  private place(i: number, id: number, rank: number, seq: number): void {
    this.ranks[i] = rank;
    this.seqs[i] = seq;
    this.idAt[i] = id;
    this.pos[id] = i;
  }

  /** Copies the item at position `from` to position `to`. */
  private moveTo(to: number, from: number): void {
    const id = this.idAt[from] as number;
    this.ranks[to] = this.ranks[from] as number;
    this.seqs[to] = this.seqs[from] as number;
    this.idAt[to] = id;
    this.pos[id] = to;
  }

  private growItems(): void {
    const capacity = this.idAt.length * 2;
    this.ranks = grown(this.ranks, capacity);
    this.seqs = grown(this.seqs, capacity);
    this.idAt = grown(this.idAt, capacity);
  }

  private growIds(id: number): void {
    const old = this.pos.length;
    let capacity = old * 2;
    while (capacity <= id) capacity *= 2;
    this.pos = grown(this.pos, capacity);
    this.pos.fill(NONE, old);
  }
}

/**
 * 1 if the item at heap position `left + 1` comes before the one at `left`,
 * else 0, computed without branches: which child is smaller is a coin flip,
 * and a mispredicted branch at every level of a sift costs more than this
 * arithmetic (a third of a sift's time in a micro-benchmark).
 */
function rightFirst(ranks: Float64Array, seqs: Float64Array, left: number): number {
  const l = ranks[left] as number;
  const r = ranks[left + 1] as number;
  const seqFirst = Number((seqs[left + 1] as number) < (seqs[left] as number));
  return Number(r < l) | (Number(r === l) & seqFirst);
}

/** True if (rank, seq) comes before the item at heap position `i`. */
function before(
  rank: number,
  seq: number,
  ranks: Float64Array,
  seqs: Float64Array,
  i: number,
): boolean {
  const r = ranks[i] as number;
  return rank < r || (rank === r && seq < (seqs[i] as number));
}

/**
 * An indexed binary min-heap of entries by (rank, seq): the smallest rank
 * first, the oldest `seq` first among equal ranks, so the order is total and
 * a restored heap decides exactly like the original. Each entry carries its
 * own position, so re-ranking after a hit is O(log n) without a search and
 * allocates nothing. Used by GreedyDual-Size-Frequency (priority.ts).
 */

export interface RankNode {
  /** Smaller goes first. */
  rank: number;
  /** Tie-break: smaller (older) goes first; unique per entry. */
  seq: number;
  /** Position in the heap array; -1 when not in a heap. */
  index: number;
}

export class RankHeap<N extends RankNode> {
  private readonly items: N[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The smallest entry that is not `skip` (the root's smaller child if the root is `skip`). */
  peekExcept(skip: N | undefined): N | undefined {
    const root = this.items[0];
    if (root === undefined || root !== skip) return root;
    const left = this.items[1];
    const right = this.items[2];
    if (left === undefined || right === undefined) return left;
    return less(right, left) ? right : left;
  }

  push(node: N): void {
    node.index = this.items.length;
    this.items.push(node);
    this.up(node.index);
  }

  /** Restores the order after `node.rank` changed. */
  update(node: N): void {
    this.up(node.index);
    this.down(node.index);
  }

  remove(node: N): void {
    const i = node.index;
    const last = this.items.pop() as N;
    node.index = -1;
    if (last === node) return;
    this.items[i] = last;
    last.index = i;
    this.up(i);
    this.down(last.index);
  }

  /** Every entry, in no particular order. */
  values(): readonly N[] {
    return this.items;
  }

  private up(i: number): void {
    const items = this.items;
    const node = items[i] as N;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as N;
      if (!less(node, parent)) break;
      items[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    items[i] = node;
    node.index = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const node = items[i] as N;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && less(items[right] as N, items[child] as N)) child = right;
      const c = items[child] as N;
      if (!less(c, node)) break;
      items[i] = c;
      c.index = i;
      i = child;
    }
    items[i] = node;
    node.index = i;
  }
}

function less(a: RankNode, b: RankNode): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq);
}

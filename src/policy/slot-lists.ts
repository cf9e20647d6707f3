/**
 * Intrusive doubly-linked lists over the slots of an `EntryTable`: prev/next
 * links and the owner list of each slot interleaved in one typed array (one
 * cache line per access), and the length and summed size of every list. A policy keeps one `SlotLists` per independent order
 * (LIRS threads its stack S and queue Q through the same slots). Lists run
 * from `head` (oldest, the next to go in FIFO/LRU terms) to `tail` (newest).
 *
 * @example
 * const lists = new SlotLists(table, 2); // e.g. 0 = probation, 1 = protected
 * lists.pushBack(0, slot);
 * lists.moveToBack(1, slot);
 */
import type { EntryTable } from './entry-table.ts';
import { grown, NONE } from './entry-table.ts';

export class SlotLists {
  /** Per slot, interleaved so one access touches one cache line: prev, next, owner list. */
  private links = new Int32Array(0);
  head: Int32Array;
  tail: Int32Array;
  length: Int32Array;
  /** Sum of `table.size` over each list. */
  weight: Float64Array;
  private readonly table: EntryTable;
  private readonly spare: number[] = [];
  private lists: number;

  constructor(table: EntryTable, lists: number) {
    this.table = table;
    this.lists = lists;
    this.head = new Int32Array(lists).fill(NONE);
    this.tail = new Int32Array(lists).fill(NONE);
    this.length = new Int32Array(lists);
    this.weight = new Float64Array(lists);
    table.onGrow((capacity) => {
      const old = this.links.length;
      this.links = grown(this.links, capacity * 3);
      this.links.fill(NONE, old);
    });
  }

  /** The list a slot is on, or `NONE`. */
  owner(slot: number): number {
    return this.links[slot * 3 + 2] as number;
  }

  /** The next newer slot on its list, or `NONE`. */
  next(slot: number): number {
    return this.links[slot * 3 + 1] as number;
  }

  /** A new empty list (for policies with a varying number of lists, e.g. LFU buckets). */
  addList(): number {
    const reused = this.spare.pop();
    if (reused !== undefined) return reused;
    if (this.lists === this.head.length) {
      const capacity = this.lists * 2 + 4;
      this.head = grown(this.head, capacity);
      this.head.fill(NONE, this.lists);
      this.tail = grown(this.tail, capacity);
      this.tail.fill(NONE, this.lists);
      this.length = grown(this.length, capacity);
      this.weight = grown(this.weight, capacity);
    }
    return this.lists++;
  }

  /** Returns an empty list from `addList` for reuse. */
  dropList(list: number): void {
    this.weight[list] = 0;
    this.spare.push(list);
  }

  pushBack(list: number, slot: number): void {
    this.link(list, slot);
    this.links[slot * 3 + 2] = list;
    this.length[list] = (this.length[list] as number) + 1;
    this.weight[list] = (this.weight[list] as number) + (this.table.size[slot] as number);
  }

  /** Unlinks the slot from its list (a no-op if it is on none). */
  remove(slot: number): void {
    const list = this.links[slot * 3 + 2] as number;
    if (list === NONE) return;
    this.unlink(list, slot);
    this.links[slot * 3 + 2] = NONE;
    this.length[list] = (this.length[list] as number) - 1;
    this.weight[list] = (this.weight[list] as number) - (this.table.size[slot] as number);
  }

  moveToBack(list: number, slot: number): void {
    const from = this.links[slot * 3 + 2] as number;
    if (from === list) {
      // The hot path of every LRU-ordered hit: no counters change.
      if (this.tail[list] === slot) return;
      this.unlink(list, slot);
      this.link(list, slot);
      return;
    }
    this.remove(slot);
    this.pushBack(list, slot);
  }

  /** Call before changing `table.size[slot]` of a linked slot, to keep `weight` right. */
  reweigh(slot: number, size: number): void {
    const list = this.links[slot * 3 + 2] as number;
    if (list !== NONE) {
      this.weight[list] = (this.weight[list] as number) + size - (this.table.size[slot] as number);
    }
  }

  /** Slots of `list`, head to tail. */
  *slots(list: number): Generator<number> {
    for (let s = this.head[list] as number; s !== NONE; s = this.links[s * 3 + 1] as number) {
      yield s;
    }
  }

  private link(list: number, slot: number): void {
    const links = this.links;
    const t = this.tail[list] as number;
    links[slot * 3] = t;
    links[slot * 3 + 1] = NONE;
    if (t === NONE) this.head[list] = slot;
    else links[t * 3 + 1] = slot;
    this.tail[list] = slot;
  }

  private unlink(list: number, slot: number): void {
    const links = this.links;
    const p = links[slot * 3] as number;
    const n = links[slot * 3 + 1] as number;
    if (p === NONE) this.head[list] = n;
    else links[p * 3 + 1] = n;
    if (n === NONE) this.tail[list] = p;
    else links[n * 3] = p;
  }
}

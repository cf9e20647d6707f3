/**
 * S3-FIFO (Yang, Zhang, Qiu, Yue & Rashmi, "FIFO queues are all you need for
 * cache eviction", SOSP'23), with the published parameters: a small FIFO S
 * of 10% of the capacity, a main FIFO M of 90% with a 2-bit frequency per
 * entry (a hit adds 1, capped at 3), and a ghost FIFO G of keys evicted from
 * S, as large as M. Newcomers enter S, or M if their key is in G. Evicting
 * from S moves an entry read at least twice (freq > 1) to M with its count
 * cleared, and otherwise evicts it into G; evicting from M reinserts an
 * entry with freq > 0 at the new end with one less, and evicts one with 0.
 * S is evicted from while it holds at least 10%, else M.
 *
 * Where the paper's Algorithm 1 and the authors' code (libCacheSim
 * `S3FIFOv0.c`, the implementation behind the paper) differ, this follows
 * the code: moving an entry from S to M never evicts from M by itself; an M
 * over its share is trimmed by the next eviction. With sizes, 10% and 90%
 * are of `maxWeight`, G is bounded by weight, and eviction repeats until the
 * newcomer fits.
 *
 * @example
 * const s3 = new S3FifoPolicy({ maxWeight: 1000 });
 */
import type { SavedResident } from './base-policy.ts';
import { grown, NONE } from './entry-table.ts';
import type { Capacity, EntryInfo, PolicySnapshot } from './policy.ts';
import { SlotLists } from './slot-lists.ts';
import { TablePolicy } from './table-policy.ts';

const SMALL = 0;
const MAIN = 1;
const GHOST = 2;
const SMALL_SHARE = 0.1;
const GHOST_SHARE = 0.9;
const MAX_FREQ = 3;

interface S3FifoState {
  /** Oldest first in each queue, with each entry's frequency. */
  small: Array<[SavedResident, number]>;
  main: Array<[SavedResident, number]>;
  ghost: Array<[key: string, size: number]>;
}

export class S3FifoPolicy extends TablePolicy {
  readonly name: string = 's3-fifo';
  private readonly queues = new SlotLists(this.table, 3);
  private freq = new Uint8Array(0);

  constructor(capacity: Capacity) {
    super(capacity);
    this.table.onGrow((c) => {
      this.freq = grown(this.freq, c);
    });
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): S3FifoPolicy {
    const state = snapshot.state as S3FifoState;
    const s3 = new S3FifoPolicy(capacity);
    for (const [queue, saved] of [
      [SMALL, state.small],
      [MAIN, state.main],
    ] as const) {
      for (const [r, freq] of saved) {
        const slot = s3.table.load(r);
        s3.freq[slot] = freq;
        s3.queues.pushBack(queue, slot);
        s3.admitted(slot);
      }
    }
    for (const [key, size] of state.ghost) {
      s3.queues.pushBack(GHOST, s3.table.alloc(key, { size, expiresAt: Number.POSITIVE_INFINITY }));
    }
    return s3;
  }

  snapshot(): PolicySnapshot {
    const { queues, table } = this;
    const residents = (queue: number) =>
      [...queues.slots(queue)].map((s): [SavedResident, number] => [
        table.save(s),
        this.freq[s] as number,
      ]);
    const state: S3FifoState = {
      small: residents(SMALL),
      main: residents(MAIN),
      ghost: [...queues.slots(GHOST)].map((s) => [
        table.keys[s] as string,
        table.size[s] as number,
      ]),
    };
    return { name: this.name, version: 1, state };
  }

  protected onHit(slot: number): void {
    const f = this.freq[slot] as number;
    if (f < MAX_FREQ) this.freq[slot] = f + 1;
  }

  protected insert(
    key: string,
    ghost: number,
    info: EntryInfo,
    now: number,
    evicted: string[],
  ): void {
    // The ghost is consumed before evicting, as in the authors' code.
    const toMain = ghost !== NONE;
    if (toMain) this.forget(ghost);
    this.makeRoom(info.size, 1, now, evicted, NONE);
    const slot = this.table.alloc(key, info);
    this.freq[slot] = 0;
    this.queues.pushBack(toMain ? MAIN : SMALL, slot);
    this.admitted(slot);
  }

  /** A write is a hit: it keeps its place and eviction passes over it. */
  protected update(slot: number, info: EntryInfo, now: number, evicted: string[]): void {
    this.onHit(slot);
    this.queues.reweigh(slot, info.size);
    this.table.size[slot] = info.size;
    this.makeRoom(0, 0, now, evicted, slot);
    this.table.update(slot, info);
  }

  protected evictOne(evicted: string[], exclude: number): void {
    const small = this.queues.weight[SMALL] as number;
    if (small >= SMALL_SHARE * this.table.limits.maxWeight && this.evictSmall(evicted, exclude))
      return;
    if (this.evictMain(evicted, exclude)) return;
    // M was empty: S evicts, or moves all its entries read twice to M, which then can.
    if (this.evictSmall(evicted, exclude) || this.evictMain(evicted, exclude)) return;
    throw new Error('s3-fifo: nothing to evict');
  }

  protected unlink(slot: number): void {
    this.queues.remove(slot);
  }

  protected override afterResize(): void {
    this.trimGhosts();
  }

  /** Evicts one entry from S into G, moving entries read twice to M on the way. */
  private evictSmall(evicted: string[], exclude: number): boolean {
    const queues = this.queues;
    for (;;) {
      let slot = queues.head[SMALL] as number;
      if (slot !== NONE && slot === exclude) slot = queues.next(slot);
      if (slot === NONE) return false;
      queues.remove(slot);
      if ((this.freq[slot] as number) > 1) {
        this.freq[slot] = 0;
        queues.pushBack(MAIN, slot);
      } else {
        this.retire(slot, evicted);
        queues.pushBack(GHOST, slot);
        this.trimGhosts();
        return true;
      }
    }
  }

  /** Evicts one entry from M, giving entries with freq > 0 another round. */
  private evictMain(evicted: string[], exclude: number): boolean {
    const queues = this.queues;
    for (;;) {
      let slot = queues.head[MAIN] as number;
      if (slot !== NONE && slot === exclude) slot = queues.next(slot);
      if (slot === NONE) return false;
      const f = this.freq[slot] as number;
      if (f > 0) {
        this.freq[slot] = f - 1;
        queues.moveToBack(MAIN, slot);
      } else {
        queues.remove(slot);
        this.retire(slot, evicted);
        this.table.release(slot);
        return true;
      }
    }
  }

  private trimGhosts(): void {
    const queues = this.queues;
    const limit = GHOST_SHARE * this.table.limits.maxWeight;
    while ((queues.weight[GHOST] as number) > limit) this.forget(queues.head[GHOST] as number);
  }

  private forget(slot: number): void {
    this.queues.remove(slot);
    this.table.release(slot);
  }
}

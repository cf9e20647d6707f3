/**
 * When each key was last read, approximately: a direct-mapped table of
 * (access number, 7-bit fingerprint) words indexed by the key's hash, 8
 * slots per expected entry. It answers "when was this key read before
 * now?" for keys that are not resident, which is what LRU-2 (O'Neil,
 * O'Neil & Weikum, SIGMOD 1993) and LIRS's inter-reference recency need, in
 * O(1) and without ghost lists.
 *
 * A slot holds one key at a time; a colliding key overwrites it, and a
 * fingerprint mismatch reads as "not seen" (an answer that errs towards
 * older, the safe side for an admission filter). Access numbers are kept
 * modulo 2^24 beside an 8-bit fingerprint-and-used mark in one Uint32 word,
 * so ages are exact up to 16.7 million reads and wrap beyond.
 *
 * @example
 * const seen = new LastSeen(1000);
 * seen.record(hashKey('a'), 1); // NEVER (not seen before)
 * seen.record(hashKey('a'), 9); // 1
 */
import { base64ToBytes, bytesToBase64 } from '../base64.ts';

/** Returned when the key has not been seen (or its slot was taken by another key). */
export const NEVER = Number.NEGATIVE_INFINITY;

const SLOTS_PER_ENTRY = 8;
const TIME_MASK = 0xffffff;
const MIN_SLOTS = 64;
const MAX_SLOTS = 1 << 25;

export interface LastSeenState {
  slots: string;
}

export class LastSeen {
  private table: Uint32Array;
  private mask: number;

  constructor(expectedEntries: number) {
    let n = MIN_SLOTS;
    while (n < SLOTS_PER_ENTRY * expectedEntries && n < MAX_SLOTS) n *= 2;
    this.table = new Uint32Array(n);
    this.mask = n - 1;
  }

  /**
   * Records that the key with hash `h` is read as access number `clock`
   * (≥ 1) and returns the access number of its previous read, or `NEVER`.
   */
  record(h: number, clock: number): number {
    const i = (h >>> 7) & this.mask;
    const fingerprint = (h & 127) | 128;
    const word = this.table[i] as number;
    this.table[i] = ((clock & TIME_MASK) << 8) | fingerprint;
    if ((word & 255) !== fingerprint) return NEVER;
    // The stored number is the low 24 bits of the previous access number; undo the wrap.
    const age = (clock - (word >>> 8)) & TIME_MASK;
    return clock - age;
  }

  /** Grows to suit `expectedEntries` by doubling copies (existing answers stay). */
  ensureCapacity(expectedEntries: number): void {
    while (this.table.length < SLOTS_PER_ENTRY * expectedEntries && this.table.length < MAX_SLOTS) {
      const next = new Uint32Array(this.table.length * 2);
      next.set(this.table, 0);
      next.set(this.table, this.table.length);
      this.table = next;
    }
    this.mask = this.table.length - 1;
  }

  save(): LastSeenState {
    return { slots: bytesToBase64(new Uint8Array(this.table.buffer)) };
  }

  static load(state: LastSeenState): LastSeen {
    const seen = new LastSeen(0);
    seen.table = new Uint32Array(base64ToBytes(state.slots).buffer);
    seen.mask = seen.table.length - 1;
    return seen;
  }
}

/**
 * TinyLFU's frequency histogram (Einziger, Friedman & Manes, "TinyLFU: A
 * Highly Efficient Cache Admission Policy", ACM TOS 2017): a count-min
 * sketch of 4-bit counters behind a doorkeeper, aged by halving.
 *
 * - Counters: 8 four-bit counters per `Uint32Array` word, 16 per expected
 *   entry, depth 4. As in Caffeine's `FrequencySketch`, a key's four counters
 *   share one 16-byte block (one word per row, the nibble picked by hash
 *   bits) so an access touches one cache line. Increments are conservative
 *   (only the counters at the minimum grow), which never underestimates.
 * - Doorkeeper: a Bloom filter (2 probes, 32 bits per expected entry). A
 *   key's first access in a period only sets its doorkeeper bits; later ones
 *   reach the counters; the estimate adds 1 when the doorkeeper has the key.
 * - Aging ("reset"): after W = 10 × expected entries recorded accesses every
 *   counter is halved, the doorkeeper cleared and the sample count halved.
 * - Growth: the tables double by copying themselves (an index is the low
 *   bits of a fixed hash, so a doubled table's slot `i` inherits slot
 *   `i & oldMask`). Estimates stay upper bounds, nothing is forgotten; the
 *   extra collisions wash out at the next aging. This lets a byte-weighted
 *   policy start small and grow with its resident count.
 *
 * Callers pass `hashKey(key)` so one hash per access serves the whole policy.
 *
 * @example
 * const sketch = new FrequencySketch(1000);
 * sketch.increment(hashKey('a'));
 * sketch.frequency(hashKey('a')); // 1 (doorkeeper), 2 after a second access
 */
import { base64ToBytes, bytesToBase64 } from '../base64.ts';
import { mix32 } from './key-hash.ts';

const RESET_MASK = 0x77777777;
/** 8 words = 64 four-bit counters (32 bytes) per expected entry. */
const WORDS_PER_ENTRY = 8;
/** Doorkeeper bits per expected entry. */
const DOOR_BITS_PER_ENTRY = 128;
/** W: accesses between two agings, per expected entry. */
const PERIOD_PER_ENTRY = 10;
const MIN_ENTRIES = 16;
const MAX_ENTRIES = 1 << 22;

export interface SketchState {
  entries: number;
  additions: number;
  table: string;
  door: string;
}

function nextPowerOfTwo(n: number): number {
  let p = MIN_ENTRIES;
  while (p < n && p < MAX_ENTRIES) p *= 2;
  return p;
}

function doubled(array: Uint32Array, times: number): Uint32Array {
  let out = array;
  for (let i = 0; i < times; i++) {
    const next = new Uint32Array(out.length * 2);
    next.set(out, 0);
    next.set(out, out.length);
    out = next;
  }
  return out;
}

export class FrequencySketch {
  /** Expected entries (power of two); sizes the tables and the sample period. */
  private entries: number;
  /** Counter words, in blocks of 4 (one word per row). */
  private table: Uint32Array;
  private blockMask: number;
  /** Doorkeeper bits. */
  private door: Uint32Array;
  private doorMask: number;
  private additions = 0;
  private period: number;

  constructor(expectedEntries: number) {
    this.entries = nextPowerOfTwo(expectedEntries);
    this.table = new Uint32Array(this.entries * WORDS_PER_ENTRY);
    this.door = new Uint32Array((this.entries * DOOR_BITS_PER_ENTRY) / 32);
    this.blockMask = (this.entries * WORDS_PER_ENTRY) / 4 - 1;
    this.doorMask = this.entries * DOOR_BITS_PER_ENTRY - 1;
    this.period = PERIOD_PER_ENTRY * this.entries;
  }

  /** Entries the tables are sized for (a power of two). */
  get capacity(): number {
    return this.entries;
  }

  /** Accesses recorded since the last aging (halved at each aging). */
  get sampleCount(): number {
    return this.additions;
  }

  /** Recorded accesses between two agings (W). */
  get samplePeriod(): number {
    return this.period;
  }

  /** Grows (never shrinks) the tables to suit `expectedEntries`. */
  ensureCapacity(expectedEntries: number): void {
    const want = nextPowerOfTwo(expectedEntries);
    if (want <= this.entries) return;
    const times = Math.log2(want / this.entries);
    this.table = doubled(this.table, times);
    this.door = doubled(this.door, times);
    this.entries = want;
    this.blockMask = (want * WORDS_PER_ENTRY) / 4 - 1;
    this.doorMask = want * DOOR_BITS_PER_ENTRY - 1;
    this.period = PERIOD_PER_ENTRY * want;
  }

  /** Estimated accesses of the key with hash `h` in the current period (0..16). */
  frequency(h: number): number {
    const table = this.table;
    const base = (h & this.blockMask) << 2;
    const g = mix32(h ^ 0x9e3779b9);
    let min = (table[base] as number) >>> ((g & 7) << 2);
    const c1 = (table[base + 1] as number) >>> (((g >>> 3) & 7) << 2);
    const c2 = (table[base + 2] as number) >>> (((g >>> 6) & 7) << 2);
    const c3 = (table[base + 3] as number) >>> (((g >>> 9) & 7) << 2);
    min &= 15;
    if ((c1 & 15) < min) min = c1 & 15;
    if ((c2 & 15) < min) min = c2 & 15;
    if ((c3 & 15) < min) min = c3 & 15;
    return this.inDoor(h, g) ? min + 1 : min;
  }

  /** Records one access of the key with hash `h`; ages the sketch every W accesses. */
  increment(h: number): void {
    const g = mix32(h ^ 0x9e3779b9);
    const door = this.door;
    const a = this.doorIndexA(h);
    const b = this.doorIndexB(g);
    const bitA = 1 << (a & 31);
    const bitB = 1 << (b & 31);
    if (((door[a >>> 5] as number) & bitA) === 0 || ((door[b >>> 5] as number) & bitB) === 0) {
      // First access this period: only the doorkeeper learns of it.
      door[a >>> 5] = (door[a >>> 5] as number) | bitA;
      door[b >>> 5] = (door[b >>> 5] as number) | bitB;
    } else {
      const table = this.table;
      const base = (h & this.blockMask) << 2;
      const s0 = (g & 7) << 2;
      const s1 = ((g >>> 3) & 7) << 2;
      const s2 = ((g >>> 6) & 7) << 2;
      const s3 = ((g >>> 9) & 7) << 2;
      const w0 = table[base] as number;
      const w1 = table[base + 1] as number;
      const w2 = table[base + 2] as number;
      const w3 = table[base + 3] as number;
      const c0 = (w0 >>> s0) & 15;
      const c1 = (w1 >>> s1) & 15;
      const c2 = (w2 >>> s2) & 15;
      const c3 = (w3 >>> s3) & 15;
      let min = c0;
      if (c1 < min) min = c1;
      if (c2 < min) min = c2;
      if (c3 < min) min = c3;
      if (min < 15) {
        // Conservative update: only the counters holding the minimum grow.
        if (c0 === min) table[base] = w0 + (1 << s0);
        if (c1 === min) table[base + 1] = w1 + (1 << s1);
        if (c2 === min) table[base + 2] = w2 + (1 << s2);
        if (c3 === min) table[base + 3] = w3 + (1 << s3);
      }
    }
    if (++this.additions >= this.period) this.age();
  }

  /** Halves every counter, clears the doorkeeper and halves the sample count. */
  age(): void {
    // The loop comes last: V8 compiles it on the fly (OSR) in the first call,
    // and code after it that had never run would throw that compiled loop
    // away again in every later call.
    this.door.fill(0);
    this.additions = this.additions >>> 1;
    const table = this.table;
    for (let i = 0; i < table.length; i++) table[i] = ((table[i] as number) >>> 1) & RESET_MASK;
  }

  save(): SketchState {
    return {
      entries: this.entries,
      additions: this.additions,
      table: bytesToBase64(new Uint8Array(this.table.buffer)),
      door: bytesToBase64(new Uint8Array(this.door.buffer)),
    };
  }

  static load(state: SketchState): FrequencySketch {
    const sketch = new FrequencySketch(state.entries);
    sketch.table = new Uint32Array(base64ToBytes(state.table).buffer);
    sketch.door = new Uint32Array(base64ToBytes(state.door).buffer);
    sketch.additions = state.additions;
    return sketch;
  }

  private inDoor(h: number, g: number): boolean {
    const door = this.door;
    const a = this.doorIndexA(h);
    const b = this.doorIndexB(g);
    return (
      ((door[a >>> 5] as number) & (1 << (a & 31))) !== 0 &&
      ((door[b >>> 5] as number) & (1 << (b & 31))) !== 0
    );
  }

  /** The doorkeeper's two bit positions for a key: from `h` rotated, and from `mix32(g)`. */
  private doorIndexA(h: number): number {
    return ((h >>> 16) | (h << 16)) & this.doorMask;
  }

  private doorIndexB(g: number): number {
    return mix32(g) & this.doorMask;
  }
}

/**
 * A hash map from non-negative 31-bit integers to integers in two typed
 * arrays (open addressing, linear probing, backward-shift deletion, so no
 * tombstones): what the miniature shadows key their entries by, without the
 * boxing and hashing a `Map<number, number>` does per call.
 *
 * @example
 * const m = new IntMap(16);
 * m.set(42, 7);
 * m.get(42); // 7; m.get(1) === -1
 */
const EMPTY = 0;

export class IntMap {
  /** Stored key + 1 (0 marks an empty slot). */
  private keys: Int32Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected: number) {
    let n = 16;
    while (n < 2 * expected) n *= 2;
    this.keys = new Int32Array(n);
    this.values = new Int32Array(n);
    this.mask = n - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The value for `key`, or -1. */
  get(key: number): number {
    const k = key + 1;
    const keys = this.keys;
    for (let i = Math.imul(k, 0x9e3779b1) & this.mask; ; i = (i + 1) & this.mask) {
      const at = keys[i] as number;
      if (at === k) return this.values[i] as number;
      if (at === EMPTY) return -1;
    }
  }

  set(key: number, value: number): void {
    if (2 * (this.count + 1) > this.keys.length) this.grow();
    const k = key + 1;
    const keys = this.keys;
    for (let i = Math.imul(k, 0x9e3779b1) & this.mask; ; i = (i + 1) & this.mask) {
      const at = keys[i] as number;
      if (at === k || at === EMPTY) {
        if (at === EMPTY) this.count++;
        keys[i] = k;
        this.values[i] = value;
        return;
      }
    }
  }

  delete(key: number): void {
    const k = key + 1;
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = Math.imul(k, 0x9e3779b1) & mask;
    for (; ; i = (i + 1) & mask) {
      const at = keys[i] as number;
      if (at === EMPTY) return;
      if (at === k) break;
    }
    this.count--;
    // Backward-shift: pull later members of the probe run into the hole.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const at = keys[j] as number;
      if (at === EMPTY) break;
      const home = Math.imul(at, 0x9e3779b1) & mask;
      // Move `at` into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = at;
        values[hole] = values[j] as number;
        hole = j;
      }
    }
    keys[hole] = EMPTY;
  }

  /** Calls `fn` with every value (the map must not change meanwhile). */
  forEachValue(fn: (value: number) => void): void {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== EMPTY) fn(this.values[i] as number);
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Int32Array(oldKeys.length * 2);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const at = oldKeys[i] as number;
      if (at !== EMPTY) this.set(at - 1, oldValues[i] as number);
    }
  }
}

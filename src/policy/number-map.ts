/**
 * A hash map from numbers to non-negative integers in typed arrays (open
 * addressing, linear probing, backward-shift deletion, so no tombstones):
 * what the frequency-ordered policies key their buckets by (LFU-DA's K,
 * the learned policy's frequencies). Those keys are read back from
 * `Float64Array`s, so a `Map<number, number>` would see boxed doubles and
 * hash each one in a runtime call; here a lookup is a few typed-array reads
 * the compiler inlines. Unlike `IntMap`, keys may be any number but NaN
 * (integers beyond 2^31 included, as LFU-DA's K grows without bound), and
 * are compared with `===`, so -0 and 0 are one key, as in a `Map`.
 *
 * @example
 * const m = new NumberMap(16);
 * m.set(2 ** 40, 7);
 * m.get(2 ** 40); // 7; m.get(1) === -1
 */
const EMPTY = -1;

/** A scratch double and its two 32-bit words, to hash a number by its bits. */
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

/**
 * The home position of `key` in a table of 2^(32 - shift) positions:
 * Fibonacci hashing (the top bits of a multiplication by 2^32/φ, which
 * depend on every bit of the input) of the xor of the two words of its
 * IEEE 754 bits, so integers and fractions alike spread out.
 * `+ 0` turns -0 into 0, which `===` treats as the same key.
 */
function home(key: number, shift: number): number {
  bits[0] = key + 0;
  return Math.imul((words[0] as number) ^ (words[1] as number), 0x9e3779b9) >>> shift;
}

export class NumberMap {
  private keys: Float64Array;
  /** The value stored at each position, or EMPTY. */
  private values: Int32Array;
  private mask: number;
  /** 32 - log2(table size): `home` keeps the top bits. */
  private shift: number;
  private count = 0;

  constructor(expected: number) {
    let n = 16;
    while (n < 2 * expected) n *= 2;
    this.keys = new Float64Array(n);
    this.values = new Int32Array(n).fill(EMPTY);
    this.mask = n - 1;
    this.shift = 32 - Math.log2(n);
  }

  get size(): number {
    return this.count;
  }

  /** The value for `key`, or -1. */
  get(key: number): number {
    const keys = this.keys;
    const values = this.values;
    for (let i = home(key, this.shift); ; i = (i + 1) & this.mask) {
      const value = values[i] as number;
      if (value === EMPTY || keys[i] === key) return value;
    }
  }

  /** Sets `key` (not NaN) to `value` (a non-negative 31-bit integer). */
  set(key: number, value: number): void {
    if (2 * (this.count + 1) > this.keys.length) this.grow();
    const keys = this.keys;
    const values = this.values;
    for (let i = home(key, this.shift); ; i = (i + 1) & this.mask) {
      const at = values[i] as number;
      if (at === EMPTY || keys[i] === key) {
        if (at === EMPTY) this.count++;
        keys[i] = key;
        values[i] = value;
        return;
      }
    }
  }

  delete(key: number): void {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = home(key, this.shift);
    for (; ; i = (i + 1) & mask) {
      const at = values[i] as number;
      if (at === EMPTY) return;
      if (keys[i] === key) break;
    }
    this.count--;
    // Backward-shift: pull later members of the probe run into the hole.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const value = values[j] as number;
      if (value === EMPTY) break;
      const k = keys[j] as number;
      const at = home(k, this.shift);
      // Move `k` into the hole unless its home lies cyclically in (hole, j].
      if (((j - at) & mask) >= ((j - hole) & mask)) {
        keys[hole] = k;
        values[hole] = value;
        hole = j;
      }
    }
    values[hole] = EMPTY;
  }

  /** Every key, in no particular order. */
  keyList(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.values.length; i++) {
      if (this.values[i] !== EMPTY) out.push(this.keys[i] as number);
    }
    return out;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.values = new Int32Array(oldKeys.length * 2).fill(EMPTY);
    this.mask = this.keys.length - 1;
    this.shift = 32 - Math.log2(this.keys.length);
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const value = oldValues[i] as number;
      if (value !== EMPTY) this.set(oldKeys[i] as number, value);
    }
  }
}

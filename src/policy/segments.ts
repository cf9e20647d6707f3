/**
 * The resident entries of a segmented policy (W-TinyLFU's window, probation
 * and protected LRU lists) as intrusive doubly linked lists over typed
 * arrays, the layout lru-cache uses: an entry is a slot number, its links,
 * segment, weight, expiry and hash live in parallel arrays, so an access
 * allocates nothing and a move is a few array writes.
 *
 * Slots 0..SEGMENTS-1 are the lists' sentinels (circular lists), entries
 * start at SEGMENTS. Freed slots are chained through `next` for reuse; the
 * arrays double when full.
 *
 * @example
 * const s = new Segments(4);
 * const id = s.alloc('a', 1, Infinity, hashKey('a'), 1, 1);
 * s.pushBack(WINDOW, id);
 */

export const WINDOW = 0;
export const PROBATION = 1;
export const PROTECTED = 2;
const SEGMENTS = 3;
const NONE = -1;

export class Segments {
  keys: (string | undefined)[] = [];
  prev: Int32Array;
  next: Int32Array;
  segment: Uint8Array;
  size: Float64Array;
  expiresAt: Float64Array;
  hash: Uint32Array;
  priority: Float64Array;
  cost: Float64Array;
  /** Access number of the entry's last read (or its insertion). */
  seen: Float64Array;
  /** Access number of the read before the one that brought the entry in (`NEVER` if none). */
  prior: Float64Array;
  /** Sum of the sizes in each segment. */
  readonly weightOf = new Float64Array(SEGMENTS);
  private freeHead = NONE;
  private used = SEGMENTS;

  constructor(initialSlots: number) {
    const n = Math.max(SEGMENTS + 4, Math.min(initialSlots + SEGMENTS, 1 << 16));
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    this.segment = new Uint8Array(n);
    this.size = new Float64Array(n);
    this.expiresAt = new Float64Array(n);
    this.hash = new Uint32Array(n);
    this.priority = new Float64Array(n);
    this.cost = new Float64Array(n);
    this.seen = new Float64Array(n);
    this.prior = new Float64Array(n);
    for (let s = 0; s < SEGMENTS; s++) {
      this.prev[s] = s;
      this.next[s] = s;
      this.segment[s] = s;
    }
  }

  /** A slot for a new entry, not yet in any list. */
  alloc(
    key: string,
    size: number,
    expiresAt: number,
    hash: number,
    priority: number,
    cost: number,
  ): number {
    let id = this.freeHead;
    if (id !== NONE) {
      this.freeHead = this.next[id] as number;
    } else {
      if (this.used === this.prev.length) this.grow();
      id = this.used++;
    }
    this.keys[id] = key;
    this.size[id] = size;
    this.expiresAt[id] = expiresAt;
    this.hash[id] = hash;
    this.priority[id] = priority;
    this.cost[id] = cost;
    return id;
  }

  /** Unlinks `id` and returns its slot to the free chain. */
  release(id: number): void {
    this.unlink(id);
    this.keys[id] = undefined;
    this.next[id] = this.freeHead;
    this.freeHead = id;
  }

  /** The least recently used entry of `segment`, or -1 if it is empty. */
  first(segment: number): number {
    const id = this.next[segment] as number;
    return id === segment ? NONE : id;
  }

  /** The most recently used entry of `segment`, or -1 if it is empty. */
  last(segment: number): number {
    const id = this.prev[segment] as number;
    return id === segment ? NONE : id;
  }

  /** The next more recently used entry after `id` in its segment, or -1. */
  after(id: number): number {
    const n = this.next[id] as number;
    return n < SEGMENTS ? NONE : n;
  }

  /** Appends `id` (not linked) as the most recently used of `segment`. */
  pushBack(segment: number, id: number): void {
    const tail = this.prev[segment] as number;
    this.prev[id] = tail;
    this.next[id] = segment;
    this.next[tail] = id;
    this.prev[segment] = id;
    this.segment[id] = segment;
    this.weightOf[segment] = (this.weightOf[segment] as number) + (this.size[id] as number);
  }

  /** Removes `id` from its list (its slot stays allocated). */
  unlink(id: number): void {
    const p = this.prev[id] as number;
    const n = this.next[id] as number;
    this.next[p] = n;
    this.prev[n] = p;
    const segment = this.segment[id] as number;
    this.weightOf[segment] = (this.weightOf[segment] as number) - (this.size[id] as number);
  }

  /** Makes `id` the most recently used of `segment` (moving it between lists if needed). */
  moveToBack(segment: number, id: number): void {
    if (this.segment[id] !== segment) {
      this.unlink(id);
      this.pushBack(segment, id);
      return;
    }
    // Same list (every hit in the window or protected): relink, weights unchanged.
    const prev = this.prev;
    const next = this.next;
    const tail = prev[segment] as number;
    if (tail === id) return;
    const p = prev[id] as number;
    const n = next[id] as number;
    next[p] = n;
    prev[n] = p;
    prev[id] = tail;
    next[id] = segment;
    next[tail] = id;
    prev[segment] = id;
  }

  /** Changes the size of a linked entry, keeping its segment's weight right. */
  resize(id: number, size: number): void {
    const segment = this.segment[id] as number;
    this.weightOf[segment] = (this.weightOf[segment] as number) + size - (this.size[id] as number);
    this.size[id] = size;
  }

  private grow(): void {
    const n = this.prev.length * 2;
    const grown = <T extends Int32Array | Uint8Array | Float64Array | Uint32Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.prev = grown(this.prev, (k) => new Int32Array(k));
    this.next = grown(this.next, (k) => new Int32Array(k));
    this.segment = grown(this.segment, (k) => new Uint8Array(k));
    this.size = grown(this.size, (k) => new Float64Array(k));
    this.expiresAt = grown(this.expiresAt, (k) => new Float64Array(k));
    this.hash = grown(this.hash, (k) => new Uint32Array(k));
    this.priority = grown(this.priority, (k) => new Float64Array(k));
    this.cost = grown(this.cost, (k) => new Float64Array(k));
    this.seen = grown(this.seen, (k) => new Float64Array(k));
    this.prior = grown(this.prior, (k) => new Float64Array(k));
  }
}

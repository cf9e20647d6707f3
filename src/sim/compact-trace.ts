/**
 * A trace held as dense integer key ids rather than strings: 13.2M requests
 * of p12 take 53 MB as an Int32Array where 13.2M strings would take
 * gigabytes. Each distinct key gets the next id (0, 1, 2, …) in order of
 * first appearance, so ids can index typed arrays (OPT's next-use table).
 *
 * The builder grows its arrays by doubling through an `allocate` hook, so the
 * simulator can build straight into a `SharedArrayBuffer` that worker
 * threads read without a copy.
 *
 * @example
 * const builder = new TraceBuilder();
 * await parseTrace(chunks, 'arc', builder.sink);
 * const trace = builder.build(); // trace.ids[i] is the key id of request i
 */

export interface CompactTrace {
  /** The key id of every request, in order; ids run from 0 to `keyCount - 1`. */
  readonly ids: Int32Array;
  /** The size of every request, or null when every size is 1 (count capacity). */
  readonly sizes: Float64Array | null;
  /** Number of requests (`ids.length`). */
  readonly length: number;
  /** Number of distinct keys. */
  readonly keyCount: number;
}

export interface TraceBuilderOptions {
  /** Keep each request's size (the `--bytes` mode); otherwise sizes are all 1 and not stored. */
  sized?: boolean;
  /** Where the arrays live, e.g. `(n) => new SharedArrayBuffer(n)`; default a plain ArrayBuffer. */
  allocate?: (byteLength: number) => ArrayBufferLike;
}

/** V8 caps a Map at 2^24 entries; start another well before that. */
const KEYS_PER_MAP = 1 << 23;

/** Gives each distinct string key a dense id in order of first appearance. */
export class KeyIds {
  private readonly maps: Map<string, number>[] = [new Map()];
  private next = 0;

  get size(): number {
    return this.next;
  }

  /** The id of `key`, assigning the next free one to a new key. */
  idOf(key: string): number {
    const maps = this.maps;
    for (let m = 0; m < maps.length; m++) {
      const id = (maps[m] as Map<string, number>).get(key);
      if (id !== undefined) return id;
    }
    let last = maps[maps.length - 1] as Map<string, number>;
    if (last.size >= KEYS_PER_MAP) {
      last = new Map();
      maps.push(last);
    }
    const id = this.next++;
    last.set(key, id);
    return id;
  }
}

export class TraceBuilder {
  private readonly keys = new KeyIds();
  private readonly allocate: (byteLength: number) => ArrayBufferLike;
  private readonly sized: boolean;
  private ids: Int32Array;
  private sizes: Float64Array | null;
  private length = 0;

  /** Appends one request; pass it to `parseTrace` as the sink. */
  readonly sink = (key: string, size: number): void => {
    if (this.length === this.ids.length) this.grow();
    const i = this.length++;
    this.ids[i] = this.keys.idOf(key);
    if (this.sizes !== null) this.sizes[i] = size;
  };

  constructor(options: TraceBuilderOptions = {}) {
    this.allocate = options.allocate ?? ((n) => new ArrayBuffer(n));
    this.sized = options.sized === true;
    const initial = 1 << 16;
    this.ids = new Int32Array(this.allocate(initial * 4));
    this.sizes = this.sized ? new Float64Array(this.allocate(initial * 8)) : null;
  }

  get requests(): number {
    return this.length;
  }

  /**
   * The trace so far. The arrays are views of the builder's buffers (no
   * copy; up to half of a buffer may be unused slack).
   */
  build(): CompactTrace {
    return {
      ids: this.ids.subarray(0, this.length),
      sizes: this.sizes === null ? null : this.sizes.subarray(0, this.length),
      length: this.length,
      keyCount: this.keys.size,
    };
  }

  private grow(): void {
    const capacity = this.ids.length * 2;
    const ids = new Int32Array(this.allocate(capacity * 4));
    ids.set(this.ids);
    this.ids = ids;
    if (this.sizes !== null) {
      const sizes = new Float64Array(this.allocate(capacity * 8));
      sizes.set(this.sizes);
      this.sizes = sizes;
    }
  }
}

/**
 * A compact trace from an in-memory list of keys (tests, small examples).
 * @example compactTrace(['a', 'b', 'a']).ids // Int32Array [0, 1, 0]
 */
export function compactTrace(keys: Iterable<string>, sizes?: Iterable<number>): CompactTrace {
  const builder = new TraceBuilder({ sized: sizes !== undefined });
  const sizeList = sizes === undefined ? [] : [...sizes];
  let i = 0;
  for (const key of keys) builder.sink(key, sizeList[i++] ?? 1);
  return builder.build();
}

/**
 * A min-heap of (expiresAt, key) with lazy deletion, shared by every policy
 * so that "expired entries go first" costs O(log n) and never a scan.
 * Entries that never expire (`Infinity`) are not queued at all. Ties on
 * `expiresAt` break by key, never by insertion history, so a policy restored
 * from a snapshot picks the same expired victim as the original.
 */

/** True if (ta, ka) sorts before (tb, kb). */
function before(ta: number, ka: string, tb: number, kb: string): boolean {
  return ta < tb || (ta === tb && ka < kb);
}
export class ExpiryQueue {
  private times: number[] = [];
  private keys: string[] = [];
  /** The live expiry of each queued key; heap items that disagree are stale. */
  private readonly current = new Map<string, number>();

  /** Records (or changes) when `key` expires. */
  set(key: string, expiresAt: number): void {
    if (!Number.isFinite(expiresAt)) {
      this.current.delete(key);
      return;
    }
    if (this.current.get(key) === expiresAt) return;
    this.current.set(key, expiresAt);
    this.push(expiresAt, key);
    // Stale items are dropped lazily; rebuild when they dominate the heap.
    if (this.times.length > 64 && this.times.length > 4 * this.current.size) this.rebuild();
  }

  delete(key: string): void {
    this.current.delete(key);
  }

  /** The key expiring soonest if it is expired at `now` (`expiresAt <= now`); does not remove it. */
  peekExpired(now: number): string | undefined {
    this.dropStale();
    const t = this.times[0];
    return t !== undefined && t <= now ? this.keys[0] : undefined;
  }

  /** Every key expired at `now`, soonest first, removed from the queue. */
  popExpired(now: number): string[] {
    const out: string[] = [];
    for (;;) {
      const key = this.peekExpired(now);
      if (key === undefined) return out;
      this.pop();
      this.current.delete(key);
      out.push(key);
    }
  }

  get size(): number {
    return this.current.size;
  }

  private dropStale(): void {
    while (this.times.length > 0) {
      const key = this.keys[0] as string;
      if (this.current.get(key) === this.times[0]) return;
      this.pop();
    }
  }

  private rebuild(): void {
    this.times = [];
    this.keys = [];
    for (const [key, t] of this.current) this.push(t, key);
  }

  private push(t: number, key: string): void {
    const times = this.times;
    const keys = this.keys;
    let i = times.length;
    times.push(t);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(t, key, times[parent] as number, keys[parent] as string)) break;
      times[i] = times[parent] as number;
      keys[i] = keys[parent] as string;
      i = parent;
    }
    times[i] = t;
    keys[i] = key;
  }

  private pop(): void {
    const times = this.times;
    const keys = this.keys;
    const lastT = times.pop() as number;
    const lastK = keys.pop() as string;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (
        child + 1 < n &&
        before(
          times[child + 1] as number,
          keys[child + 1] as string,
          times[child] as number,
          keys[child] as string,
        )
      ) {
        child++;
      }
      if (!before(times[child] as number, keys[child] as string, lastT, lastK)) break;
      times[i] = times[child] as number;
      keys[i] = keys[child] as string;
      i = child;
    }
    times[i] = lastT;
    keys[i] = lastK;
  }
}

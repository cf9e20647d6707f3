/**
 * L0: an optional hot set in the isolate's memory, in front of L1. The same
 * policy modules as the shards decide what stays (`L0_POLICY`), within
 * `L0_MAX_BYTES`. An isolate hears of no write made elsewhere, so every L0
 * copy lives at most `L0_MAX_TTL` seconds (default 5): that is the bound on
 * how stale L0 can be. A write or delete through this isolate drops its copy
 * at once. Off by default (`L0_MAX_BYTES=0`).
 *
 * Holding entries across requests is safe in Workers: they are data, not
 * I/O (no promise is shared between requests).
 */
import type { Entry } from '../entry.ts';
import type { Policy } from '../policy/policy.ts';

export class HotSet {
  /** Each copy with the namespace generation it was stored under (src/purge/generations.ts). */
  private readonly values = new Map<string, { entry: Entry; generation: string }>();

  constructor(
    private readonly policy: Policy,
    private readonly maxTtlMs: number,
  ) {}

  /** The entry if this isolate holds a live copy; records the read with the policy. */
  get(namespace: string, key: string, now: number, generation = '0'): Entry | null {
    const id = `${namespace}\u0000${key}`;
    if (!this.policy.get(id, now)) {
      this.values.delete(id);
      return null;
    }
    const held = this.values.get(id);
    // A copy from before the namespace's latest purge is never served.
    if (held && held.generation !== generation) {
      this.delete(namespace, key);
      return null;
    }
    return held?.entry ?? null;
  }

  /** Offers a copy; the policy may decline it or evict others. */
  set(entry: Entry, now: number, generation = '0'): void {
    const id = `${entry.meta.namespace}\u0000${entry.meta.key}`;
    const expiresAt = Math.min(entry.meta.expiresAt, now + this.maxTtlMs);
    if (expiresAt <= now) return;
    const evicted = this.policy.set(
      id,
      {
        size: entry.meta.size + id.length,
        expiresAt,
        ...(entry.meta.priority !== undefined ? { priority: entry.meta.priority } : {}),
        ...(entry.meta.cost !== undefined ? { cost: entry.meta.cost } : {}),
      },
      now,
    );
    for (const gone of evicted) this.values.delete(gone);
    if (this.policy.has(id)) this.values.set(id, { entry, generation });
  }

  delete(namespace: string, key: string): void {
    const id = `${namespace}\u0000${key}`;
    this.policy.delete(id);
    this.values.delete(id);
  }

  get size(): number {
    return this.values.size;
  }
}

/**
 * One interface for every storage tier that moves whole entries: L1 (Cache
 * API), L3 (Redis), the in-memory tier used by tests and library users, and
 * the chaos tier. Adapters move bytes; timeouts and error suppression wrap
 * them as decorators (`withTimeout` in timeout.ts). L2 is different: it is
 * the shard Durable Object that orchestrates L3 itself (shard-client.ts).
 */
import type { TierName } from '../cache-status.ts';
import type { Entry } from '../entry.ts';

export interface Tier {
  readonly name: TierName | 'memory';
  /** The stored entry, or `null`. May return an expired entry: callers check freshness. */
  get(namespace: string, key: string): Promise<Entry | null>;
  /** Stores `entry` until its `expiresAt` (or less, if the tier caps lifetimes). */
  set(entry: Entry): Promise<void>;
  /**
   * Removes the key. With a `tombstone`, a tier that orders versions (L3)
   * removes it only if what it holds is older, and remembers the tombstone
   * until `expiresAt`, so a late older write cannot land after it.
   */
  delete(namespace: string, key: string, tombstone?: Tombstone): Promise<void>;
}

export interface Tombstone {
  version: string;
  expiresAt: number;
}

/** Why a tier could not answer. */
export type TierFailure = 'timeout' | 'tier-down';

export class TierError extends Error {
  constructor(
    readonly tier: string,
    readonly reason: TierFailure,
    options?: { cause?: unknown },
  ) {
    super(`${tier} ${reason === 'timeout' ? 'timed out' : 'is unavailable'}`, options);
    this.name = 'TierError';
  }
}

/**
 * The shard's read-through from L3 on an L2 miss: one L3 read per key
 * however many callers wait (the shard keeps the `Fill` they share), then
 * back-fill L2, unless that would serve something older than what the
 * shard knows: a write that raced the read, a newer version or tombstone
 * in `key_versions`, or a purge rule that selects the L3 copy.
 */
import type { Entry } from '../src/entry.ts';
import { isFresh } from '../src/entry.ts';
import type { Tier } from '../src/tiers/tier.ts';
import { type KeyVersions, versionOf } from './key-versions.ts';
import type { ShardRead } from './shard-api.ts';
import type { ShardPurges } from './shard-purge.ts';
import type { ShardStore } from './shard-store.ts';

/** One key's L3 read in flight, shared by every caller that missed L2 meanwhile. */
export interface Fill {
  promise: Promise<ShardRead>;
  /** Set when a write or delete lands while the L3 read is in flight. */
  raced: boolean;
}

export interface L3FillDeps {
  store: ShardStore;
  purges: ShardPurges;
  versions: KeyVersions;
  transaction<T>(fn: () => T): T;
  /** Counts one L3 read, and whether it failed. */
  counted(error: boolean): void;
}

export async function fillFromL3(
  deps: L3FillDeps,
  l3: Tier,
  namespace: string,
  key: string,
  fill: Fill,
): Promise<ShardRead> {
  let entry: Entry | null;
  try {
    entry = await l3.get(namespace, key);
    deps.counted(false);
  } catch {
    deps.counted(true);
    return { entry: null, source: null, l3: 'error', collapsed: false };
  }
  const now = Date.now();
  if (fill.raced) {
    // A write, delete or purge landed meanwhile: what L2 holds now, if no purge selects it, is the answer.
    const local = deps.store.get(namespace, key, now);
    const serving = local ? deps.purges.serving(local.meta, now) : null;
    if (!local || !serving?.serve) return { entry: null, source: null, l3: 'ok', collapsed: false };
    const stale = serving.stale ? { stale: serving.stale } : {};
    return { entry: local, source: 'L2', l3: 'ok', collapsed: false, ...stale };
  }
  // Older than a version or tombstone this shard knows: L3 lags, and serving it would go back in time.
  if (
    !entry ||
    !isFresh(entry.meta, now) ||
    !deps.versions.admits(namespace, key, entry.meta.version)
  )
    return { entry: null, source: null, l3: 'miss', collapsed: false };
  // An L3 copy older than a purge this shard knows (L3's own purge may still be under way).
  const serving = deps.purges.serving(entry.meta, now);
  if (!serving.serve) return { entry: null, source: null, l3: 'miss', collapsed: false };
  const found = entry;
  const storedInL2 = deps.transaction(() => {
    const kept = deps.store.put(found, now);
    deps.versions.record(versionOf(found), 0);
    return kept;
  });
  const stale = serving.stale ? { stale: serving.stale } : {};
  return { entry, source: 'L3', l3: 'ok', collapsed: false, storedInL2, ...stale };
}

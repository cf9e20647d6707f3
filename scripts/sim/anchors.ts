/**
 * What one simulation job runs: a registered policy, or one of the two
 * anchors that every run reports beside them —
 *
 *   opt        Belady's offline optimum (src/sim/opt.ts), the ceiling
 *   lru-cache  the npm `lru-cache` package (pinned 11.5.3), the speed
 *              reference: `new LRUCache({ max: N })`, or with `--bytes`
 *              `{ maxSize: N, sizeCalculation }`; get, then set on a miss
 *
 * Both the policies and `lru-cache` go through the same replay loop
 * (src/sim/replay.ts), so their ops/second compare like for like.
 */
import { LRUCache } from 'lru-cache';
import { POLICIES } from '../../src/policy/index.ts';
import type { EntryInfo } from '../../src/policy/policy.ts';
import type { CompactTrace } from '../../src/sim/compact-trace.ts';
import { simulateOpt } from '../../src/sim/opt.ts';
import { type Replayable, replay, replayPolicy, type SimResult } from '../../src/sim/replay.ts';

export const ANCHORS = ['opt', 'lru-cache'] as const;

/** Every name `--policies` accepts: the registry, then the anchors. */
export function knownPolicies(): string[] {
  return [...Object.keys(POLICIES).filter((name) => !ANCHORS.includes(name as never)), ...ANCHORS];
}

/** The npm `lru-cache` behind the replay's get/set interface. */
export class LruCacheAnchor implements Replayable {
  private readonly cache: LRUCache<string, number>;

  constructor(capacity: number, bytes: boolean) {
    this.cache = bytes
      ? new LRUCache<string, number>({ maxSize: capacity, sizeCalculation: (size) => size })
      : new LRUCache<string, number>({ max: capacity });
  }

  get(key: string): boolean {
    return this.cache.get(key) !== undefined;
  }

  set(key: string, info: EntryInfo): void {
    // lru-cache refuses sizes of 0, and stores nothing larger than maxSize.
    this.cache.set(key, Math.max(1, info.size));
  }
}

/**
 * Runs one job on `trace` with room for `capacity` (entries, or bytes when the
 * trace has sizes).
 */
export function runJob(
  trace: CompactTrace,
  policy: string,
  capacity: number,
  onProgress?: (done: number) => void,
): SimResult {
  if (policy === 'opt') return simulateOpt(trace, capacity, { onProgress });
  if (policy === 'lru-cache') {
    return replay(new LruCacheAnchor(capacity, trace.sizes !== null), trace, { onProgress });
  }
  return replayPolicy(policy, trace, capacity, { onProgress });
}

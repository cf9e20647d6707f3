/**
 * The read and write paths across tiers; routes call this and never touch a
 * tier themselves.
 *
 *   read:  L1 → L2 (the shard, which reads L3 on a miss) → back-fill L1 with
 *          the entry's remaining TTL, off the response path.
 *   write: L2 (the shard stores it and writes L3) → drop this data centre's
 *          L1 copy so the next read here sees the new version.
 *
 * A failing L1 is treated as a miss; a failing L3 is reported in the result
 * (`l3: 'error'`), never thrown: expected degradation is a result.
 *
 * L0 and L1 copies are stored under the namespace's purge generation as
 * read *before* the shard was asked, so a copy of what a purge removed can
 * never land under the generation that purge introduced; when the
 * generation cannot be learned, L0 and L1 are skipped. Stale (soft-purged)
 * entries are never copied up.
 */
import type {
  L3Outcome,
  ShardRemove,
  ShardWrite,
  ShardWriteInput,
  StaleRead,
} from '../durable-objects/shard.ts';
import type { CacheStatusMember, TierName } from './cache-status.ts';
import { cacheName } from './cache-status.ts';
import type { Clock } from './clock.ts';
import type { Entry } from './entry.ts';
import { isFresh, remainingTtl } from './entry.ts';
import type { HotSet } from './tiers/l0-hot-set.ts';
import type { GenerationalTier } from './tiers/l1-cache-api.ts';
import type { ShardClient } from './tiers/shard-client.ts';

export interface ReadResult {
  entry: Entry | null;
  /** The tier that answered; null on a miss. */
  source: TierName | null;
  l0: 'hit' | 'miss' | 'disabled';
  l1: 'hit' | 'miss' | 'error' | 'disabled' | 'skipped';
  l3: L3Outcome;
  collapsed: boolean;
  /** On an L3 hit: whether L2 kept a copy. */
  l2Stored?: boolean;
  /** Set when the entry is served stale after a soft purge. */
  stale?: StaleRead;
}

/** A namespace's purge generation; null when it cannot be known (L0 and L1 are then skipped). */
export type Generations = (namespace: string) => Promise<string | null>;

/** Where background work goes (`ctx.waitUntil` in a Worker). */
export type Background = (work: Promise<unknown>) => void;

export class TieredCache {
  constructor(
    private readonly l0: HotSet | null,
    private readonly l1: GenerationalTier | null,
    private readonly shards: ShardClient,
    private readonly clock: Clock,
    private readonly background: Background,
    private readonly generations: Generations = async () => '0',
  ) {}

  async read(namespace: string, key: string): Promise<ReadResult> {
    const gen = this.l0 || this.l1 ? await this.generations(namespace) : '0';
    const l0Tier = gen === null ? null : this.l0;
    const l1Tier = gen === null ? null : this.l1;
    const l0: ReadResult['l0'] = l0Tier ? 'miss' : 'disabled';
    if (l0Tier && gen !== null) {
      const entry = l0Tier.get(namespace, key, this.clock.now(), gen);
      if (entry)
        return { entry, source: 'L0', l0: 'hit', l1: 'skipped', l3: 'skipped', collapsed: false };
    }
    let l1: ReadResult['l1'] = l1Tier ? 'miss' : this.l1 ? 'skipped' : 'disabled';
    if (l1Tier && gen !== null) {
      try {
        const entry = await l1Tier.get(namespace, key, gen);
        if (entry && isFresh(entry.meta, this.clock.now())) {
          l0Tier?.set(entry, this.clock.now(), gen);
          return { entry, source: 'L1', l0, l1: 'hit', l3: 'skipped', collapsed: false };
        }
      } catch {
        l1 = 'error';
      }
    }
    const shard = await this.shards.read(namespace, key);
    const result: ReadResult = {
      entry: shard.entry,
      source: shard.source,
      l0,
      l1,
      l3: shard.l3,
      collapsed: shard.collapsed,
      ...(shard.storedInL2 !== undefined ? { l2Stored: shard.storedInL2 } : {}),
      ...(shard.stale ? { stale: shard.stale } : {}),
    };
    const entry = shard.entry;
    if (entry && !shard.stale && gen !== null) {
      l0Tier?.set(entry, this.clock.now(), gen);
      if (l1Tier && l1 !== 'error') this.background(l1Tier.set(entry, gen).catch(() => {}));
    }
    return result;
  }

  async write(input: ShardWriteInput): Promise<ShardWrite> {
    const result = await this.shards.write(input);
    await this.dropL1(input.namespace, input.key);
    return result;
  }

  async remove(namespace: string, key: string): Promise<ShardRemove> {
    const result = await this.shards.remove(namespace, key);
    await this.dropL1(namespace, key);
    return result;
  }

  /**
   * L0, then L1, and nothing below: proxy mode asks the shard itself (it
   * judges freshness and fetches the origin there). `gen` is the generation
   * to store copies under afterwards (`keepUpper`); null skips L0 and L1.
   */
  async readUpper(
    namespace: string,
    key: string,
    gen: string | null,
  ): Promise<{ entry: Entry; tier: 'L0' | 'L1' } | null> {
    if (gen === null) return null;
    const now = this.clock.now();
    const hot = this.l0?.get(namespace, key, now, gen);
    if (hot) return { entry: hot, tier: 'L0' };
    if (!this.l1) return null;
    try {
      const entry = await this.l1.get(namespace, key, gen);
      if (!entry || !isFresh(entry.meta, now)) return null;
      this.l0?.set(entry, now, gen);
      return { entry, tier: 'L1' };
    } catch {
      return null;
    }
  }

  /** The generation L0/L1 copies of `namespace` go under now; null when unknown (skip them). */
  generation(namespace: string): Promise<string | null> {
    return this.l0 || this.l1 ? this.generations(namespace) : Promise.resolve('0');
  }

  /** Copies entries the shard returned into L0 and, in the background, L1 (under `gen`). */
  keepUpper(entries: Entry[], gen: string | null): void {
    if (gen === null) return;
    const now = this.clock.now();
    for (const entry of entries) {
      this.l0?.set(entry, now, gen);
      if (this.l1) this.background(this.l1.set(entry, gen).catch(() => {}));
    }
  }

  /** Reads the shard only, past L0 and L1: what `strong` reads need (an upper-tier copy may be stale). */
  async readShard(namespace: string, key: string): Promise<ReadResult> {
    const shard = await this.shards.read(namespace, key);
    return {
      entry: shard.entry,
      source: shard.source,
      l0: 'disabled',
      l1: 'skipped',
      l3: shard.l3,
      collapsed: shard.collapsed,
      ...(shard.storedInL2 !== undefined ? { l2Stored: shard.storedInL2 } : {}),
      ...(shard.stale ? { stale: shard.stale } : {}),
    };
  }

  /** Drops this data centre's L0/L1 copies of a key another region or tier changed. */
  async dropL1(namespace: string, key: string): Promise<void> {
    this.l0?.delete(namespace, key);
    if (!this.l1) return;
    try {
      const gen = await this.generations(namespace);
      if (gen !== null) await this.l1.delete(namespace, key, undefined, gen);
    } catch {
      // L1 copies expire within L1_MAX_TTL regardless.
    }
  }
}

/**
 * `Cache-Status` members for a read (RFC 9211), nearest the source first.
 * @example a hit in L2: `strata-l2; hit; ttl=59, strata-l1; fwd=miss; stored`
 */
export function cacheStatusFor(result: ReadResult, now: number): CacheStatusMember[] {
  // A stale (soft-purged) entry has a negative ttl: how long ago it went stale (RFC 9211 §2.3).
  const ttl = result.stale
    ? Math.min(-1, Math.floor((result.stale.since - now) / 1000))
    : result.entry
      ? remainingTtl(result.entry.meta, now)
      : undefined;
  // L1 is left out entirely when disabled (L1_MAX_TTL=0): it is not in the chain.
  const l1: CacheStatusMember[] =
    result.l1 === 'disabled' || result.l1 === 'skipped'
      ? []
      : [
          {
            cache: cacheName('L1'),
            fwd: 'miss',
            stored: result.entry !== null && !result.stale && result.l1 === 'miss',
            ...(result.l1 === 'error' ? { detail: 'unavailable' } : {}),
          },
        ];
  // L0, when enabled, is the outermost member: it stores every copy it is offered.
  const l0: CacheStatusMember[] =
    result.l0 === 'miss'
      ? [{ cache: cacheName('L0'), fwd: 'miss', stored: result.entry !== null && !result.stale }]
      : [];
  return [...membersBelowL0(result, ttl, l1), ...l0];
}

function membersBelowL0(
  result: ReadResult,
  ttl: number | undefined,
  l1: CacheStatusMember[],
): CacheStatusMember[] {
  switch (result.source) {
    case 'L0':
      return [{ cache: cacheName('L0'), hit: true, ttl }];
    case 'L1':
      return [{ cache: cacheName('L1'), hit: true, ttl }];
    case 'L2':
      return [{ cache: cacheName('L2'), hit: true, ttl, ...staleDetail(result) }, ...l1];
    case 'L3':
      return [
        { cache: cacheName('L3'), hit: true, ttl, ...staleDetail(result) },
        {
          cache: cacheName('L2'),
          fwd: 'miss',
          stored: result.l2Stored !== false,
          collapsed: result.collapsed,
        },
        ...l1,
      ];
    default: {
      const members: CacheStatusMember[] = [];
      if (result.l3 !== 'skipped') {
        members.push({
          cache: cacheName('L3'),
          fwd: 'miss',
          ...(result.l3 === 'error' ? { detail: 'unavailable' } : {}),
        });
      }
      members.push({ cache: cacheName('L2'), fwd: 'miss', collapsed: result.collapsed }, ...l1);
      return members;
    }
  }
}

function staleDetail(result: ReadResult): { detail?: string } {
  return result.stale ? { detail: 'stale-while-revalidate' } : {};
}

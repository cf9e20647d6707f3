/**
 * The policy registry: every policy by name, with its restore function.
 * Shards, the simulator and tests create policies only through here.
 *
 * @example
 * const policy = createPolicy('lru', { maxWeight: 64 * 1024 * 1024 });
 */
import { AdaptivePolicy } from './adaptive.ts';
import { ArcPolicy } from './arc.ts';
import { LearnedPolicy } from './learned.ts';
import { LfuPolicy } from './lfu.ts';
import { LirsPolicy } from './lirs.ts';
import { LruPolicy } from './lru.ts';
import type { Capacity, Policy, PolicySnapshot } from './policy.ts';
import { PriorityPolicy } from './priority.ts';
import { S3FifoPolicy } from './s3-fifo.ts';
import { SievePolicy } from './sieve.ts';
import { TtlPolicy } from './ttl.ts';
import { WTinyLfuPolicy } from './w-tinylfu.ts';

export interface PolicyFactory {
  /** One line for `--help` and the README. */
  description: string;
  create(capacity: Capacity): Policy;
  restore(snapshot: PolicySnapshot, capacity: Capacity): Policy;
}

/** Add a policy with one entry here (keep the list alphabetical). */
export const POLICIES: Record<string, PolicyFactory> = {
  adaptive: {
    description:
      'W-TinyLFU whose window share is chosen online by miniature simulations (Waldspurger, ATC 2017)',
    create: (c) => new AdaptivePolicy(c),
    restore: (s, c) => AdaptivePolicy.restore(s, c),
  },
  arc: {
    description: 'ARC (Megiddo & Modha, FAST 2003): recency and frequency lists, adaptive split',
    create: (c) => new ArcPolicy(c),
    restore: (s, c) => ArcPolicy.restore(s, c),
  },
  learned: {
    description:
      'learned (LeCaR/CACHEUS): LRU, LFU and CR-LFU experts weighted online by ghost regret',
    create: (c) => new LearnedPolicy(c),
    restore: (s, c) => LearnedPolicy.restore(s, c),
  },
  lfu: {
    description: 'LFU with dynamic aging (LFU-DA): fewest references since entry, aged',
    create: (c) => new LfuPolicy(c),
    restore: (s, c) => LfuPolicy.restore(s, c),
  },
  lirs: {
    description: 'LIRS (Jiang & Zhang, SIGMETRICS 2002): reuse distance, 1% HIR, ghosts <= 3x',
    create: (c) => new LirsPolicy(c),
    restore: (s, c) => LirsPolicy.restore(s, c),
  },
  lru: {
    description: 'least recently used',
    create: (c) => new LruPolicy(c),
    restore: (s, c) => LruPolicy.restore(s, c),
  },
  priority: {
    description:
      'priority classes 0-3 on GreedyDual-Size-Frequency (Cherkasova 1998): keeps costly, small, hot',
    create: (c) => new PriorityPolicy(c),
    restore: (s, c) => PriorityPolicy.restore(s, c),
  },
  's3-fifo': {
    description: 'S3-FIFO (Yang et al., SOSP 2023): small, main and ghost FIFO queues',
    create: (c) => new S3FifoPolicy(c),
    restore: (s, c) => S3FifoPolicy.restore(s, c),
  },
  sieve: {
    description: 'SIEVE (Zhang et al., NSDI 2024): FIFO with a visited bit and a moving hand',
    create: (c) => new SievePolicy(c),
    restore: (s, c) => SievePolicy.restore(s, c),
  },
  ttl: {
    description: 'TTL-first: soonest expiry goes first, never-expiring last (LRU among them)',
    create: (c) => new TtlPolicy(c),
    restore: (s, c) => TtlPolicy.restore(s, c),
  },
  'w-tinylfu': {
    description:
      'W-TinyLFU (Einziger, Friedman & Manes, TOS 2017): window LRU, TinyLFU-filtered SLRU, hill-climbed window',
    create: (c) => new WTinyLfuPolicy(c),
    restore: (s, c) => WTinyLfuPolicy.restore(s, c),
  },
};

/** The policy shards use when a namespace names none (chosen by measurement; see README). */
export const DEFAULT_POLICY = 'adaptive';

export function createPolicy(name: string, capacity: Capacity): Policy {
  const factory = POLICIES[name];
  if (!factory)
    throw new RangeError(`unknown policy "${name}"; known: ${Object.keys(POLICIES).join(', ')}`);
  return factory.create(capacity);
}

export function restorePolicy(snapshot: PolicySnapshot, capacity: Capacity): Policy {
  const factory = POLICIES[snapshot.name];
  if (!factory) throw new RangeError(`unknown policy "${snapshot.name}" in snapshot`);
  return factory.restore(snapshot, capacity);
}

/**
 * The policy registry: every policy by name, with its restore function.
 * Shards, the simulator and tests create policies only through here.
 *
 * @example
 * const policy = createPolicy('lru', { maxWeight: 64 * 1024 * 1024 });
 */
import { LruPolicy } from './lru.ts';
import type { Capacity, Policy, PolicySnapshot } from './policy.ts';
import { WTinyLfuPolicy } from './w-tinylfu.ts';

export interface PolicyFactory {
  /** One line for `--help` and the README. */
  description: string;
  create(capacity: Capacity): Policy;
  restore(snapshot: PolicySnapshot, capacity: Capacity): Policy;
}

/** Add a policy with one entry here (keep the list alphabetical). */
export const POLICIES: Record<string, PolicyFactory> = {
  lru: {
    description: 'least recently used',
    create: (c) => new LruPolicy(c),
    restore: (s, c) => LruPolicy.restore(s, c),
  },
  'w-tinylfu': {
    description:
      'W-TinyLFU (Einziger, Friedman & Manes, TOS 2017): window LRU, TinyLFU-filtered SLRU, hill-climbed window',
    create: (c) => new WTinyLfuPolicy(c),
    restore: (s, c) => WTinyLfuPolicy.restore(s, c),
  },
};

/** The policy shards use when a namespace names none (chosen by measurement; see README). */
export const DEFAULT_POLICY = 'lru';

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

/**
 * The shard's RPC surface: what callers send and get back. Types only, so
 * the Worker, tests and scripts can name them without loading the object.
 */

import type { Entry, EntryMeta } from '../src/entry.ts';
import type { PeerState } from './outbox.ts';
import type { AntiEntropyReport } from './replicator.ts';
import type { PurgeStats } from './shard-purge.ts';

/** What happened at L3 during a call: consulted and answered, missed, failed, or not consulted. */
export type L3Outcome = 'ok' | 'miss' | 'error' | 'skipped';

export interface ShardRead {
  entry: Entry | null;
  source: 'L2' | 'L3' | null;
  l3: L3Outcome;
  /** True when this caller waited on another caller's L3 read. */
  collapsed: boolean;
  /** On an L3 hit: whether L2 kept a copy (false when the entry exceeds the shard budget). */
  storedInL2?: boolean;
  /** Set when a soft purge made the entry stale (README "Purge"). */
  stale?: StaleRead;
}

/** A soft-purged entry served within its `stale-while-revalidate` window. */
export interface StaleRead {
  /** Epoch ms it became stale (the purge). */
  since: number;
  /** Epoch ms after which it is not served at all. */
  until: number;
  /**
   * True for exactly one reader per key per lease period: the one that
   * should refresh it. Everyone else is served stale without the task.
   */
  revalidate: boolean;
}

export interface ShardWriteInput {
  namespace: string;
  key: string;
  value: Uint8Array;
  contentType: string;
  tags: string[];
  ttl: number;
  staleWhileRevalidate: number;
  staleIfError: number;
  /** `Cache-Priority` (0–3); absent means the namespace default. */
  priority?: number;
  /** `Cache-Cost`; absent means 1. */
  cost?: number;
}

export interface ShardWrite {
  meta: EntryMeta;
  /** Outbox sequence of the write (0 in a single region). */
  seq: number;
  /** False when the entry exceeds the shard's whole budget (served from L3 only). */
  storedInL2: boolean;
  l3: L3Outcome;
}

export interface ShardStats {
  entries: number;
  bytes: number;
  budget: number;
  evictions: number;
  refused: number;
  expiredRemoved: number;
  l3Reads: number;
  l3Errors: number;
  l3Pending: number;
  purges: PurgeStats;
}

export interface ShardRemove {
  existed: boolean;
  l3: L3Outcome;
  /** The tombstone's version and grace end, for a quorum push. */
  version: string;
  expiresAt: number;
  seq: number;
}

export interface ApplyResult {
  /** Events that changed this shard. */
  applied: number;
  /** Events older than what this shard knows (last writer already won). */
  stale: number;
  /** Events at or below the origin's high-water mark (re-deliveries). */
  duplicate: number;
  /** The origin's high-water mark after the batch. */
  hwm: number;
  /** Keys whose value changed, for dropping L1 copies. */
  changed: { ns: string; key: string }[];
}

export interface ReplicationStats {
  region: string;
  shard: number | null;
  outboxDepth: number;
  lastSeq: number;
  peers: PeerState[];
  inbound: { origin: string; hwm: number; applied: number; lastAt: number | null }[];
  versions: { live: number; tombstones: number };
  antiEntropy: { rounds: number; repaired: number; last: AntiEntropyReport[] };
}

/**
 * What travels between regions: one `ReplicationEvent` per accepted
 * mutation, in batches. Pure; no runtime imports.
 *
 * An event carries the HLC version the origin shard assigned, so every region
 * applies it with the same rule (last writer wins by HLC, tombstones
 * included) and a duplicate or late event changes nothing.
 *
 * A `put` without `meta`/`value` says "version V exists, I do not hold its
 * bytes" (anti-entropy sends it when the sender evicted the value): the
 * receiver drops any older copy and reads through L3.
 */
import * as z from 'zod/mini';
import type { EntryMeta } from '../entry.ts';

export interface ReplicationEvent {
  /** The origin shard's outbox sequence number (0 for anti-entropy repairs). */
  seq: number;
  op: 'put' | 'delete';
  ns: string;
  key: string;
  /** Formatted HLC. */
  version: string;
  /** When the entry expires, or, for a tombstone, when its grace period ends. */
  expiresAt: number;
  meta?: EntryMeta;
  /** The value, base64. */
  value?: string;
}

/** A batch as POSTed to `/internal/replicate`. */
export interface ReplicationBatch {
  origin: string;
  shard: number;
  /** The sender's SHARDS: key placement only agrees between regions with the same count. */
  shards: number;
  /**
   * True for pushes outside the outbox stream (quorum writes, anti-entropy):
   * applied by version only, without moving the sequence high-water mark.
   */
  direct: boolean;
  events: ReplicationEvent[];
}

/** Largest batch body accepted, in bytes (values travel base64). */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Most events in one batch. */
export const MAX_BATCH_EVENTS = 500;

const meta = z.object({
  namespace: z.string(),
  key: z.string(),
  version: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  staleWhileRevalidate: z.number(),
  staleIfError: z.number(),
  tags: z.array(z.string()),
  contentType: z.string(),
  size: z.number(),
  priority: z.optional(z.number()),
  cost: z.optional(z.number()),
});

const event = z.object({
  seq: z.number().check(z.int(), z.gte(0)),
  op: z.enum(['put', 'delete']),
  ns: z.string(),
  key: z.string(),
  version: z.string(),
  expiresAt: z.number(),
  meta: z.optional(meta),
  value: z.optional(z.string()),
});

export const replicationBatch = z.object({
  origin: z.string(),
  shard: z.number().check(z.int(), z.gte(0)),
  shards: z.number().check(z.int(), z.gte(1)),
  direct: z.boolean(),
  events: z.array(event).check(z.maxLength(MAX_BATCH_EVENTS)),
});

/** The approximate wire size of an event, to cut batches below `MAX_BATCH_BYTES`. */
export function eventBytes(e: ReplicationEvent): number {
  return (
    256 + e.key.length * 3 + (e.value?.length ?? 0) + (e.meta ? 256 + e.meta.tags.join().length : 0)
  );
}

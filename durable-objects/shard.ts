/**
 * ShardDO: L2, one Durable Object per (region, shard), the single writer for
 * the keys rendezvous hashing gives it.
 *
 * - Reads: SQLite first; on a miss, one L3 read per key however many callers
 *   wait (coalesced here, where sharing a promise across requests is safe),
 *   back-filling L2 only if no write raced the read.
 * - Writes: assign an HLC version, store in SQLite, then write L3. L3 writes
 *   for one key are chained so they reach Redis in version order. A failed
 *   L3 write is not lost: the key goes to `l3_pending`, and the alarm pushes
 *   the shard's current state for it to L3 with backoff until it lands.
 */
import { DurableObject } from 'cloudflare:workers';
import { systemClock } from '../src/clock.ts';
import type { Entry, EntryMeta } from '../src/entry.ts';
import { isFresh } from '../src/entry.ts';
import type { Env } from '../src/env.ts';
import { configFor } from '../src/env.ts';
import { formatHlc, HlcClock } from '../src/hlc.ts';
import { createRedis, RedisTier } from '../src/tiers/l3-redis.ts';
import type { Tier } from '../src/tiers/tier.ts';
import { withTimeout } from '../src/tiers/timeout.ts';
import { PendingL3 } from './pending-l3.ts';
import { ShardStore, SNAPSHOT_INTERVAL_MS } from './shard-store.ts';

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
}

interface Fill {
  promise: Promise<ShardRead>;
  /** Set when a write or delete lands while the L3 read is in flight. */
  raced: boolean;
}

export class ShardDO extends DurableObject<Env> {
  private readonly store: ShardStore;
  private readonly hlc: HlcClock;
  /** Not readonly: tests swap in a `ChaosTier` through `runInDurableObject`. */
  l3: Tier | null;
  private readonly pending: PendingL3;
  private readonly fills = new Map<string, Fill>();
  private readonly l3Chains = new Map<string, Promise<L3Outcome>>();
  private l3Reads = 0;
  private l3Errors = 0;
  /** When the alarm will save the policy snapshot; null when none is scheduled. */
  private snapshotDue: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = configFor(env);
    // SQLite calls are synchronous: if the schema cannot be created the
    // constructor throws and the runtime resets the object, input gate intact.
    this.store = new ShardStore(
      ctx.storage.sql,
      config.shardByteBudget,
      {
        policyOf: (ns) => config.namespacePolicies[ns] ?? config.evictionPolicy,
        priorityOf: (ns) => config.namespacePriorities[ns] ?? 1,
      },
      Date.now(),
    );
    this.pending = new PendingL3(ctx.storage.sql);
    this.hlc = new HlcClock(config.region, systemClock, this.store.lastHlc());
    const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env;
    this.l3 =
      url && token ? withTimeout(new RedisTier(createRedis(url, token)), config.l3TimeoutMs) : null;
  }

  async read(namespace: string, key: string): Promise<ShardRead> {
    const local = this.store.get(namespace, key, Date.now());
    if (local) {
      await this.scheduleSnapshot();
      return { entry: local, source: 'L2', l3: 'skipped', collapsed: false };
    }
    // A key whose last change has not reached L3 yet must not be read from L3.
    if (!this.l3 || this.pending.has(namespace, key)) {
      return { entry: null, source: null, l3: 'skipped', collapsed: false };
    }
    const id = `${namespace}\u0000${key}`;
    const inFlight = this.fills.get(id);
    if (inFlight) return { ...(await inFlight.promise), collapsed: true };
    const fill: Fill = {
      promise: Promise.resolve() as unknown as Promise<ShardRead>,
      raced: false,
    };
    fill.promise = this.fillFromL3(this.l3, namespace, key, fill).finally(() =>
      this.fills.delete(id),
    );
    this.fills.set(id, fill);
    return fill.promise;
  }

  async write(input: ShardWriteInput): Promise<ShardWrite> {
    const now = Date.now();
    const version = formatHlc(this.hlc.now());
    const meta: EntryMeta = {
      namespace: input.namespace,
      key: input.key,
      version,
      createdAt: now,
      expiresAt: now + input.ttl * 1000,
      staleWhileRevalidate: input.staleWhileRevalidate,
      staleIfError: input.staleIfError,
      tags: input.tags,
      contentType: input.contentType,
      size: input.value.byteLength,
      ...(input.priority !== undefined ? { priority: input.priority } : {}),
      ...(input.cost !== undefined ? { cost: input.cost } : {}),
    };
    const entry: Entry = { meta, value: input.value };
    this.markRaced(input.namespace, input.key);
    let storedInL2 = false;
    this.ctx.storage.transactionSync(() => {
      storedInL2 = this.store.put(entry, now);
      this.store.saveHlc(version);
    });
    await this.scheduleSnapshot();
    const l3 = await this.syncL3(input.namespace, input.key, (tier) => tier.set(entry));
    return { meta, storedInL2, l3 };
  }

  async remove(namespace: string, key: string): Promise<{ existed: boolean; l3: L3Outcome }> {
    this.markRaced(namespace, key);
    const existed = this.store.delete(namespace, key);
    const l3 = await this.syncL3(namespace, key, (tier) => tier.delete(namespace, key));
    return { existed, l3 };
  }

  /** Saves what the eviction policies learned now (the alarm also does it within 30 s of a change). */
  async checkpoint(): Promise<void> {
    this.store.saveSnapshot(Date.now());
  }

  async stats(): Promise<ShardStats> {
    return {
      ...this.store.stats(),
      l3Reads: this.l3Reads,
      l3Errors: this.l3Errors,
      l3Pending: this.pending.count(),
    };
  }

  /**
   * Saves the eviction policies' snapshot when due, and retries L3 writes
   * that failed by pushing the shard's current state of each pending key.
   * Safe to run twice or early: both steps are idempotent.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    if (this.snapshotDue !== null && this.snapshotDue <= now) {
      this.snapshotDue = null;
      if (this.store.changedSinceSnapshot) this.store.saveSnapshot(now);
    }
    const l3 = this.l3;
    if (!l3) {
      await this.armAlarm();
      return;
    }
    for (const { ns, key } of this.pending.due(now, 100)) {
      await this.syncL3(ns, key, async (tier) => {
        const current = this.store.get(ns, key, now);
        // Gone from L2 (deleted, expired or evicted): removing it from L3 is
        // always safe; L3 must never keep an older version than we acknowledged.
        if (current) await tier.set(current);
        else await tier.delete(ns, key);
      });
    }
    await this.armAlarm();
  }

  private async fillFromL3(
    l3: Tier,
    namespace: string,
    key: string,
    fill: Fill,
  ): Promise<ShardRead> {
    this.l3Reads++;
    let entry: Entry | null;
    try {
      entry = await l3.get(namespace, key);
    } catch {
      this.l3Errors++;
      return { entry: null, source: null, l3: 'error', collapsed: false };
    }
    const now = Date.now();
    if (fill.raced) {
      // A write or delete landed meanwhile: what L2 holds now is the answer.
      const local = this.store.get(namespace, key, now);
      return { entry: local, source: local ? 'L2' : null, l3: 'ok', collapsed: false };
    }
    if (!entry || !isFresh(entry.meta, now))
      return { entry: null, source: null, l3: 'miss', collapsed: false };
    const storedInL2 = this.store.putIfNewer(entry, now);
    return { entry, source: 'L3', l3: 'ok', collapsed: false, storedInL2 };
  }

  private markRaced(namespace: string, key: string): void {
    const fill = this.fills.get(`${namespace}\u0000${key}`);
    if (fill) fill.raced = true;
  }

  /**
   * Runs `op` against L3 after every earlier L3 operation on the same key, so
   * Redis sees one key's changes in version order. On failure the key is
   * queued in `l3_pending` for the alarm; on success it leaves the queue.
   */
  private syncL3(
    namespace: string,
    key: string,
    op: (tier: Tier) => Promise<void>,
  ): Promise<L3Outcome> {
    const l3 = this.l3;
    if (!l3) return Promise.resolve('skipped');
    const id = `${namespace}\u0000${key}`;
    const previous = this.l3Chains.get(id) ?? Promise.resolve<L3Outcome>('ok');
    const run = previous.then(async (): Promise<L3Outcome> => {
      try {
        await op(l3);
        this.pending.clear(namespace, key);
        return 'ok';
      } catch {
        this.l3Errors++;
        this.pending.add(namespace, key, Date.now());
        await this.armAlarm();
        return 'error';
      }
    });
    this.l3Chains.set(id, run);
    void run.finally(() => {
      if (this.l3Chains.get(id) === run) this.l3Chains.delete(id);
    });
    return run;
  }

  /** Makes sure the alarm will save what the policies learned within `SNAPSHOT_INTERVAL_MS`. */
  private async scheduleSnapshot(): Promise<void> {
    if (this.snapshotDue !== null || !this.store.changedSinceSnapshot) return;
    this.snapshotDue = Date.now() + SNAPSHOT_INTERVAL_MS;
    await this.armAlarm();
  }

  private async armAlarm(): Promise<void> {
    const pendingDue = this.pending.nextDue();
    const next =
      pendingDue === null
        ? this.snapshotDue
        : this.snapshotDue === null
          ? pendingDue
          : Math.min(pendingDue, this.snapshotDue);
    if (next === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }
}

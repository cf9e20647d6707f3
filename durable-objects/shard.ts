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
 * - Replication (several regions): every accepted write or delete is also
 *   appended to the outbox in the same SQLite transaction, and versions and
 *   tombstones are recorded in `key_versions` (the last-writer-wins
 *   register). The alarm drains the outbox to the peers and runs
 *   anti-entropy (replicator.ts); `applyRemote` applies peers' events.
 * - Purges (shard-purge.ts): rules from the region's PurgeDO, checked for
 *   every entry served or stored, and swept from the rows in the background.
 */
import { DurableObject } from 'cloudflare:workers';
import { bytesToBase64 } from '../src/base64.ts';
import { systemClock } from '../src/clock.ts';
import type { Entry, EntryMeta } from '../src/entry.ts';
import type { Env } from '../src/env.ts';
import { configFor } from '../src/env.ts';
import { formatHlc, HlcClock, parseHlc } from '../src/hlc.ts';
import type { PurgeRule } from '../src/purge/rules.ts';
import type { ReplicationEvent } from '../src/replication/events.ts';
import { signerFor } from '../src/replication/signing.ts';
import { createRedis, RedisTier } from '../src/tiers/l3-redis.ts';
import type { Tier } from '../src/tiers/tier.ts';
import { withTimeout } from '../src/tiers/timeout.ts';
import { applyBatch } from './apply-batch.ts';
import { type KeyVersion, KeyVersions, versionOf } from './key-versions.ts';
import { type Fill, fillFromL3, type L3FillDeps } from './l3-fill.ts';
import { L3Writer } from './l3-writer.ts';
import { Outbox } from './outbox.ts';
import { PendingL3 } from './pending-l3.ts';
import { type AntiEntropyReport, Replicator } from './replicator.ts';
import type {
  ApplyResult,
  ReplicationStats,
  ShardRead,
  ShardRemove,
  ShardStats,
  ShardWrite,
  ShardWriteInput,
} from './shard-api.ts';
import { type ProxyAnswer, type ProxyPlan, ShardProxy } from './shard-proxy.ts';
import { ShardPurges } from './shard-purge.ts';
import { ShardStore, SNAPSHOT_INTERVAL_MS } from './shard-store.ts';

export type * from './shard-api.ts';

export class ShardDO extends DurableObject<Env> {
  private readonly store: ShardStore;
  private readonly hlc: HlcClock;
  /** Not readonly: tests swap in a `ChaosTier` through `runInDurableObject`. */
  l3: Tier | null;
  private readonly pending: PendingL3;
  private readonly fills = new Map<string, Fill>();
  private readonly l3Writer: L3Writer;
  private l3Reads = 0;
  private l3Errors = 0;
  /** When the alarm will save the policy snapshot; null when none is scheduled. */
  private snapshotDue: number | null = null;
  private readonly versions: KeyVersions;
  private readonly outbox: Outbox;
  /**
   * This shard's index: from its name `<region>:shard:<n>` where the runtime
   * gives it, else as the callers state it (and remembered in SQLite, since
   * the alarm has no caller). Null until known: nothing replicates without it.
   */
  private shardIndex: number | null;
  private readonly config: ReturnType<typeof configFor>;
  private readonly purges: ShardPurges;
  /** Proxy mode's origin fills for the URLs this shard owns. */
  private readonly proxy = new ShardProxy({
    read: (ns, key) => this.read(ns, key),
    write: (input) => this.write(input),
    now: () => Date.now(),
  });

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
    this.l3Writer = new L3Writer(
      () => this.l3,
      this.pending,
      () => this.armAlarm(),
    );
    this.hlc = new HlcClock(config.region, systemClock, this.store.lastHlc());
    this.config = config;
    this.versions = new KeyVersions(ctx.storage.sql);
    this.outbox = new Outbox(ctx.storage.sql);
    this.purges = new ShardPurges(ctx.storage.sql, {
      store: this.store,
      versions: this.versions,
      tombstoneGraceMs: config.tombstoneGraceMs,
      changing: (ns, key) => this.markRaced(ns, key),
      transaction: (fn) => ctx.storage.transactionSync(fn),
    });
    const m = /:shard:(\d+)$/.exec(ctx.id.name ?? '');
    this.shardIndex = m ? Number(m[1]) : this.store.shardIndex();
    const now = Date.now();
    ctx.storage.transactionSync(() => {
      // A shard created before key_versions existed: seed it from the rows it holds.
      if (this.versions.isEmpty() && this.store.stats().entries > 0) {
        for (const v of this.store.versions()) this.versions.record({ ...v, deleted: false }, 0);
      }
      this.outbox.syncPeers(
        Object.keys(config.peers),
        now + Math.floor(Math.random() * Math.max(config.antiEntropyIntervalMs, 1)),
      );
    });
    // Whatever the last incarnation left to deliver gets an alarm, even if its alarm was lost.
    if (Object.keys(config.peers).length > 0) void ctx.blockConcurrencyWhile(() => this.armAlarm());
    const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env;
    this.l3 =
      url && token ? withTimeout(new RedisTier(createRedis(url, token)), config.l3TimeoutMs) : null;
  }

  async read(namespace: string, key: string): Promise<ShardRead> {
    const now = Date.now();
    const local = this.store.get(namespace, key, now);
    // A purged row not yet swept is removed here, and the read goes on as a miss.
    const serving = local ? this.purges.serving(local.meta, now) : null;
    if (local && serving?.serve) {
      await this.scheduleSnapshot();
      const stale = serving.stale ? { stale: serving.stale } : {};
      return { entry: local, source: 'L2', l3: 'skipped', collapsed: false, ...stale };
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
    fill.promise = fillFromL3(this.l3FillDeps(), this.l3, namespace, key, fill).finally(() =>
      this.fills.delete(id),
    );
    this.fills.set(id, fill);
    return fill.promise;
  }

  async write(input: ShardWriteInput, shard?: number): Promise<ShardWrite> {
    this.learnIndex(shard);
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
    let seq = 0;
    this.ctx.storage.transactionSync(() => {
      storedInL2 = this.store.put(entry, now);
      // The value is base64'd only when there is someone to send it to.
      seq = this.appendOutbox(
        () => ({
          op: 'put',
          ns: meta.namespace,
          key: meta.key,
          version,
          expiresAt: meta.expiresAt,
          meta,
          value: bytesToBase64(input.value),
        }),
        now,
      );
      this.versions.record(versionOf(entry), seq);
      this.store.saveHlc(version);
    });
    await this.scheduleSnapshot();
    if (seq > 0) await this.armAlarm();
    const l3 = await this.l3Writer.run(input.namespace, input.key, (tier) => tier.set(entry));
    return { meta, seq, storedInL2, l3 };
  }

  /** Deletes (ns, key) everywhere: a tombstone versioned like a write, replicated, kept for the grace period. */
  async remove(namespace: string, key: string, shard?: number): Promise<ShardRemove> {
    this.learnIndex(shard);
    const now = Date.now();
    const version = formatHlc(this.hlc.now());
    const expiresAt = now + this.config.tombstoneGraceMs;
    this.markRaced(namespace, key);
    let existed = false;
    let seq = 0;
    this.ctx.storage.transactionSync(() => {
      existed = this.store.delete(namespace, key);
      seq = this.appendOutbox(
        () => ({ op: 'delete', ns: namespace, key, version, expiresAt }),
        now,
      );
      this.versions.record({ ns: namespace, key, version, expiresAt, deleted: true }, seq);
      this.store.saveHlc(version);
    });
    if (seq > 0) await this.armAlarm();
    const l3 = await this.l3Writer.run(namespace, key, (tier) =>
      tier.delete(namespace, key, { version, expiresAt }),
    );
    return { existed, l3, version, expiresAt, seq };
  }

  /** Proxy mode: one GET or HEAD of a URL this shard owns (shard-proxy.ts). */
  async proxyServe(plan: ProxyPlan): Promise<ProxyAnswer> {
    return this.proxy.serve(plan);
  }

  /** Applies a peer's events in one transaction, newest version winning (apply-batch.ts). */
  async applyRemote(
    origin: string,
    direct: boolean,
    events: ReplicationEvent[],
    shard?: number,
  ): Promise<ApplyResult> {
    this.learnIndex(shard);
    const result = this.ctx.storage.transactionSync(() =>
      applyBatch(
        {
          store: this.store,
          versions: this.versions,
          outbox: this.outbox,
          hlc: this.hlc,
          changing: (ns, key) => this.markRaced(ns, key),
          purged: (meta, now) => this.purges.dropIfPurged(meta, now),
        },
        origin,
        direct,
        events,
        Date.now(),
      ),
    );
    if (result.applied > 0) await this.scheduleSnapshot();
    return result;
  }

  /** Per-bucket digests of key versions alive at `asOf` (anti-entropy, asked by a peer). */
  async digest(asOf: number): Promise<number[]> {
    return this.versions.digest(asOf);
  }

  /** Key versions in `buckets` alive at `asOf`, paged by (ns, key). */
  async listVersions(
    buckets: number[],
    asOf: number,
    limit: number,
    after?: { ns: string; key: string },
  ): Promise<KeyVersion[]> {
    return this.versions.list(buckets, asOf, Math.min(limit, 5000), after);
  }

  async replicationStats(): Promise<ReplicationStats> {
    return {
      region: this.config.region,
      shard: this.shardIndex,
      outboxDepth: this.outbox.depth(),
      lastSeq: this.outbox.lastSeq(),
      peers: this.outbox.peers(),
      inbound: this.outbox.inbound(),
      versions: this.versions.count(),
      antiEntropy: (await this.replicator())?.antiEntropyStats ?? {
        rounds: 0,
        repaired: 0,
        last: [],
      },
    };
  }

  /** Runs an anti-entropy round with every peer now (operators and tests; the alarm does it on a schedule). */
  async antiEntropyNow(): Promise<AntiEntropyReport[]> {
    const replicator = await this.replicator();
    if (!replicator) return [];
    for (const peer of Object.keys(this.config.peers)) this.outbox.scheduleAntiEntropy(peer, 0);
    return replicator.antiEntropy(Date.now());
  }

  /** Records the index a caller gives, when the runtime did not name this object. */
  private learnIndex(shard: number | undefined): void {
    if (this.shardIndex !== null || shard === undefined) return;
    this.shardIndex = shard;
    this.store.saveShardIndex(shard);
    this.replicatorPromise = null;
  }

  /** Appends to the outbox when this shard replicates (it has peers and knows its index); returns the sequence, or 0. */
  private appendOutbox(event: () => Omit<ReplicationEvent, 'seq'>, now: number): number {
    if (!this.replicates()) return 0;
    return this.outbox.append(event(), now);
  }

  private replicates(): boolean {
    return this.shardIndex !== null && Object.keys(this.config.peers).length > 0;
  }

  private replicatorPromise: Promise<Replicator | null> | null = null;

  /** The replicator, once the signing key is imported; null in a single region or without keys. */
  private replicator(): Promise<Replicator | null> {
    if (!this.replicatorPromise) {
      const shard = this.shardIndex;
      this.replicatorPromise =
        shard === null || Object.keys(this.config.peers).length === 0
          ? Promise.resolve(null)
          : signerFor(this.env).then((signer) =>
              signer
                ? new Replicator({
                    config: this.config,
                    shard,
                    outbox: this.outbox,
                    versions: this.versions,
                    signer,
                    held: (ns, key) => this.store.peek(ns, key),
                  })
                : null,
            );
    }
    return this.replicatorPromise;
  }

  /** Saves what the eviction policies learned now (the alarm also does it within 30 s of a change). */
  async checkpoint(): Promise<void> {
    this.store.saveSnapshot(Date.now());
  }

  async stats(): Promise<ShardStats> {
    return {
      ...this.store.stats(),
      l3Reads: this.l3Reads,
      l3Errors: this.l3Errors + this.l3Writer.errors,
      l3Pending: this.pending.count(),
      purges: this.purges.stats(),
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
    const replicator = await this.replicator();
    if (replicator) {
      await replicator.deliver(now);
      await replicator.antiEntropy(now);
      this.ctx.storage.transactionSync(() => {
        this.outbox.collect();
      });
    }
    // Versions and tombstones past their time go in every region; the alarm runs within 30 s of writes.
    this.versions.prune(Date.now(), this.outbox.minAcked());
    this.purges.sweep(Date.now());
    this.purges.prune(Date.now());
    await this.l3Writer.retryDue(now, 100, async (ns, key, tier) => {
      // Push what this shard knows now: the entry, or the tombstone. L3
      // applies it only if nothing newer landed meanwhile (from any region).
      const current = this.store.get(ns, key, now);
      const known = this.versions.get(ns, key);
      if (current) await tier.set(current);
      else if (known?.deleted)
        await tier.delete(ns, key, { version: known.version, expiresAt: known.expiresAt });
      // Expired, or evicted before it could be pushed: L3 may lack this version,
      // but every region has it from replication, and nothing older is served.
    });
    await this.armAlarm();
  }

  private l3FillDeps(): L3FillDeps {
    return {
      store: this.store,
      purges: this.purges,
      versions: this.versions,
      transaction: (fn) => this.ctx.storage.transactionSync(fn),
      counted: (error) => {
        this.l3Reads++;
        if (error) this.l3Errors++;
      },
    };
  }

  /** A key is about to change: an in-flight L3 fill must not overwrite it, and a refresh lease is over. */
  private markRaced(namespace: string, key: string): void {
    const fill = this.fills.get(`${namespace}\u0000${key}`);
    if (fill) fill.raced = true;
    this.proxy.raced(namespace, key);
    this.purges.release(namespace, key);
  }

  /**
   * Applies purge rules to this shard (from this region's PurgeDO, for a
   * purge accepted here or replicated from a peer). Idempotent: rules it
   * already has change nothing. From the moment this returns, nothing the
   * rules select is served; the rows themselves go in background sweeps.
   */
  async applyPurge(rules: PurgeRule[], shard?: number): Promise<{ added: number }> {
    this.learnIndex(shard);
    const now = Date.now();
    const added = this.ctx.storage.transactionSync(() => {
      const fresh = this.purges.add(rules, now);
      for (const r of fresh) {
        const v = parseHlc(r.version);
        if (v) this.hlc.observe(v);
        if (r.kind === 'key') this.markRaced(r.ns, r.value);
      }
      if (fresh.length > 0) this.store.saveHlc(formatHlc(this.hlc.peek()));
      return fresh.length;
    });
    // Fills in flight for a selected key would otherwise store what they read before the rule.
    if (added > 0) {
      for (const fill of this.fills.values()) fill.raced = true;
      for (const r of rules) this.proxy.raced(r.ns);
    }
    this.purges.sweep(now);
    await this.armAlarm();
    return { added };
  }

  /** Makes sure the alarm will save what the policies learned within `SNAPSHOT_INTERVAL_MS`. */
  private async scheduleSnapshot(): Promise<void> {
    if (this.snapshotDue !== null || !this.store.changedSinceSnapshot) return;
    this.snapshotDue = Date.now() + SNAPSHOT_INTERVAL_MS;
    await this.armAlarm();
  }

  private async armAlarm(): Promise<void> {
    const replicating = this.replicates();
    const candidates = [
      this.pending.nextDue(),
      this.snapshotDue,
      replicating ? this.outbox.nextDelivery() : null,
      replicating && this.config.antiEntropyIntervalMs > 0 ? this.outbox.nextAntiEntropy() : null,
      this.purges.nextSweep(),
    ].filter((t): t is number => t !== null);
    if (candidates.length === 0) return;
    const next = Math.max(Math.min(...candidates), Date.now());
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }
}

/**
 * PurgeDO: one per region (`purge:<region>`), the coordinator of purges.
 *
 * Accepting a purge (`submit`, from `POST /v1/purge` or a signed webhook):
 *   1. stamp it with an HLC version and store it, in one transaction with
 *      an outbox row for the peers, the L3 jobs and the zone purge queue;
 *   2. apply its rules to this region's shards (all of them, or only the
 *      owner of each key for key purges) before answering, so a write
 *      accepted here after the 202 is stamped after the purge;
 *   3. from the alarm: deliver it to every peer region's PurgeDO (same
 *      outbox, backoff and signed transport as shard replication), which
 *      applies it to its shards before acknowledging; purge L3 page by page
 *      (once, from the accepting region, L3 being global); and call the
 *      Cloudflare zone purge API for tags when configured.
 *
 * It also feeds the isolates' L1 generations (`generations`): the version
 * of the latest purge per namespace received within L1_MAX_TTL, which L1
 * keys embed, and remembers webhook ids for the replay guard.
 */
import { DurableObject } from 'cloudflare:workers';
import { systemClock } from '../src/clock.ts';
import type { Env } from '../src/env.ts';
import { configFor } from '../src/env.ts';
import { shardFor } from '../src/hashing.ts';
import { formatHlc, HlcClock, parseHlc } from '../src/hlc.ts';
import type { PurgeRequest } from '../src/purge/request.ts';
import { compareVersionText, type Purge, purgeOf, rulesOf } from '../src/purge/rules.ts';
import { zoneConfigFor } from '../src/purge/zone-config.ts';
import { callPeer, PeerError } from '../src/replication/peer-client.ts';
import { signerFor } from '../src/replication/signing.ts';
import { createRedis, RedisTier } from '../src/tiers/l3-redis.ts';
import { ShardClient } from '../src/tiers/shard-client.ts';
import { Outbox } from './outbox.ts';
import { PurgeLedger, type PurgeStatus } from './purge-ledger.ts';
import { ZONE_NOT_CONFIGURED, ZonePurger } from './zone-purger.ts';

export type { PurgeStatus } from './purge-ledger.ts';

/** What `POST /v1/purge` answers. */
export interface PurgeAccepted {
  id: string;
  version: string;
  /** Path of the status resource. */
  status: string;
  /** Whether this region's shards applied it before the answer. */
  local: 'done' | 'pending';
}

export interface PurgeStats {
  /** Purges recorded here (accepted or received) and still kept for status. */
  recorded: number;
  /** Purges some shard of this region has not applied yet. */
  pendingLocally: number;
  /** L3 purge jobs not finished. */
  l3Pending: number;
  /** Tags waiting for the zone purge API. */
  zoneQueued: number;
  peers: {
    region: string;
    depth: number;
    delivered: number;
    failures: number;
    lastError: string | null;
  }[];
}

/** A signed webhook's id, remembered per endpoint until `expiresAt` to refuse replays. */
export interface WebhookClaim {
  endpoint: string;
  id: string;
  expiresAt: number;
}

/** Purges per delivery to a peer. */
const PURGES_PER_BATCH = 100;
/** L3 keys looked at per page, and pages per alarm run. */
const L3_PAGE = 500;
const L3_PAGES_PER_RUN = 20;
/** Retry delay for local shards that failed to apply a purge. */
const LOCAL_RETRY_MS = 1_000;

export class PurgeDO extends DurableObject<Env> {
  private readonly config: ReturnType<typeof configFor>;
  private readonly hlc: HlcClock;
  private readonly ledger: PurgeLedger;
  private readonly outbox: Outbox<Purge>;
  private readonly zone: ZonePurger | null;
  private readonly l3: RedisTier | null;
  /** When the zone queue should next be drained; null when it is empty (known after a drain). */
  private zoneNext: number | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configFor(env);
    this.ledger = new PurgeLedger(ctx.storage.sql);
    this.outbox = new Outbox<Purge>(ctx.storage.sql);
    // Purges are not compared by anti-entropy: the outbox keeps them until every peer has them.
    this.outbox.syncPeers(Object.keys(this.config.peers), Number.MAX_SAFE_INTEGER);
    this.hlc = new HlcClock(this.config.region, systemClock, this.ledger.lastHlc());
    const zone = zoneConfigFor(env);
    this.zone = zone ? new ZonePurger(ctx.storage.sql, zone, fetch.bind(globalThis)) : null;
    // After a restart, one drain finds out whether anything was left queued.
    this.zoneNext = this.zone ? Date.now() : null;
    const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env;
    this.l3 = url && token ? new RedisTier(createRedis(url, token)) : null;
  }

  /**
   * Accepts a purge in this region (see the header). With `claim` (a signed
   * webhook), the webhook id is recorded in the same transaction as the
   * purge, and a replay answers null without accepting anything: a purge
   * is never lost between the claim and its acceptance.
   */
  async submit(
    request: PurgeRequest,
    source: string,
    claim?: WebhookClaim,
  ): Promise<PurgeAccepted | null> {
    const now = Date.now();
    const version = formatHlc(this.hlc.now());
    const id = `pg_${randomHex(12)}_${this.config.region}`;
    const purge = purgeOf(request, id, this.config.region, version, now, source);
    const accepted = this.ctx.storage.transactionSync(() => {
      if (claim && !this.ledger.claimWebhookId(claim.endpoint, claim.id, claim.expiresAt, now))
        return false;
      this.ledger.insert(purge, this.shardsFor(purge), now, {
        l3: this.l3 !== null,
        peers: Object.keys(this.config.peers),
        tombstoneGraceMs: this.config.tombstoneGraceMs,
      });
      if (Object.keys(this.config.peers).length > 0) this.outbox.append(purge, now);
      if (this.zone && purge.selectors.tags.length > 0) {
        this.zone.enqueue(purge.id, purge.selectors.tags, now);
        this.zoneNext = now;
      }
      this.ledger.saveHlc(version);
      return true;
    });
    if (!accepted) return null;
    const done = await this.applyLocally(purge);
    await this.armAlarm();
    return { id, version, status: `/v1/purge/${id}`, local: done ? 'done' : 'pending' };
  }

  /**
   * Applies purges a peer delivered. Resolves true only when this region's
   * shards all have them, so the peer keeps retrying until they do.
   */
  async applyRemote(purges: Purge[]): Promise<boolean> {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (const p of purges) {
        const v = parseHlc(p.version);
        if (v) this.hlc.observe(v);
        this.ledger.insert(p, this.shardsFor(p), now, {
          l3: false,
          peers: [],
          tombstoneGraceMs: this.config.tombstoneGraceMs,
        });
      }
      this.ledger.saveHlc(formatHlc(this.hlc.peek()));
    });
    const results = await Promise.all(purges.map((p) => this.applyLocally(p)));
    if (results.some((ok) => !ok)) await this.armAlarm();
    return results.every((ok) => ok);
  }

  async status(id: string): Promise<PurgeStatus | null> {
    return this.ledger.status(
      id,
      this.config.region,
      this.config.regions,
      this.zone ? this.zone.status(id) : ZONE_NOT_CONFIGURED,
    );
  }

  /**
   * The L1 generation of each namespace purged within the last L1_MAX_TTL
   * (by arrival here): the version of its latest purge. Older purges cannot
   * matter to L1, whose copies live at most that long.
   */
  async generations(): Promise<Record<string, string>> {
    const since = Date.now() - this.config.l1MaxTtl * 1000 - this.config.purgeFeedMs;
    const out: Record<string, string> = {};
    for (const { ns, version } of this.ledger.receivedSince(since)) {
      const current = out[ns];
      if (current === undefined || compareVersionText(version, current) > 0) out[ns] = version;
    }
    return out;
  }

  /** Progress of this region's purges, for `/v1/stats` and `/metrics`. */
  async stats(): Promise<PurgeStats> {
    return {
      ...this.ledger.counts(),
      zoneQueued: this.zone?.queued() ?? 0,
      peers: this.outbox.peers().map((p) => ({
        region: p.region,
        depth: p.depth,
        delivered: p.delivered,
        failures: p.failures,
        lastError: p.lastError,
      })),
    };
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const purge of this.ledger.pendingLocally(now, 20)) await this.applyLocally(purge);
    await this.deliver(now);
    await this.purgeL3();
    if (this.zone && this.zoneNext !== null && this.zoneNext <= Date.now())
      this.zoneNext = await this.zone.drain(Date.now());
    this.ctx.storage.transactionSync(() => {
      this.outbox.collect();
      this.ledger.prune(Date.now());
    });
    await this.armAlarm();
  }

  /** Shard indexes a purge must reach: the owners of its keys, or every shard. */
  private shardsFor(purge: Purge): number[] {
    const s = purge.selectors;
    if (s.all || s.prefixes.length > 0 || s.tags.length > 0)
      return Array.from({ length: this.config.shards }, (_, i) => i);
    return [...new Set(s.keys.map((k) => shardFor(s.namespace, k, this.config.shards)))];
  }

  /** Sends the purge's rules to the shards that still lack them; true when none is left. */
  private async applyLocally(purge: Purge): Promise<boolean> {
    const pending = this.ledger.pendingShards(purge.id);
    if (pending.length === 0) return true;
    const rules = rulesOf(purge, this.config.tombstoneGraceMs);
    const client = new ShardClient(this.env.SHARD, this.config);
    const outcomes = await Promise.allSettled(
      pending.map((shard) => {
        const mine = rules.filter(
          (r) => r.kind !== 'key' || shardFor(r.ns, r.value, this.config.shards) === shard,
        );
        return client.stubForShard(shard).applyPurge(mine, shard);
      }),
    );
    const now = Date.now();
    const applied = pending.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    return this.ctx.storage.transactionSync(() =>
      this.ledger.shardsApplied(purge.id, applied, now, now + LOCAL_RETRY_MS),
    );
  }

  /** Delivers outstanding purges to every due peer. */
  private async deliver(now: number): Promise<void> {
    const peers = Object.entries(this.config.peers);
    if (peers.length === 0) return;
    const signer = await signerFor(this.env);
    if (!signer) return;
    await Promise.all(
      peers.map(async ([region, url]) => {
        const state = this.outbox.peer(region);
        if (!state || state.nextAt > now) return;
        for (let i = 0; i < 10; i++) {
          const acked = this.outbox.peer(region)?.ackedSeq ?? 0;
          const batch = this.outbox.batch(acked, PURGES_PER_BATCH, 4 * 1024 * 1024);
          if (batch.length === 0) return;
          const purges = batch.map(({ seq: _seq, ...p }) => p as Purge);
          try {
            await callPeer(
              signer,
              { region, url },
              'purge',
              { origin: this.config.region, purges },
              this.config.peerTimeoutMs,
            );
          } catch (err) {
            const reason = err instanceof PeerError ? err.reason : String(err);
            this.outbox.failed(region, reason, Date.now());
            return;
          }
          const at = Date.now();
          this.ctx.storage.transactionSync(() => {
            this.outbox.acknowledged(
              region,
              batch[batch.length - 1]?.seq ?? acked,
              batch.length,
              at,
            );
            for (const p of purges) this.ledger.regionDone(p.id, region, at);
          });
        }
      }),
    );
  }

  /** Runs the accepted purges' L3 jobs, a few pages per alarm. */
  private async purgeL3(): Promise<void> {
    const l3 = this.l3;
    if (!l3) return;
    let pages = 0;
    for (const job of this.ledger.l3Jobs(Date.now(), 50)) {
      try {
        if (job.kind === 'key') {
          await l3.delete(job.ns, job.value, { version: job.version, expiresAt: job.expiresAt });
          this.ledger.l3Step(job, '0', 1, 1, true);
          continue;
        }
        let cursor = job.cursor;
        for (;;) {
          const step = await l3.purgeStep(
            { namespace: job.ns, kind: job.kind, value: job.value },
            job.version,
            cursor,
            L3_PAGE,
          );
          cursor = step.cursor;
          this.ledger.l3Step(job, cursor, step.scanned, step.deleted, step.done);
          if (step.done || ++pages >= L3_PAGES_PER_RUN) break;
        }
      } catch (err) {
        this.ledger.l3Failed(job, String((err as Error).message ?? err), Date.now());
      }
      if (pages >= L3_PAGES_PER_RUN) break;
    }
  }

  private async armAlarm(): Promise<void> {
    const candidates = [this.outbox.nextDelivery(), this.ledger.nextDue(), this.zoneNext].filter(
      (t): t is number => t !== null,
    );
    if (candidates.length === 0) return;
    const next = Math.max(Math.min(...candidates), Date.now());
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

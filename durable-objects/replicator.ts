/**
 * The outgoing half of replication for one shard, run from the shard's alarm:
 *
 * - `deliver`: drains the outbox to every due peer in batches (at most
 *   `MAX_BATCH_EVENTS` events / `BATCH_BYTES` each), signed, to the same
 *   shard index in the peer region. A 2xx means the peer applied the batch
 *   durably; the peer's acknowledged sequence then moves forward. A failure
 *   backs that peer off (outbox.ts) without holding up the others.
 * - `antiEntropy`: compares per-bucket digests of key versions with a peer
 *   and pushes every version the peer lacks or holds older (the peer does
 *   the same towards us on its own schedule), repairing what a long
 *   partition or a lost outbox row left behind.
 *
 * Both are idempotent: running them twice, concurrently with writes, or
 * after a crash mid-way re-sends at most what a peer already has, and the
 * peer ignores it.
 */
import { bytesToBase64 } from '../src/base64.ts';
import type { Entry } from '../src/entry.ts';
import type { Config } from '../src/env.ts';
import type { ReplicationBatch, ReplicationEvent } from '../src/replication/events.ts';
import { MAX_BATCH_EVENTS } from '../src/replication/events.ts';
import { callPeer, PeerError, type PeerTarget } from '../src/replication/peer-client.ts';
import type { Signer } from '../src/replication/signing.ts';
import { BUCKETS, compareVersions, type KeyVersion, type KeyVersions } from './key-versions.ts';
import type { Outbox } from './outbox.ts';

/** Bytes of events per delivery request (well below the receiver's 8 MiB limit). */
export const BATCH_BYTES = 2 * 1024 * 1024;
/** Batches per peer in one alarm run, so one run stays short and others get a turn. */
const BATCHES_PER_RUN = 20;
/** Most key versions compared with one peer in one anti-entropy round; the rest waits for the next round. */
const ANTI_ENTROPY_MAX_ROWS = 10_000;
const VERSIONS_PAGE = 2_000;

export interface DeliveryReport {
  peer: string;
  sent: number;
  ok: boolean;
  error?: string;
}

export interface AntiEntropyReport {
  peer: string;
  bucketsDiffering: number;
  repaired: number;
  error?: string;
}

export interface ReplicatorDeps {
  config: Config;
  shard: number;
  outbox: Outbox;
  versions: KeyVersions;
  signer: Signer;
  /** The entry held in L2 for the key, without counting as an access. */
  held(ns: string, key: string): Entry | null;
}

export class Replicator {
  /** Anti-entropy rounds that compared with at least one peer, what they repaired, and the last round's reports. */
  readonly antiEntropyStats = { rounds: 0, repaired: 0, last: [] as AntiEntropyReport[] };

  constructor(private readonly deps: ReplicatorDeps) {}

  private targets(): PeerTarget[] {
    return Object.entries(this.deps.config.peers).map(([region, url]) => ({ region, url }));
  }

  /** Delivers to every peer whose backoff has passed; returns what happened per peer. */
  async deliver(now: number): Promise<DeliveryReport[]> {
    const due = this.targets().filter((t) => {
      const state = this.deps.outbox.peer(t.region);
      return state !== null && state.nextAt <= now && state.ackedSeq < this.deps.outbox.lastSeq();
    });
    return Promise.all(due.map((t) => this.deliverTo(t)));
  }

  private async deliverTo(peer: PeerTarget): Promise<DeliveryReport> {
    const { outbox, config, shard, signer } = this.deps;
    let sent = 0;
    for (let i = 0; i < BATCHES_PER_RUN; i++) {
      const acked = outbox.peer(peer.region)?.ackedSeq ?? 0;
      const events = outbox.batch(acked, MAX_BATCH_EVENTS, BATCH_BYTES);
      if (events.length === 0) break;
      const batch: ReplicationBatch = {
        origin: config.region,
        shard,
        shards: config.shards,
        direct: false,
        events,
      };
      try {
        await callPeer(signer, peer, 'replicate', batch, config.peerTimeoutMs);
      } catch (err) {
        const reason = err instanceof PeerError ? err.reason : String(err);
        outbox.failed(peer.region, reason, Date.now());
        return { peer: peer.region, sent, ok: false, error: reason };
      }
      const last = events[events.length - 1] as ReplicationEvent;
      outbox.acknowledged(peer.region, last.seq, events.length, Date.now());
      sent += events.length;
    }
    return { peer: peer.region, sent, ok: true };
  }

  /** Runs an anti-entropy round with every peer that is due. */
  async antiEntropy(now: number): Promise<AntiEntropyReport[]> {
    const { outbox, config } = this.deps;
    if (config.antiEntropyIntervalMs === 0) return [];
    const due = this.targets().filter((t) => {
      const state = outbox.peer(t.region);
      return state !== null && state.antiEntropyAt <= now;
    });
    const reports = await this.compareAll(due, now);
    if (reports.length > 0) {
      this.antiEntropyStats.rounds++;
      this.antiEntropyStats.repaired += reports.reduce((n, r) => n + r.repaired, 0);
      this.antiEntropyStats.last = reports;
    }
    return reports;
  }

  private compareAll(due: PeerTarget[], now: number): Promise<AntiEntropyReport[]> {
    const { outbox, config } = this.deps;
    return Promise.all(
      due.map(async (t) => {
        // Jitter keeps the shards of a region from all comparing at the same moment.
        const interval = config.antiEntropyIntervalMs;
        outbox.scheduleAntiEntropy(
          t.region,
          now + Math.floor(interval * (0.9 + Math.random() * 0.2)),
        );
        try {
          return await this.compareWith(t, now);
        } catch (err) {
          const reason = err instanceof PeerError ? err.reason : String(err);
          return { peer: t.region, bucketsDiffering: -1, repaired: 0, error: reason };
        }
      }),
    );
  }

  private async compareWith(peer: PeerTarget, asOf: number): Promise<AntiEntropyReport> {
    const { versions, config, shard, signer } = this.deps;
    const theirs = await callPeer<{ buckets: number[] }>(
      signer,
      peer,
      'digest',
      { shard, shards: config.shards, asOf },
      config.peerTimeoutMs,
    );
    const mine = versions.digest(asOf);
    const differing: number[] = [];
    for (let b = 0; b < BUCKETS; b++) if (mine[b] !== theirs.buckets[b]) differing.push(b);
    if (differing.length === 0) return { peer: peer.region, bucketsDiffering: 0, repaired: 0 };

    const theirVersions = new Map<string, string>();
    let after: { ns: string; key: string } | undefined;
    while (theirVersions.size < ANTI_ENTROPY_MAX_ROWS) {
      const page = await callPeer<{ rows: KeyVersion[] }>(
        signer,
        peer,
        'versions',
        { shard, shards: config.shards, buckets: differing, asOf, after, limit: VERSIONS_PAGE },
        config.peerTimeoutMs,
      );
      for (const row of page.rows) theirVersions.set(`${row.ns}\u0000${row.key}`, row.version);
      if (page.rows.length < VERSIONS_PAGE) break;
      const last = page.rows[page.rows.length - 1] as KeyVersion;
      after = { ns: last.ns, key: last.key };
    }

    const repairs: ReplicationEvent[] = [];
    for (const row of versions.list(differing, asOf, ANTI_ENTROPY_MAX_ROWS)) {
      const known = theirVersions.get(`${row.ns}\u0000${row.key}`);
      if (known !== undefined && compareVersions(row.version, known) <= 0) continue;
      repairs.push(this.repairEvent(row));
    }
    await this.push(peer, repairs);
    return { peer: peer.region, bucketsDiffering: differing.length, repaired: repairs.length };
  }

  /** The event that brings a peer up to `row`: a tombstone, the entry, or the bare version. */
  private repairEvent(row: KeyVersion): ReplicationEvent {
    const base = {
      seq: 0,
      ns: row.ns,
      key: row.key,
      version: row.version,
      expiresAt: row.expiresAt,
    };
    if (row.deleted) return { ...base, op: 'delete' };
    const entry = this.deps.held(row.ns, row.key);
    if (entry && entry.meta.version === row.version)
      return { ...base, op: 'put', meta: entry.meta, value: bytesToBase64(entry.value) };
    return { ...base, op: 'put' };
  }

  /** Sends events outside the outbox stream (`direct`), in batches. */
  private async push(peer: PeerTarget, events: ReplicationEvent[]): Promise<void> {
    const { config, shard, signer } = this.deps;
    let batch: ReplicationEvent[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const body: ReplicationBatch = {
        origin: config.region,
        shard,
        shards: config.shards,
        direct: true,
        events: batch,
      };
      await callPeer(signer, peer, 'replicate', body, config.peerTimeoutMs);
      batch = [];
      bytes = 0;
    };
    for (const e of events) {
      const size = (e.value?.length ?? 0) + 512;
      if (batch.length >= MAX_BATCH_EVENTS || (batch.length > 0 && bytes + size > BATCH_BYTES))
        await flush();
      batch.push(e);
      bytes += size;
    }
    await flush();
  }
}

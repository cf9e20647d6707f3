/**
 * A shard's durable outbox and its view of each peer region.
 *
 * - `outbox`: one row per accepted mutation, appended in the same SQLite
 *   transaction as the data change, numbered by an AUTOINCREMENT sequence
 *   (never reused, even after rows are deleted).
 * - `peers`: per peer, the highest sequence it acknowledged, its backoff
 *   state and delivery counters. A row leaves the outbox only when every
 *   configured peer acknowledged it.
 * - `inbound`: per origin region, the highest sequence applied from its
 *   stream (the high-water mark that makes re-deliveries no-ops).
 *
 * Backoff after a failed delivery: `BASE_BACKOFF_MS` doubling per consecutive
 * failure up to `MAX_BACKOFF_MS`, with full jitter over the upper half (so a
 * peer coming back is retried within `MAX_BACKOFF_MS` at worst).
 */
import type { ReplicationEvent } from '../src/replication/events.ts';

export const BASE_BACKOFF_MS = 250;
export const MAX_BACKOFF_MS = 10_000;

export interface PeerState {
  region: string;
  ackedSeq: number;
  /** Consecutive failed deliveries (0 when healthy). */
  attempts: number;
  nextAt: number;
  failures: number;
  delivered: number;
  lastOkAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  antiEntropyAt: number;
  /** Events not yet acknowledged. */
  depth: number;
  /** Creation time of the oldest unacknowledged event, if any. */
  oldestUnackedAt: number | null;
}

interface PeerRow extends Record<string, SqlStorageValue> {
  region: string;
  acked_seq: number;
  attempts: number;
  next_at: number;
  failures: number;
  delivered: number;
  last_ok_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  ae_next_at: number;
}

/**
 * `E` is what one row carries: a shard's replication events by default, a
 * PurgeDO's purges in durable-objects/purge.ts.
 */
export class Outbox<E extends object = Omit<ReplicationEvent, 'seq'>> {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS peers (
      region TEXT PRIMARY KEY,
      acked_seq INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL DEFAULT 0,
      failures INTEGER NOT NULL DEFAULT 0,
      delivered INTEGER NOT NULL DEFAULT 0,
      last_ok_at INTEGER,
      last_error TEXT,
      last_error_at INTEGER,
      ae_next_at INTEGER NOT NULL DEFAULT 0
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS inbound (
      origin TEXT PRIMARY KEY,
      hwm INTEGER NOT NULL,
      applied INTEGER NOT NULL DEFAULT 0,
      last_at INTEGER
    )`);
  }

  /**
   * Makes the peer table match the configuration: a new peer starts at
   * sequence 0 (it receives what the outbox still holds; anti-entropy brings
   * the rest), a removed one is forgotten so it cannot pin the outbox.
   */
  syncPeers(regions: readonly string[], antiEntropyAt: number): void {
    const known = new Set(
      this.sql
        .exec<{ region: string }>('SELECT region FROM peers')
        .toArray()
        .map((r) => r.region),
    );
    for (const region of regions) {
      if (!known.has(region))
        this.sql.exec(
          'INSERT INTO peers (region, acked_seq, ae_next_at) VALUES (?, 0, ?)',
          region,
          antiEntropyAt,
        );
      known.delete(region);
    }
    for (const gone of known) this.sql.exec('DELETE FROM peers WHERE region = ?', gone);
  }

  /** Appends an event; call inside the transaction that changes the data. Returns its sequence. */
  append(event: E, now: number): number {
    const text = JSON.stringify(event);
    return this.sql
      .exec<{ seq: number }>(
        'INSERT INTO outbox (event, bytes, created_at) VALUES (?, ?, ?) RETURNING seq',
        text,
        text.length,
        now,
      )
      .one().seq;
  }

  /** Events after `afterSeq`, oldest first, at most `maxEvents` and about `maxBytes` (always at least one). */
  batch(afterSeq: number, maxEvents: number, maxBytes: number): (E & { seq: number })[] {
    const out: (E & { seq: number })[] = [];
    let bytes = 0;
    for (const row of this.sql.exec<{ seq: number; event: string; bytes: number }>(
      'SELECT seq, event, bytes FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
      afterSeq,
      maxEvents,
    )) {
      if (out.length > 0 && bytes + row.bytes > maxBytes) break;
      bytes += row.bytes;
      out.push({ ...(JSON.parse(row.event) as E), seq: row.seq });
    }
    return out;
  }

  peer(region: string): PeerState | null {
    const row = this.sql.exec<PeerRow>('SELECT * FROM peers WHERE region = ?', region).toArray()[0];
    return row ? this.toState(row) : null;
  }

  peers(): PeerState[] {
    return this.sql
      .exec<PeerRow>('SELECT * FROM peers ORDER BY region')
      .toArray()
      .map((r) => this.toState(r));
  }

  /** Records that `region` acknowledged everything up to `seq` (never moves backwards). */
  acknowledged(region: string, seq: number, count: number, now: number): void {
    this.sql.exec(
      `UPDATE peers SET acked_seq = MAX(acked_seq, ?), attempts = 0, next_at = 0,
         delivered = delivered + ?, last_ok_at = ? WHERE region = ?`,
      seq,
      count,
      now,
      region,
    );
  }

  /** Records a failed delivery and schedules the next try with backoff and jitter. */
  failed(region: string, error: string, now: number): number {
    const row = this.sql
      .exec<{ attempts: number }>('SELECT attempts FROM peers WHERE region = ?', region)
      .toArray()[0];
    const attempts = (row?.attempts ?? 0) + 1;
    const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.min(attempts - 1, 16));
    const nextAt = now + Math.floor(ceiling / 2 + Math.random() * (ceiling / 2));
    this.sql.exec(
      `UPDATE peers SET attempts = ?, next_at = ?, failures = failures + 1, last_error = ?,
         last_error_at = ? WHERE region = ?`,
      attempts,
      nextAt,
      error.slice(0, 300),
      now,
      region,
    );
    return nextAt;
  }

  scheduleAntiEntropy(region: string, at: number): void {
    this.sql.exec('UPDATE peers SET ae_next_at = ? WHERE region = ?', at, region);
  }

  /** The lowest sequence every peer acknowledged (the outbox's head when there are no peers). */
  minAcked(): number {
    const row = this.sql.exec<{ m: number | null }>('SELECT MIN(acked_seq) AS m FROM peers').one();
    return row.m ?? this.lastSeq();
  }

  /** Deletes rows every peer acknowledged; returns how many. */
  collect(): number {
    return this.sql.exec('DELETE FROM outbox WHERE seq <= ?', this.minAcked()).rowsWritten;
  }

  lastSeq(): number {
    const row = this.sql
      .exec<{ seq: number | null }>("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
      .toArray()[0];
    return row?.seq ?? 0;
  }

  depth(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
  }

  /** When the alarm must next deliver: the earliest due peer with something unacknowledged, or null. */
  nextDelivery(): number | null {
    const last = this.lastSeq();
    const row = this.sql
      .exec<{ t: number | null }>('SELECT MIN(next_at) AS t FROM peers WHERE acked_seq < ?', last)
      .one();
    return row.t ?? null;
  }

  nextAntiEntropy(): number | null {
    const row = this.sql.exec<{ t: number | null }>('SELECT MIN(ae_next_at) AS t FROM peers').one();
    return row.t ?? null;
  }

  /** The high-water mark of `origin`'s stream applied here. */
  inboundMark(origin: string): number {
    const row = this.sql
      .exec<{ hwm: number }>('SELECT hwm FROM inbound WHERE origin = ?', origin)
      .toArray()[0];
    return row?.hwm ?? 0;
  }

  advanceInbound(origin: string, hwm: number, applied: number, now: number): void {
    this.sql.exec(
      `INSERT INTO inbound (origin, hwm, applied, last_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (origin) DO UPDATE SET hwm = MAX(hwm, excluded.hwm),
         applied = applied + excluded.applied, last_at = excluded.last_at`,
      origin,
      hwm,
      applied,
      now,
    );
  }

  inbound(): { origin: string; hwm: number; applied: number; lastAt: number | null }[] {
    return this.sql
      .exec<{ origin: string; hwm: number; applied: number; last_at: number | null }>(
        'SELECT origin, hwm, applied, last_at FROM inbound ORDER BY origin',
      )
      .toArray()
      .map((r) => ({ origin: r.origin, hwm: r.hwm, applied: r.applied, lastAt: r.last_at }));
  }

  private toState(row: PeerRow): PeerState {
    const pending = this.sql
      .exec<{ n: number; t: number | null }>(
        'SELECT COUNT(*) AS n, MIN(created_at) AS t FROM outbox WHERE seq > ?',
        row.acked_seq,
      )
      .one();
    return {
      region: row.region,
      ackedSeq: row.acked_seq,
      attempts: row.attempts,
      nextAt: row.next_at,
      failures: row.failures,
      delivered: row.delivered,
      lastOkAt: row.last_ok_at,
      lastError: row.last_error,
      lastErrorAt: row.last_error_at,
      antiEntropyAt: row.ae_next_at,
      depth: pending.n,
      oldestUnackedAt: pending.t,
    };
  }
}

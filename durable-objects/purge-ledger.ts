/**
 * The PurgeDO's SQLite side: what it accepted or received, how far each
 * purge got (this region's shards, each peer region, L3), the webhook ids it
 * has seen, and its HLC.
 *
 *   purges         one row per purge, the purge itself as JSON
 *   purge_shards   shards of this region that still have to apply a purge
 *   purge_regions  per peer, when it acknowledged (accepting region only)
 *   l3_jobs        per rule, the L3 purge's cursor (accepting region only)
 *   webhook_ids    (endpoint, webhook-id) pairs seen within the tolerance
 *
 * Records are kept `RECORD_TTL_MS` for `GET /v1/purge/:id`, then pruned.
 */
import type { Hlc } from '../src/hlc.ts';
import { parseHlc } from '../src/hlc.ts';
import type { Purge, PurgeKind } from '../src/purge/rules.ts';
import { ruleRetentionMs } from '../src/purge/rules.ts';

/** How long a purge's record (and so its status) is kept. */
export const RECORD_TTL_MS = 7 * 24 * 3600 * 1000;
/** Backoff of failed L3 pages: doubling from 1 s to a minute. */
const L3_BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000];

export type Progress = 'done' | 'pending' | 'unknown';

export interface PurgeStatus {
  id: string;
  origin: string;
  version: string;
  namespace: string;
  keys: string[];
  prefixes: string[];
  tags: string[];
  all: boolean;
  soft: boolean;
  source: string;
  acceptedAt: string;
  /** True when every region, L3 and the zone purge (if any) are done, as far as this region knows. */
  complete: boolean;
  regions: Record<string, { state: Progress; at?: string }>;
  l3: {
    state: 'done' | 'pending' | 'not-configured' | 'unknown';
    scanned: number;
    deleted: number;
    lastError?: string;
  };
  zone: unknown;
}

export interface L3Job {
  id: string;
  ns: string;
  kind: PurgeKind;
  value: string;
  version: string;
  expiresAt: number;
  cursor: string;
  attempts: number;
}

interface PurgeRow extends Record<string, SqlStorageValue> {
  id: string;
  body: string;
  received_at: number;
  local_done_at: number | null;
}

export class PurgeLedger {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS purges (
      id TEXT PRIMARY KEY, origin TEXT NOT NULL, ns TEXT NOT NULL, version TEXT NOT NULL,
      body TEXT NOT NULL, received_at INTEGER NOT NULL, local_done_at INTEGER, retry_at INTEGER
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS purges_by_arrival ON purges (received_at)');
    sql.exec('CREATE INDEX IF NOT EXISTS purges_by_retry ON purges (retry_at)');
    sql.exec(`CREATE TABLE IF NOT EXISTS purge_shards (
      id TEXT NOT NULL, shard INTEGER NOT NULL, PRIMARY KEY (id, shard)
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS purge_regions (
      id TEXT NOT NULL, region TEXT NOT NULL, done_at INTEGER, PRIMARY KEY (id, region)
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS l3_jobs (
      id TEXT NOT NULL, ns TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
      version TEXT NOT NULL, expires_at INTEGER NOT NULL, cursor TEXT NOT NULL DEFAULT '0',
      scanned INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
      done INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT, PRIMARY KEY (id, kind, value)
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS l3_jobs_due ON l3_jobs (done, next_at)');
    sql.exec(`CREATE TABLE IF NOT EXISTS webhook_ids (
      endpoint TEXT NOT NULL, id TEXT NOT NULL, expires_at INTEGER NOT NULL,
      PRIMARY KEY (endpoint, id)
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS webhook_ids_by_expiry ON webhook_ids (expires_at)');
    sql.exec('CREATE TABLE IF NOT EXISTS purge_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
  }

  lastHlc(): Hlc | undefined {
    const row = this.sql
      .exec<{ v: string }>("SELECT v FROM purge_meta WHERE k = 'hlc'")
      .toArray()[0];
    return row ? (parseHlc(row.v) ?? undefined) : undefined;
  }

  saveHlc(version: string): void {
    this.sql.exec(
      "INSERT INTO purge_meta (k, v) VALUES ('hlc', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      version,
    );
  }

  /**
   * Records a purge (nothing if it is known): the shards that must apply it,
   * and, where this region accepted it, its peers and L3 jobs.
   */
  insert(
    purge: Purge,
    shards: number[],
    now: number,
    accepted: { l3: boolean; peers: string[]; tombstoneGraceMs: number },
  ): boolean {
    const inserted = this.sql.exec(
      `INSERT INTO purges (id, origin, ns, version, body, received_at, retry_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      purge.id,
      purge.origin,
      purge.selectors.namespace,
      purge.version,
      JSON.stringify(purge),
      now,
      now,
    ).rowsWritten;
    if (inserted === 0) return false;
    for (const shard of shards)
      this.sql.exec('INSERT INTO purge_shards (id, shard) VALUES (?, ?)', purge.id, shard);
    for (const region of accepted.peers)
      this.sql.exec('INSERT INTO purge_regions (id, region) VALUES (?, ?)', purge.id, region);
    if (accepted.l3) {
      const s = purge.selectors;
      // L3 remembers the purge's version per key as long as shards keep the rule.
      const expiresAt = purge.at + ruleRetentionMs(purge.soft, accepted.tombstoneGraceMs);
      const jobs: [PurgeKind, string][] = s.all
        ? [['namespace', '']]
        : [
            ...s.keys.map((k): [PurgeKind, string] => ['key', k]),
            ...s.prefixes.map((p): [PurgeKind, string] => ['prefix', p]),
            ...s.tags.map((t): [PurgeKind, string] => ['tag', t]),
          ];
      for (const [kind, value] of jobs)
        this.sql.exec(
          `INSERT INTO l3_jobs (id, ns, kind, value, version, expires_at, next_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          purge.id,
          s.namespace,
          kind,
          value,
          purge.version,
          expiresAt,
          now,
        );
    }
    return true;
  }

  pendingShards(id: string): number[] {
    return this.sql
      .exec<{ shard: number }>('SELECT shard FROM purge_shards WHERE id = ? ORDER BY shard', id)
      .toArray()
      .map((r) => r.shard);
  }

  /** Marks shards as having applied a purge; true when none is left. */
  shardsApplied(id: string, shards: number[], now: number, retryAt: number): boolean {
    for (const shard of shards)
      this.sql.exec('DELETE FROM purge_shards WHERE id = ? AND shard = ?', id, shard);
    const left = this.pendingShards(id).length;
    if (left === 0)
      this.sql.exec(
        'UPDATE purges SET local_done_at = COALESCE(local_done_at, ?), retry_at = NULL WHERE id = ?',
        now,
        id,
      );
    else this.sql.exec('UPDATE purges SET retry_at = ? WHERE id = ?', retryAt, id);
    return left === 0;
  }

  /** Purges some local shard still lacks, due for another try. */
  pendingLocally(now: number, limit: number): Purge[] {
    return this.sql
      .exec<{ body: string }>(
        'SELECT body FROM purges WHERE retry_at IS NOT NULL AND retry_at <= ? ORDER BY retry_at LIMIT ?',
        now,
        limit,
      )
      .toArray()
      .map((r) => JSON.parse(r.body) as Purge);
  }

  regionDone(id: string, region: string, at: number): void {
    this.sql.exec(
      'UPDATE purge_regions SET done_at = COALESCE(done_at, ?) WHERE id = ? AND region = ?',
      at,
      id,
      region,
    );
  }

  /** (namespace, version) of purges that arrived at or after `since`. */
  receivedSince(since: number): { ns: string; version: string }[] {
    return this.sql
      .exec<{ ns: string; version: string }>(
        'SELECT ns, version FROM purges WHERE received_at >= ?',
        since,
      )
      .toArray();
  }

  claimWebhookId(endpoint: string, id: string, expiresAt: number, now: number): boolean {
    this.sql.exec('DELETE FROM webhook_ids WHERE expires_at <= ?', now);
    return (
      this.sql.exec(
        'INSERT INTO webhook_ids (endpoint, id, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        endpoint,
        id,
        expiresAt,
      ).rowsWritten > 0
    );
  }

  l3Jobs(now: number, limit: number): L3Job[] {
    return this.sql
      .exec<{
        id: string;
        ns: string;
        kind: string;
        value: string;
        version: string;
        expires_at: number;
        cursor: string;
        attempts: number;
      }>(
        `SELECT id, ns, kind, value, version, expires_at, cursor, attempts FROM l3_jobs
         WHERE done = 0 AND next_at <= ? ORDER BY next_at LIMIT ?`,
        now,
        limit,
      )
      .toArray()
      .map((r) => ({
        id: r.id,
        ns: r.ns,
        kind: r.kind as PurgeKind,
        value: r.value,
        version: r.version,
        expiresAt: r.expires_at,
        cursor: r.cursor,
        attempts: r.attempts,
      }));
  }

  l3Step(job: L3Job, cursor: string, scanned: number, deleted: number, done: boolean): void {
    this.sql.exec(
      `UPDATE l3_jobs SET cursor = ?, scanned = scanned + ?, deleted = deleted + ?, done = ?,
         attempts = 0, last_error = NULL WHERE id = ? AND kind = ? AND value = ?`,
      cursor,
      scanned,
      deleted,
      done ? 1 : 0,
      job.id,
      job.kind,
      job.value,
    );
  }

  l3Failed(job: L3Job, error: string, now: number): void {
    const delay = L3_BACKOFF_MS[Math.min(job.attempts, L3_BACKOFF_MS.length - 1)] as number;
    this.sql.exec(
      `UPDATE l3_jobs SET attempts = attempts + 1, next_at = ?, last_error = ?
       WHERE id = ? AND kind = ? AND value = ?`,
      now + delay,
      error.slice(0, 300),
      job.id,
      job.kind,
      job.value,
    );
  }

  /** The earliest moment something here needs the alarm: a local retry, an L3 page, a prune. */
  nextDue(): number | null {
    const row = this.sql
      .exec<{ retry: number | null; l3: number | null; oldest: number | null }>(
        `SELECT (SELECT MIN(retry_at) FROM purges) AS retry,
                (SELECT MIN(next_at) FROM l3_jobs WHERE done = 0) AS l3,
                (SELECT MIN(received_at) FROM purges) AS oldest`,
      )
      .one();
    const times = [row.retry, row.l3, row.oldest === null ? null : row.oldest + RECORD_TTL_MS];
    const due = times.filter((t): t is number => t !== null);
    return due.length > 0 ? Math.min(...due) : null;
  }

  counts(): { recorded: number; pendingLocally: number; l3Pending: number } {
    return this.sql
      .exec<{ recorded: number; pendingLocally: number; l3Pending: number }>(
        `SELECT (SELECT COUNT(*) FROM purges) AS recorded,
                (SELECT COUNT(*) FROM purges WHERE local_done_at IS NULL) AS pendingLocally,
                (SELECT COUNT(*) FROM l3_jobs WHERE done = 0) AS l3Pending`,
      )
      .one();
  }

  /** Drops records past `RECORD_TTL_MS`, with their progress rows. */
  prune(now: number): void {
    const old = this.sql
      .exec<{ id: string }>(
        'SELECT id FROM purges WHERE received_at < ? LIMIT 1000',
        now - RECORD_TTL_MS,
      )
      .toArray();
    for (const { id } of old) {
      for (const table of ['purges', 'purge_shards', 'purge_regions', 'l3_jobs'])
        this.sql.exec(`DELETE FROM ${table} WHERE id = ?`, id);
    }
    this.sql.exec('DELETE FROM webhook_ids WHERE expires_at <= ?', now);
  }

  /** The status as `self` (this region) knows it: the accepting region knows every region's progress. */
  status(id: string, self: string, regions: readonly string[], zone: unknown): PurgeStatus | null {
    const row = this.sql
      .exec<PurgeRow>('SELECT id, body, received_at, local_done_at FROM purges WHERE id = ?', id)
      .toArray()[0];
    if (!row) return null;
    const purge = JSON.parse(row.body) as Purge;
    const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : undefined);
    const acks = new Map(
      this.sql
        .exec<{ region: string; done_at: number | null }>(
          'SELECT region, done_at FROM purge_regions WHERE id = ?',
          id,
        )
        .toArray()
        .map((r) => [r.region, r.done_at]),
    );
    const out: PurgeStatus['regions'] = {};
    // A region that received the purge knows that the origin accepted it, and its own progress.
    if (self !== purge.origin) acks.set(purge.origin, purge.at);
    for (const region of regions) {
      if (region === self) {
        out[region] = row.local_done_at
          ? { state: 'done', at: iso(row.local_done_at) as string }
          : { state: 'pending' };
      } else if (acks.has(region)) {
        const at = acks.get(region);
        out[region] = at ? { state: 'done', at: iso(at) as string } : { state: 'pending' };
      } else {
        out[region] = { state: 'unknown' };
      }
    }
    const l3 = this.l3Status(id, self === purge.origin);
    const zoneState = (zone as { state?: string } | null)?.state;
    const complete =
      Object.values(out).every((r) => r.state === 'done') &&
      (l3.state === 'done' || l3.state === 'not-configured') &&
      (zoneState === undefined || zoneState === 'done' || zoneState === 'not-configured');
    const s = purge.selectors;
    return {
      id: purge.id,
      origin: purge.origin,
      version: purge.version,
      namespace: s.namespace,
      keys: s.keys,
      prefixes: s.prefixes,
      tags: s.tags,
      all: s.all,
      soft: purge.soft,
      source: purge.source,
      acceptedAt: new Date(purge.at).toISOString(),
      complete,
      regions: out,
      l3,
      zone,
    };
  }

  private l3Status(id: string, accepting: boolean): PurgeStatus['l3'] {
    const rows = this.sql
      .exec<{ done: number; scanned: number; deleted: number; last_error: string | null }>(
        'SELECT done, scanned, deleted, last_error FROM l3_jobs WHERE id = ?',
        id,
      )
      .toArray();
    if (rows.length === 0)
      return { state: accepting ? 'not-configured' : 'unknown', scanned: 0, deleted: 0 };
    const error = rows.find((r) => r.last_error)?.last_error;
    return {
      state: rows.every((r) => r.done === 1) ? 'done' : 'pending',
      scanned: rows.reduce((n, r) => n + r.scanned, 0),
      deleted: rows.reduce((n, r) => n + r.deleted, 0),
      ...(error ? { lastError: error } : {}),
    };
  }
}

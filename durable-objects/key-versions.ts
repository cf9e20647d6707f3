/**
 * What a shard knows about each key's latest version, whether or not it
 * holds the bytes: live versions (the value may have been evicted) and
 * tombstones. One row per key, kept apart from `entries` so eviction, which
 * is a local decision, never forgets a version or resurrects a deleted key.
 *
 * It is the shard's last-writer-wins register: an incoming version (a write
 * replicated from a peer, an L3 back-fill, an anti-entropy repair) is applied
 * only when it is newer than the row. It also feeds anti-entropy: keys fall
 * into `BUCKETS` buckets by hash, and a bucket's digest is the sum of its
 * rows' hashes, so two regions holding the same versions have equal digests
 * whatever they evicted.
 *
 * Rows go when they cannot matter any more: live versions some time after
 * they expired; tombstones after their grace period and only once every peer
 * acknowledged them (their outbox sequence is at most the peers' minimum).
 */
import type { Entry } from '../src/entry.ts';
import { murmur3 } from '../src/hashing.ts';
import { compareHlc, type Hlc, parseHlc } from '../src/hlc.ts';

export const BUCKETS = 256;
/** Live version rows outlive their entry's expiry by this much, so digests taken "as of" a slightly skewed clock agree. */
export const EXPIRED_RETENTION_MS = 60_000;
/** Most rows of each kind one `prune` call deletes. */
const PRUNE_BATCH = 10_000;
const encoder = new TextEncoder();

export interface KeyVersion {
  ns: string;
  key: string;
  version: string;
  expiresAt: number;
  deleted: boolean;
}

interface Row extends Record<string, SqlStorageValue> {
  ns: string;
  key: string;
  version: string;
  expires_at: number;
  deleted: number;
}

/** A page of keys and the cursor to continue from (null: no more). */
export interface KeyPage {
  rows: { key: string; version: string }[];
  next: string | null;
}

export function bucketOf(ns: string, key: string): number {
  return murmur3(encoder.encode(`${ns}\u0000${key}`), 0x5eed) % BUCKETS;
}

function rowHash(ns: string, key: string, version: string, deleted: boolean): number {
  return murmur3(encoder.encode(`${ns}\u0000${key}\u0000${version}\u0000${deleted ? 1 : 0}`));
}

export class KeyVersions {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS key_versions (
      ns TEXT NOT NULL,
      key TEXT NOT NULL,
      version TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      deleted INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      bucket INTEGER NOT NULL,
      h INTEGER NOT NULL,
      PRIMARY KEY (ns, key)
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS key_versions_by_bucket ON key_versions (bucket)');
    sql.exec('CREATE INDEX IF NOT EXISTS key_versions_by_expiry ON key_versions (expires_at)');
  }

  get(ns: string, key: string): KeyVersion | null {
    const row = this.sql
      .exec<Row>(
        'SELECT ns, key, version, expires_at, deleted FROM key_versions WHERE ns = ? AND key = ?',
        ns,
        key,
      )
      .toArray()[0];
    return row ? toVersion(row) : null;
  }

  /**
   * True when `version` is at least as new as what is known for the key: it
   * may be stored (equal means the same version, say a back-fill of bytes
   * this shard evicted).
   */
  admits(ns: string, key: string, version: string): boolean {
    const known = this.get(ns, key);
    if (!known) return true;
    const order = compareVersions(version, known.version);
    return known.deleted ? order > 0 : order >= 0;
  }

  /** True when `version` is strictly newer than what is known (a replicated change to apply). */
  isNewer(ns: string, key: string, version: string): boolean {
    const known = this.get(ns, key);
    return !known || compareVersions(version, known.version) > 0;
  }

  /** Records the key's latest version; `seq` is the local outbox sequence (0 when it came from a peer). */
  record(v: KeyVersion, seq: number): void {
    this.sql.exec(
      `INSERT INTO key_versions (ns, key, version, expires_at, deleted, seq, bucket, h)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (ns, key) DO UPDATE SET version = excluded.version,
         expires_at = excluded.expires_at, deleted = excluded.deleted, seq = excluded.seq,
         h = excluded.h`,
      v.ns,
      v.key,
      v.version,
      v.expiresAt,
      v.deleted ? 1 : 0,
      seq,
      bucketOf(v.ns, v.key),
      rowHash(v.ns, v.key, v.version, v.deleted),
    );
  }

  /** Per-bucket digests over rows still alive at `asOf`: `BUCKETS` numbers. */
  digest(asOf: number): number[] {
    const out = new Array<number>(BUCKETS).fill(0);
    for (const row of this.sql.exec<{ bucket: number; s: number }>(
      'SELECT bucket, SUM(h) AS s FROM key_versions WHERE expires_at > ? GROUP BY bucket',
      asOf,
    )) {
      out[row.bucket] = row.s;
    }
    return out;
  }

  /** Rows alive at `asOf` in `buckets`, ordered by (ns, key), after the cursor, at most `limit`. */
  list(
    buckets: number[],
    asOf: number,
    limit: number,
    after?: { ns: string; key: string },
  ): KeyVersion[] {
    if (buckets.length === 0) return [];
    const marks = buckets.map(() => '?').join(',');
    const rows = this.sql
      .exec<Row>(
        `SELECT ns, key, version, expires_at, deleted FROM key_versions
         WHERE bucket IN (${marks}) AND expires_at > ? AND (ns > ? OR (ns = ? AND key > ?))
         ORDER BY ns, key LIMIT ?`,
        ...buckets,
        asOf,
        after?.ns ?? '',
        after?.ns ?? '',
        after?.key ?? '',
        limit,
      )
      .toArray();
    return rows.map(toVersion);
  }

  /**
   * Live (not deleted) versions in `ns` whose key starts with `prefix`
   * ('' for every key), after `cursor`, in key order. Keys sharing a prefix
   * are contiguous in (ns, key) order, so this walks the primary key from
   * the prefix and stops at the first key outside it.
   */
  liveWithPrefix(ns: string, prefix: string, cursor: string | null, limit: number): KeyPage {
    const rows: { key: string; version: string }[] = [];
    let scanned = 0;
    let last: string | null = null;
    for (const row of this.sql.exec<{ key: string; version: string; deleted: number }>(
      `SELECT key, version, deleted FROM key_versions WHERE ns = ? AND key ${cursor === null ? '>=' : '>'} ?
       ORDER BY key LIMIT ?`,
      ns,
      cursor ?? prefix,
      limit,
    )) {
      if (!row.key.startsWith(prefix)) return { rows, next: null };
      scanned++;
      last = row.key;
      if (row.deleted === 0) rows.push({ key: row.key, version: row.version });
    }
    return { rows, next: scanned === limit ? last : null };
  }

  /**
   * Drops rows that can no longer matter (see the header), at most
   * `PRUNE_BATCH` of each kind per call so one alarm stays short; returns how many.
   */
  prune(now: number, minAckedSeq: number): number {
    const live = this.sql.exec(
      `DELETE FROM key_versions WHERE rowid IN (SELECT rowid FROM key_versions
         WHERE expires_at < ? AND deleted = 0 LIMIT ${PRUNE_BATCH})`,
      now - EXPIRED_RETENTION_MS,
    ).rowsWritten;
    const tombstones = this.sql.exec(
      `DELETE FROM key_versions WHERE rowid IN (SELECT rowid FROM key_versions
         WHERE expires_at < ? AND deleted = 1 AND seq <= ? LIMIT ${PRUNE_BATCH})`,
      now,
      minAckedSeq,
    ).rowsWritten;
    return live + tombstones;
  }

  isEmpty(): boolean {
    return this.sql.exec('SELECT 1 FROM key_versions LIMIT 1').toArray().length === 0;
  }

  count(): { live: number; tombstones: number } {
    const row = this.sql
      .exec<{ live: number | null; tombstones: number | null }>(
        'SELECT SUM(deleted = 0) AS live, SUM(deleted = 1) AS tombstones FROM key_versions',
      )
      .one();
    return { live: row.live ?? 0, tombstones: row.tombstones ?? 0 };
  }
}

function toVersion(row: Row): KeyVersion {
  return {
    ns: row.ns,
    key: row.key,
    version: row.version,
    expiresAt: row.expires_at,
    deleted: row.deleted === 1,
  };
}

const ZERO: Hlc = { wall: 0, counter: 0, region: '' };

/** Orders two formatted HLC versions; an unparsable one sorts first. */
export function compareVersions(a: string, b: string): number {
  return compareHlc(parseHlc(a) ?? ZERO, parseHlc(b) ?? ZERO);
}

/** The version record of a stored entry. */
export function versionOf(entry: Entry): KeyVersion {
  const { namespace: ns, key, version, expiresAt } = entry.meta;
  return { ns, key, version, expiresAt, deleted: false };
}

/**
 * The SQLite side of a shard: entries with metadata, a byte budget whose
 * evictions the configured policies decide (shard-eviction.ts), and the
 * shard's last HLC so versions survive restarts.
 *
 * Cost of an entry against the budget = value bytes + key and namespace
 * bytes + metadata JSON bytes: what the row really occupies, roughly.
 *
 * What a policy learned (recency, frequency, ghosts) is snapshotted into
 * `policy_snapshot` at most every `SNAPSHOT_INTERVAL_MS` while writes
 * happen, so a restarted shard keeps its knowledge; on start the snapshot is
 * reconciled with the rows (rows it does not know are added in insertion
 * order, keys it holds that are gone are dropped).
 */
import type { Entry, EntryMeta } from '../src/entry.ts';
import type { Hlc } from '../src/hlc.ts';
import { parseHlc } from '../src/hlc.ts';
import type { EntryInfo } from '../src/policy/policy.ts';
import type { KeyPage } from './key-versions.ts';
import type { EvictionSnapshot } from './shard-eviction.ts';
import { ShardEviction } from './shard-eviction.ts';

const encoder = new TextEncoder();
/** Minimum time between policy snapshots. */
export const SNAPSHOT_INTERVAL_MS = 30_000;
/** Snapshot text is stored in chunks below the 2 MB row limit. */
const SNAPSHOT_CHUNK = 512 * 1024;

interface EntryRow extends Record<string, SqlStorageValue> {
  value: ArrayBuffer;
  meta: string;
  cost: number;
}

export interface StoreStats {
  entries: number;
  bytes: number;
  budget: number;
  evictions: number;
  /** Writes the policy declined to keep in L2 (admission filter or too large). */
  refused: number;
  expiredRemoved: number;
}

/** How the store learns each namespace's policy and default priority. */
export interface EvictionConfig {
  policyOf(namespace: string): string;
  priorityOf(namespace: string): number;
}

export function entryCost(meta: EntryMeta): number {
  return (
    meta.size +
    encoder.encode(meta.key).byteLength +
    meta.namespace.length +
    encoder.encode(JSON.stringify(meta)).byteLength
  );
}

export class ShardStore {
  private bytes: number;
  private rows: number;
  private seq: number;
  private evictions = 0;
  private refused = 0;
  private expiredRemoved = 0;
  private readonly eviction: ShardEviction;
  private lastSnapshot = 0;
  private dirty = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly budget: number,
    private readonly config: EvictionConfig,
    now: number,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS entries (
      ns TEXT NOT NULL,
      key TEXT NOT NULL,
      value BLOB NOT NULL,
      meta TEXT NOT NULL,
      version TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      cost INTEGER NOT NULL,
      access_seq INTEGER NOT NULL,
      PRIMARY KEY (ns, key)
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS entries_by_access ON entries (access_seq)');
    sql.exec('CREATE TABLE IF NOT EXISTS shard_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
    sql.exec(
      'CREATE TABLE IF NOT EXISTS policy_snapshot (part INTEGER PRIMARY KEY, data TEXT NOT NULL)',
    );
    // The tag index: tag purges find their rows without reading every entry.
    sql.exec(`CREATE TABLE IF NOT EXISTS entry_tags (
      ns TEXT NOT NULL, tag TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (ns, tag, key)
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS entry_tags_by_key ON entry_tags (ns, key)');
    this.indexTagsOnce();
    const totals = sql
      .exec<{ bytes: number | null; seq: number | null; rows: number }>(
        'SELECT SUM(cost) AS bytes, MAX(access_seq) AS seq, COUNT(*) AS rows FROM entries',
      )
      .one();
    this.bytes = totals.bytes ?? 0;
    this.rows = totals.rows;
    this.seq = totals.seq ?? 0;
    this.eviction = new ShardEviction(budget, config.policyOf, this.loadSnapshot());
    this.reconcile(now);
    this.lastSnapshot = now;
  }

  /** The fresh entry under (ns, key), recorded as a read by its policy; expired rows are removed, never returned. */
  get(ns: string, key: string, now: number): Entry | null {
    const row = this.sql
      .exec<EntryRow>('SELECT value, meta, cost FROM entries WHERE ns = ? AND key = ?', ns, key)
      .toArray()[0];
    if (!row) return null;
    const meta = JSON.parse(row.meta) as EntryMeta;
    if (meta.expiresAt <= now) {
      this.removeRow(ns, key, row.cost);
      this.expiredRemoved++;
      return null;
    }
    // Recency lives in the policy, in memory: a read costs no SQLite write.
    this.eviction.touch(ns, key, now);
    this.dirty = true;
    return { meta, value: new Uint8Array(row.value) };
  }

  /** The row under (ns, key), expired or not, without counting as an access. */
  peek(ns: string, key: string): Entry | null {
    const row = this.sql
      .exec<EntryRow>('SELECT value, meta, cost FROM entries WHERE ns = ? AND key = ?', ns, key)
      .toArray()[0];
    return row
      ? { meta: JSON.parse(row.meta) as EntryMeta, value: new Uint8Array(row.value) }
      : null;
  }

  /** (ns, key, version, expiresAt) of every row: seeds the key-version table of a shard created before it existed. */
  *versions(): Generator<{ ns: string; key: string; version: string; expiresAt: number }> {
    for (const row of this.sql.exec<{
      ns: string;
      key: string;
      version: string;
      expires_at: number;
    }>('SELECT ns, key, version, expires_at FROM entries')) {
      yield { ns: row.ns, key: row.key, version: row.version, expiresAt: row.expires_at };
    }
  }

  /**
   * Stores `entry` (replacing any older row) and evicts what its policy
   * chooses. Returns false when the policy declines to keep it (too large
   * for the budget, or refused by an admission filter): L3 still has it.
   */
  put(entry: Entry, now: number): boolean {
    const cost = entryCost(entry.meta);
    const { namespace: ns, key } = entry.meta;
    const old = this.sql
      .exec<{ cost: number }>('SELECT cost FROM entries WHERE ns = ? AND key = ?', ns, key)
      .toArray()[0];
    if (old) this.deleteRow(ns, key, old.cost);
    this.sql.exec(
      'INSERT INTO entries (ns, key, value, meta, version, expires_at, cost, access_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ns,
      key,
      entry.value,
      JSON.stringify(entry.meta),
      entry.meta.version,
      entry.meta.expiresAt,
      cost,
      ++this.seq,
    );
    for (const tag of entry.meta.tags)
      this.sql.exec(
        'INSERT OR IGNORE INTO entry_tags (ns, tag, key) VALUES (?, ?, ?)',
        ns,
        tag,
        key,
      );
    this.bytes += cost;
    this.rows++;
    let kept = true;
    for (const [vns, vkey] of this.eviction.admit(ns, key, this.infoOf(entry.meta, cost), now)) {
      const isSelf = vns === ns && vkey === key;
      if (isSelf) {
        kept = false;
        this.refused++;
      } else {
        this.evictions++;
      }
      const row = this.sql
        .exec<{ cost: number }>('SELECT cost FROM entries WHERE ns = ? AND key = ?', vns, vkey)
        .toArray()[0];
      if (row) this.deleteRow(vns, vkey, row.cost);
    }
    this.dirty = true;
    this.maybeSnapshot(now);
    return kept;
  }

  /** Removes (ns, key); true if a row existed. */
  delete(ns: string, key: string): boolean {
    const old = this.sql
      .exec<{ cost: number }>('SELECT cost FROM entries WHERE ns = ? AND key = ?', ns, key)
      .toArray()[0];
    if (!old) return false;
    this.removeRow(ns, key, old.cost);
    return true;
  }

  /** Keys held in `ns` with `tag`, after `cursor`, in key order, with their versions. */
  keysWithTag(ns: string, tag: string, cursor: string | null, limit: number): KeyPage {
    const rows = this.sql
      .exec<{ key: string; version: string }>(
        `SELECT t.key AS key, e.version AS version FROM entry_tags t
         JOIN entries e ON e.ns = t.ns AND e.key = t.key
         WHERE t.ns = ? AND t.tag = ? AND t.key > ? ORDER BY t.key LIMIT ?`,
        ns,
        tag,
        cursor ?? '',
        limit,
      )
      .toArray();
    const last = rows[rows.length - 1];
    return { rows, next: rows.length === limit && last ? last.key : null };
  }

  /** Fills the tag index from the rows of a shard created before it existed (once). */
  private indexTagsOnce(): void {
    const done = this.sql.exec("SELECT 1 FROM shard_meta WHERE k = 'tags_indexed'").toArray();
    if (done.length > 0) return;
    for (const row of this.sql
      .exec<{ ns: string; key: string; meta: string }>('SELECT ns, key, meta FROM entries')
      .toArray()) {
      for (const tag of (JSON.parse(row.meta) as EntryMeta).tags)
        this.sql.exec(
          'INSERT OR IGNORE INTO entry_tags (ns, tag, key) VALUES (?, ?, ?)',
          row.ns,
          tag,
          row.key,
        );
    }
    this.sql.exec("INSERT INTO shard_meta (k, v) VALUES ('tags_indexed', '1')");
  }

  lastHlc(): Hlc | undefined {
    const row = this.sql
      .exec<{ v: string }>("SELECT v FROM shard_meta WHERE k = 'hlc'")
      .toArray()[0];
    return row ? (parseHlc(row.v) ?? undefined) : undefined;
  }

  /** The shard index callers stated (see ShardDO.shardIndex), if any. */
  shardIndex(): number | null {
    const row = this.sql
      .exec<{ v: string }>("SELECT v FROM shard_meta WHERE k = 'shard'")
      .toArray()[0];
    return row ? Number(row.v) : null;
  }

  saveShardIndex(shard: number): void {
    this.sql.exec(
      "INSERT INTO shard_meta (k, v) VALUES ('shard', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      String(shard),
    );
  }

  saveHlc(text: string): void {
    this.sql.exec(
      "INSERT INTO shard_meta (k, v) VALUES ('hlc', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      text,
    );
  }

  stats(): StoreStats {
    return {
      entries: this.rows,
      bytes: this.bytes,
      budget: this.budget,
      evictions: this.evictions,
      refused: this.refused,
      expiredRemoved: this.expiredRemoved,
    };
  }

  /** True when the policies learned something since the last snapshot. */
  get changedSinceSnapshot(): boolean {
    return this.dirty;
  }

  /** Writes the policies' state now (also called periodically from writes and by the shard's alarm). */
  saveSnapshot(now: number): void {
    const text = JSON.stringify(this.eviction.snapshot());
    this.sql.exec('DELETE FROM policy_snapshot');
    for (let i = 0, part = 0; i < text.length; i += SNAPSHOT_CHUNK, part++) {
      this.sql.exec(
        'INSERT INTO policy_snapshot (part, data) VALUES (?, ?)',
        part,
        text.slice(i, i + SNAPSHOT_CHUNK),
      );
    }
    this.lastSnapshot = now;
    this.dirty = false;
  }

  private maybeSnapshot(now: number): void {
    if (this.dirty && now - this.lastSnapshot >= SNAPSHOT_INTERVAL_MS) this.saveSnapshot(now);
  }

  private loadSnapshot(): EvictionSnapshot | undefined {
    const parts = this.sql
      .exec<{ data: string }>('SELECT data FROM policy_snapshot ORDER BY part')
      .toArray();
    if (parts.length === 0) return undefined;
    try {
      const snap = JSON.parse(parts.map((p) => p.data).join('')) as EvictionSnapshot;
      // A snapshot taken under another budget would decide for the wrong capacity.
      return snap.budget === this.budget ? snap : undefined;
    } catch {
      return undefined;
    }
  }

  /** Makes the policies agree with the rows: drops what is gone, adds what they do not know, oldest first. */
  private reconcile(now: number): void {
    this.eviction.retainOnly(
      (ns, key) =>
        this.sql.exec('SELECT 1 FROM entries WHERE ns = ? AND key = ?', ns, key).toArray().length >
        0,
    );
    const rows = this.sql
      .exec<{ ns: string; key: string; meta: string; cost: number }>(
        'SELECT ns, key, meta, cost FROM entries ORDER BY access_seq',
      )
      .toArray();
    for (const row of rows) {
      if (this.eviction.holds(row.ns, row.key)) continue;
      const meta = JSON.parse(row.meta) as EntryMeta;
      for (const [vns, vkey] of this.eviction.admit(
        row.ns,
        row.key,
        this.infoOf(meta, row.cost),
        now,
      )) {
        const victim = this.sql
          .exec<{ cost: number }>('SELECT cost FROM entries WHERE ns = ? AND key = ?', vns, vkey)
          .toArray()[0];
        if (victim) this.deleteRow(vns, vkey, victim.cost);
      }
    }
  }

  private infoOf(meta: EntryMeta, cost: number): EntryInfo {
    return {
      size: cost,
      expiresAt: meta.expiresAt,
      priority: meta.priority ?? this.config.priorityOf(meta.namespace),
      cost: meta.cost ?? 1,
    };
  }

  /** Removes a row and tells its policy. */
  private removeRow(ns: string, key: string, cost: number): void {
    this.deleteRow(ns, key, cost);
    this.eviction.remove(ns, key);
    this.dirty = true;
  }

  /** Removes a row only (the policy already let it go, or is about to be told). */
  private deleteRow(ns: string, key: string, cost: number): void {
    this.sql.exec('DELETE FROM entries WHERE ns = ? AND key = ?', ns, key);
    this.sql.exec('DELETE FROM entry_tags WHERE ns = ? AND key = ?', ns, key);
    this.bytes -= cost;
    this.rows--;
  }
}

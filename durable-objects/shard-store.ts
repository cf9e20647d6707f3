/**
 * The SQLite side of a shard: entries with metadata, a byte budget enforced
 * by LRU eviction, and the shard's last HLC so versions survive restarts.
 *
 * Cost of an entry against the budget = value bytes + key and namespace
 * bytes + metadata JSON bytes: what the row really occupies, roughly.
 * Recency is a monotonic access sequence (not wall time), so LRU order is
 * deterministic. Expired rows go first, then least recently used.
 */
import type { Entry, EntryMeta } from '../src/entry.ts';
import type { Hlc } from '../src/hlc.ts';
import { compareHlc, parseHlc } from '../src/hlc.ts';

const encoder = new TextEncoder();

interface EntryRow extends Record<string, SqlStorageValue> {
  value: ArrayBuffer;
  meta: string;
  cost: number;
  access_seq: number;
}

/**
 * Reads of a row among the most recent `min(64, rows / 16)` accesses leave its
 * recency alone (see `get`): small shards keep exact LRU, large ones skip
 * rewriting their hottest rows.
 */
export function touchWindow(rows: number): number {
  return Math.min(64, rows >> 4);
}

export interface StoreStats {
  entries: number;
  bytes: number;
  budget: number;
  evictions: number;
  expiredRemoved: number;
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
  private expiredRemoved = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly budget: number,
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
    sql.exec('CREATE INDEX IF NOT EXISTS entries_by_expiry ON entries (expires_at)');
    sql.exec('CREATE TABLE IF NOT EXISTS shard_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
    const totals = sql
      .exec<{ bytes: number | null; seq: number | null; rows: number }>(
        'SELECT SUM(cost) AS bytes, MAX(access_seq) AS seq, COUNT(*) AS rows FROM entries',
      )
      .one();
    this.bytes = totals.bytes ?? 0;
    this.rows = totals.rows;
    this.seq = totals.seq ?? 0;
  }

  /**
   * The fresh entry under (ns, key), refreshing its recency; expired rows are
   * removed, never returned. A row already among the `touchWindow(rows)`
   * most recently used is not rewritten: a read then costs no SQLite write (which
   * a Durable Object must make durable before it answers), and LRU order is
   * exact everywhere except inside that most-recent window.
   */
  get(ns: string, key: string, now: number): Entry | null {
    const row = this.sql
      .exec<EntryRow>(
        'SELECT value, meta, cost, access_seq FROM entries WHERE ns = ? AND key = ?',
        ns,
        key,
      )
      .toArray()[0];
    if (!row) return null;
    const meta = JSON.parse(row.meta) as EntryMeta;
    if (meta.expiresAt <= now) {
      this.removeRow(ns, key, row.cost);
      this.expiredRemoved++;
      return null;
    }
    if (this.seq - row.access_seq >= touchWindow(this.rows)) {
      this.sql.exec(
        'UPDATE entries SET access_seq = ? WHERE ns = ? AND key = ?',
        ++this.seq,
        ns,
        key,
      );
    }
    return { meta, value: new Uint8Array(row.value) };
  }

  /** The stored version under (ns, key), expired or not. */
  version(ns: string, key: string): Hlc | null {
    const row = this.sql
      .exec<{ version: string }>('SELECT version FROM entries WHERE ns = ? AND key = ?', ns, key)
      .toArray()[0];
    return row ? parseHlc(row.version) : null;
  }

  /**
   * Stores `entry` (replacing any older row) and evicts until the budget
   * holds. Returns false when the entry alone exceeds the budget (it is then
   * not kept in L2; L3 still has it).
   */
  put(entry: Entry, now: number): boolean {
    const cost = entryCost(entry.meta);
    const { namespace: ns, key } = entry.meta;
    const old = this.sql
      .exec<{ cost: number }>('SELECT cost FROM entries WHERE ns = ? AND key = ?', ns, key)
      .toArray()[0];
    if (old) this.removeRow(ns, key, old.cost);
    if (cost > this.budget) return false;
    this.sql.exec(
      `INSERT INTO entries (ns, key, value, meta, version, expires_at, cost, access_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ns,
      key,
      entry.value,
      JSON.stringify(entry.meta),
      entry.meta.version,
      entry.meta.expiresAt,
      cost,
      ++this.seq,
    );
    this.bytes += cost;
    this.rows++;
    this.makeRoom(now);
    return true;
  }

  /** Stores `entry` only if no newer version is held (a back-fill must never overwrite a write). */
  putIfNewer(entry: Entry, now: number): boolean {
    const current = this.version(entry.meta.namespace, entry.meta.key);
    const incoming = parseHlc(entry.meta.version);
    if (current && incoming && compareHlc(current, incoming) >= 0) return false;
    return this.put(entry, now);
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

  lastHlc(): Hlc | undefined {
    const row = this.sql
      .exec<{ v: string }>("SELECT v FROM shard_meta WHERE k = 'hlc'")
      .toArray()[0];
    return row ? (parseHlc(row.v) ?? undefined) : undefined;
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
      expiredRemoved: this.expiredRemoved,
    };
  }

  private makeRoom(now: number): void {
    if (this.bytes <= this.budget) return;
    // Expired rows first: they are dead weight.
    for (const row of this.sql
      .exec<{ ns: string; key: string; cost: number }>(
        'SELECT ns, key, cost FROM entries WHERE expires_at <= ?',
        now,
      )
      .toArray()) {
      this.removeRow(row.ns, row.key, row.cost);
      this.expiredRemoved++;
    }
    while (this.bytes > this.budget) {
      const victims = this.sql
        .exec<{ ns: string; key: string; cost: number }>(
          'SELECT ns, key, cost FROM entries ORDER BY access_seq LIMIT 16',
        )
        .toArray();
      if (victims.length === 0) break;
      for (const v of victims) {
        if (this.bytes <= this.budget) break;
        this.removeRow(v.ns, v.key, v.cost);
        this.evictions++;
      }
    }
  }

  private removeRow(ns: string, key: string, cost: number): void {
    this.sql.exec('DELETE FROM entries WHERE ns = ? AND key = ?', ns, key);
    this.bytes -= cost;
    this.rows--;
  }
}

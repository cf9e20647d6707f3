/**
 * Keys whose latest change has not reached L3, with per-key exponential
 * backoff (1 s doubling to 5 min, full jitter). Kept in the shard's SQLite so
 * a restart does not forget them.
 */
const BASE_MS = 1000;
const MAX_MS = 5 * 60 * 1000;

export class PendingL3 {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS l3_pending (
      ns TEXT NOT NULL,
      key TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      due_at INTEGER NOT NULL,
      PRIMARY KEY (ns, key)
    )`);
  }

  /** Records a failed attempt; the next try is due after a jittered backoff. */
  add(ns: string, key: string, now: number): void {
    const row = this.sql
      .exec<{ attempts: number }>(
        'SELECT attempts FROM l3_pending WHERE ns = ? AND key = ?',
        ns,
        key,
      )
      .toArray()[0];
    const attempts = (row?.attempts ?? 0) + 1;
    const ceiling = Math.min(MAX_MS, BASE_MS * 2 ** Math.min(attempts - 1, 20));
    const dueAt = now + Math.max(100, Math.floor(Math.random() * ceiling));
    this.sql.exec(
      `INSERT INTO l3_pending (ns, key, attempts, due_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (ns, key) DO UPDATE SET attempts = excluded.attempts, due_at = excluded.due_at`,
      ns,
      key,
      attempts,
      dueAt,
    );
  }

  clear(ns: string, key: string): void {
    this.sql.exec('DELETE FROM l3_pending WHERE ns = ? AND key = ?', ns, key);
  }

  has(ns: string, key: string): boolean {
    return (
      this.sql.exec('SELECT 1 FROM l3_pending WHERE ns = ? AND key = ?', ns, key).toArray().length >
      0
    );
  }

  due(now: number, limit: number): { ns: string; key: string }[] {
    return this.sql
      .exec<{ ns: string; key: string }>(
        'SELECT ns, key FROM l3_pending WHERE due_at <= ? ORDER BY due_at LIMIT ?',
        now,
        limit,
      )
      .toArray();
  }

  nextDue(): number | null {
    const row = this.sql
      .exec<{ t: number | null }>('SELECT MIN(due_at) AS t FROM l3_pending')
      .one();
    return row.t ?? null;
  }

  count(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM l3_pending').one().n;
  }
}

/**
 * A shard's purge rules (src/purge/rules.ts) and the sweeps that remove
 * what they select from its SQLite rows.
 *
 * - `purge_rules`: every rule the shard was given, until it expires. Loaded
 *   into a `PurgeIndex` at start; every entry the shard serves or stores is
 *   checked against it, so a purge holds from the moment it is applied,
 *   whatever the sweeps have reached.
 * - `purge_sweeps`: background work, bounded per call. A hard rule's sweep
 *   starts at once: it deletes the selected rows older than the purge and
 *   records a tombstone at the purge's version for each key the shard knows
 *   (so anti-entropy digests agree between regions). A soft rule's sweep
 *   runs when the rule expires, removing what is still stale, so nothing
 *   turns fresh when the rule is forgotten.
 *
 * Key and namespace/prefix sweeps walk `key_versions` by its primary key
 * (ns, key), prefix ranges being contiguous in that order; tag sweeps walk
 * the shard's tag index. Neither scans the whole table.
 */
import type { EntryMeta } from '../src/entry.ts';
import type { PurgeEffect, PurgeKind, PurgeRule } from '../src/purge/rules.ts';
import { compareVersionText, PurgeIndex } from '../src/purge/rules.ts';
import type { KeyVersions } from './key-versions.ts';
import type { StaleRead } from './shard-api.ts';
import type { ShardStore } from './shard-store.ts';

/** Rows one sweep step looks at. */
const SWEEP_PAGE = 500;

interface RuleRow extends Record<string, SqlStorageValue> {
  id: string;
  ns: string;
  kind: string;
  value: string;
  version: string;
  soft: number;
  at: number;
  expires_at: number;
}

interface SweepRow extends RuleRow {
  due_at: number;
  cursor: string | null;
}

export interface ShardPurgeDeps {
  store: ShardStore;
  versions: KeyVersions;
  tombstoneGraceMs: number;
  /** Called before a key is removed (in-flight L3 fills must not bring it back). */
  changing(ns: string, key: string): void;
  /** Runs `fn` in one SQLite transaction. */
  transaction<T>(fn: () => T): T;
}

/** How long the reader told to refresh a stale entry has before another reader is told. */
export const REVALIDATE_LEASE_MS = 30_000;
/** Rows purge sweeps may touch in one call (a purge RPC or an alarm run). */
export const SWEEP_ROWS_PER_RUN = 5_000;

/** What a shard may do with an entry it found: serve it (maybe stale), or not (it was purged and is now removed). */
export type Serving = { serve: false } | { serve: true; stale?: StaleRead };

export interface PurgeStats {
  rules: number;
  sweepsPending: number;
  swept: number;
}

export class ShardPurges {
  private index: PurgeIndex;
  private swept = 0;
  /** Refresh leases of stale entries: (ns, key) → until (ms). In memory: a lost lease only means a second refresh. */
  private readonly leases = new Map<string, number>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly deps: ShardPurgeDeps,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS purge_rules (
      id TEXT NOT NULL, ns TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
      version TEXT NOT NULL, soft INTEGER NOT NULL, at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
      PRIMARY KEY (id, ns, kind, value)
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS purge_sweeps (
      id TEXT NOT NULL, ns TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
      version TEXT NOT NULL, soft INTEGER NOT NULL, at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
      due_at INTEGER NOT NULL, cursor TEXT,
      PRIMARY KEY (id, ns, kind, value)
    )`);
    this.index = new PurgeIndex(this.loadRules());
  }

  effect(meta: EntryMeta, now: number): PurgeEffect {
    return this.index.quiet(meta.namespace) ? NONE : this.index.effect(meta, now);
  }

  /**
   * Whether an entry found in L2 or L3 may be served: a purged one is
   * removed (with the purge's tombstone) and not served; a soft-purged one
   * is served stale, and the first reader while no lease is held is told to
   * refresh it.
   */
  serving(meta: EntryMeta, now: number): Serving {
    const effect = this.effect(meta, now);
    if (effect.kind === 'none') return { serve: true };
    if (effect.kind === 'purged') {
      this.deps.transaction(() => this.drop(meta, effect.rule, now));
      return { serve: false };
    }
    const id = `${meta.namespace}\u0000${meta.key}`;
    const held = this.leases.get(id);
    const revalidate = held === undefined || held <= now;
    if (revalidate) this.leases.set(id, now + REVALIDATE_LEASE_MS);
    return { serve: true, stale: { since: effect.since, until: effect.until, revalidate } };
  }

  /** True (and the entry removed, its tombstone recorded) when a purge selects it. Call in a transaction. */
  dropIfPurged(meta: EntryMeta, now: number): boolean {
    const effect = this.effect(meta, now);
    if (effect.kind !== 'purged') return false;
    this.drop(meta, effect.rule, now);
    return true;
  }

  /** The key changed: whoever held its refresh lease is done. */
  release(ns: string, key: string): void {
    this.leases.delete(`${ns}\u0000${key}`);
  }

  /** Removes an entry a rule selects and records the rule's tombstone for it. */
  private drop(meta: EntryMeta, rule: PurgeRule, now: number): void {
    const { store, versions } = this.deps;
    this.deps.changing(meta.namespace, meta.key);
    store.delete(meta.namespace, meta.key);
    if (versions.isNewer(meta.namespace, meta.key, rule.version))
      versions.record(
        {
          ns: meta.namespace,
          key: meta.key,
          version: rule.version,
          expiresAt: rule.soft ? now + this.deps.tombstoneGraceMs : rule.expiresAt,
          deleted: true,
        },
        0,
      );
  }

  /** Stores rules not seen before and schedules their sweeps; returns the new ones. Call in a transaction. */
  add(rules: PurgeRule[], now: number): PurgeRule[] {
    const added: PurgeRule[] = [];
    for (const r of rules) {
      if (r.expiresAt <= now) continue;
      const inserted = this.sql.exec(
        `INSERT INTO purge_rules (id, ns, kind, value, version, soft, at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        ...ruleArgs(r),
      ).rowsWritten;
      if (inserted === 0) continue;
      this.sql.exec(
        `INSERT INTO purge_sweeps (id, ns, kind, value, version, soft, at, expires_at, due_at, cursor)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`,
        ...ruleArgs(r),
        r.soft ? r.expiresAt : now,
      );
      this.index.add(r);
      added.push(r);
    }
    return added;
  }

  /** When the next sweep is due, or null. */
  nextSweep(): number | null {
    return this.sql.exec<{ t: number | null }>('SELECT MIN(due_at) AS t FROM purge_sweeps').one().t;
  }

  /**
   * Runs due sweeps for up to `maxRows` rows, in SQLite transactions of one
   * page each; returns true when no due sweep is left.
   */
  sweep(now: number, maxRows = SWEEP_ROWS_PER_RUN): boolean {
    let budget = maxRows;
    while (budget > 0) {
      const job = this.sql
        .exec<SweepRow>('SELECT * FROM purge_sweeps WHERE due_at <= ? ORDER BY due_at LIMIT 1', now)
        .toArray()[0];
      if (!job) return true;
      this.deps.transaction(() => {
        budget -= this.sweepPage(job, now);
      });
    }
    return (
      this.sql.exec('SELECT 1 FROM purge_sweeps WHERE due_at <= ? LIMIT 1', now).toArray()
        .length === 0
    );
  }

  /** Forgets expired rules whose sweeps are done; returns how many went. */
  prune(now: number): number {
    const gone = this.sql.exec(
      `DELETE FROM purge_rules WHERE expires_at <= ? AND NOT EXISTS (
         SELECT 1 FROM purge_sweeps s WHERE s.id = purge_rules.id AND s.ns = purge_rules.ns
           AND s.kind = purge_rules.kind AND s.value = purge_rules.value)`,
      now,
    ).rowsWritten;
    if (gone > 0) this.index = new PurgeIndex(this.loadRules());
    return gone;
  }

  stats(): PurgeStats {
    return {
      rules: this.index.size,
      sweepsPending: this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM purge_sweeps').one().n,
      swept: this.swept,
    };
  }

  /** One page of a sweep; returns the rows looked at. */
  private sweepPage(job: SweepRow, now: number): number {
    const deps = this.deps;
    const rule = toRule(job);
    // A soft rule's final sweep leaves tombstones for the usual grace from now.
    const tombstoneUntil = rule.soft ? now + deps.tombstoneGraceMs : rule.expiresAt;
    const page = this.candidates(rule, job.cursor);
    for (const c of page.rows) {
      if (c.known !== null && compareVersionText(c.known, rule.version) >= 0) continue;
      deps.changing(rule.ns, c.key);
      if (deps.store.delete(rule.ns, c.key)) this.swept++;
      // A key this shard never saw needs no tombstone: the rule covers late arrivals.
      if (c.known !== null || rule.kind === 'key')
        deps.versions.record(
          {
            ns: rule.ns,
            key: c.key,
            version: rule.version,
            expiresAt: tombstoneUntil,
            deleted: true,
          },
          0,
        );
    }
    const where = 'id = ? AND ns = ? AND kind = ? AND value = ?';
    if (page.next === null) {
      this.sql.exec(`DELETE FROM purge_sweeps WHERE ${where}`, job.id, job.ns, job.kind, job.value);
    } else {
      this.sql.exec(
        `UPDATE purge_sweeps SET cursor = ? WHERE ${where}`,
        page.next,
        job.id,
        job.ns,
        job.kind,
        job.value,
      );
    }
    return Math.max(page.rows.length, 1);
  }

  /** Keys the rule selects after `cursor`, with the version this shard knows (null: none). */
  private candidates(
    rule: PurgeRule,
    cursor: string | null,
  ): { rows: { key: string; known: string | null }[]; next: string | null } {
    const deps = this.deps;
    switch (rule.kind) {
      case 'key': {
        const known = deps.versions.get(rule.ns, rule.value);
        if (known?.deleted && compareVersionText(known.version, rule.version) >= 0)
          return { rows: [], next: null };
        const version = known && !known.deleted ? known.version : null;
        return { rows: [{ key: rule.value, known: version }], next: null };
      }
      case 'tag': {
        const page = deps.store.keysWithTag(rule.ns, rule.value, cursor, SWEEP_PAGE);
        return { rows: page.rows.map((r) => ({ key: r.key, known: r.version })), next: page.next };
      }
      default: {
        const prefix = rule.kind === 'prefix' ? rule.value : '';
        const page = deps.versions.liveWithPrefix(rule.ns, prefix, cursor, SWEEP_PAGE);
        return { rows: page.rows.map((r) => ({ key: r.key, known: r.version })), next: page.next };
      }
    }
  }

  private loadRules(): PurgeRule[] {
    return this.sql.exec<RuleRow>('SELECT * FROM purge_rules').toArray().map(toRule);
  }
}

const NONE: PurgeEffect = { kind: 'none' };

function ruleArgs(r: PurgeRule): SqlStorageValue[] {
  return [r.id, r.ns, r.kind, r.value, r.version, r.soft ? 1 : 0, r.at, r.expiresAt];
}

function toRule(row: RuleRow): PurgeRule {
  return {
    id: row.id,
    ns: row.ns,
    kind: row.kind as PurgeKind,
    value: row.value,
    version: row.version,
    soft: row.soft === 1,
    at: row.at,
    expiresAt: row.expires_at,
  };
}

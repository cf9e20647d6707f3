/**
 * The Cloudflare zone purge of one region, kept in its PurgeDO's SQLite and
 * driven by that object's alarm.
 *
 * - `zone_queue`: one row per (purge, tag) still to send, in arrival order.
 * - `zone_purges`: per purge, its zone state (`pending`, `done`, `failed`),
 *   the API calls that carried its tags and the last error.
 * - `zone_state`: the token bucket and the "not before" time of the next call
 *   (backoff or `Retry-After`), so a restarted object keeps to the limit.
 *
 * `drain(now)` sends as many calls as the bucket allows, each with up to the
 * plan's items a call, oldest tags first and each tag once however many
 * purges queued it. Outcomes: 2xx settles the rows; 429 empties the bucket and
 * waits for `Retry-After`; 5xx, network errors and timeouts back off
 * exponentially with jitter and keep the rows (up to `MAX_ATTEMPTS` calls a
 * row); any other 4xx (bad token, unknown zone, a tag Cloudflare refuses)
 * fails the purges in that call with the API's message and drops their rows.
 * The token is only ever put in the Authorization header and is scrubbed from
 * any message that is stored.
 */
import type { ZoneConfig } from '../src/purge/zone-config.ts';
import {
  type BucketState,
  backoffMs,
  fullBucket,
  msUntilToken,
  nextBatch,
  parseRetryAfter,
  type QueuedTag,
  refill,
  takeToken,
} from '../src/purge/zone-limits.ts';

/** Calls a row may be part of before its purge is marked failed (about 30-60 min of backoff). */
export const MAX_ATTEMPTS = 20;
/** Calls one `drain` sends at most (a subrequest budget); it then asks to run again at once. */
export const MAX_CALLS_PER_DRAIN = 50;
/** How long a settled purge's zone status is kept. */
export const STATUS_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** A purge's progress at the zone. */
export interface ZoneStatus {
  state: 'pending' | 'done' | 'failed' | 'not-configured';
  /** API calls sent that carried at least one of its tags (refused and failed ones included). */
  calls: number;
  lastError?: string;
}

/** The status to report for a tag purge when zone purge is off. */
export const ZONE_NOT_CONFIGURED: ZoneStatus = Object.freeze({ state: 'not-configured', calls: 0 });

type Outcome =
  | { kind: 'ok' }
  | { kind: 'rate-limited'; waitMs: number; error: string }
  | { kind: 'retry'; error: string }
  | { kind: 'rejected'; error: string };

interface StateRow extends Record<string, SqlStorageValue> {
  tokens: number;
  refilled_at: number;
  next_at: number;
  failures: number;
}

interface State {
  bucket: BucketState;
  nextAt: number;
  failures: number;
}

/** `tag IN (…)` for a JSON array bound as one parameter (DO SQLite caps bound parameters). */
const IN_TAGS = 'tag IN (SELECT value FROM json_each(?))';

export class ZonePurger {
  private readonly send: typeof fetch;
  private readonly url: string;
  private draining: Promise<number | null> | null = null;

  /**
   * @example
   * // in PurgeDO's constructor, inside blockConcurrencyWhile
   * const zone = zoneConfigFor(env);
   * this.zone = zone ? new ZonePurger(ctx.storage.sql, zone, fetch) : null;
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly config: ZoneConfig,
    fetcher: typeof fetch,
    private readonly random: () => number = Math.random,
  ) {
    // A plain call: workerd's fetch refuses a foreign `this`.
    this.send = (input, init) => fetcher(input, init);
    this.url = `${config.apiBase}/zones/${config.zoneId}/purge_cache`;
    sql.exec(`CREATE TABLE IF NOT EXISTS zone_queue (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      tag TEXT NOT NULL,
      purge_id TEXT NOT NULL,
      enqueued_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS zone_queue_tag ON zone_queue (tag)');
    sql.exec('CREATE INDEX IF NOT EXISTS zone_queue_purge ON zone_queue (purge_id)');
    sql.exec(`CREATE TABLE IF NOT EXISTS zone_purges (
      purge_id TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      calls INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      settled_at INTEGER
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS zone_purges_settled ON zone_purges (settled_at)');
    sql.exec(`CREATE TABLE IF NOT EXISTS zone_state (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      tokens REAL NOT NULL,
      refilled_at INTEGER NOT NULL,
      next_at INTEGER NOT NULL,
      failures INTEGER NOT NULL
    )`);
  }

  /**
   * Queues a purge's tags (synchronous: call it inside the purge's SQLite
   * transaction). Idempotent per `purgeId`. Returns when `drain` should run,
   * or null when there is nothing to send.
   * @example
   * const due = this.zone?.enqueue(purgeId, ['product-42'], now);
   * if (due != null) await this.ctx.storage.setAlarm(due);
   */
  enqueue(purgeId: string, tags: readonly string[], now: number): number | null {
    const unique = [...new Set(tags)];
    const known = this.sql
      .exec('SELECT 1 FROM zone_purges WHERE purge_id = ?', purgeId)
      .toArray().length;
    if (unique.length > 0 && known === 0) {
      this.sql.exec('DELETE FROM zone_purges WHERE settled_at < ?', now - STATUS_RETENTION_MS);
      this.sql.exec(
        "INSERT INTO zone_purges (purge_id, state, created_at) VALUES (?, 'pending', ?)",
        purgeId,
        now,
      );
      for (const tag of unique) {
        this.sql.exec(
          'INSERT INTO zone_queue (tag, purge_id, enqueued_at) VALUES (?, ?, ?)',
          tag,
          purgeId,
          now,
        );
      }
    }
    return this.dueAt(now);
  }

  /**
   * Sends what the rate limit allows now. Returns when to run again (epoch
   * ms; `now` itself when more may be sent at once), or null when the queue
   * is empty. A second call while one runs shares its result.
   * @example
   * // PurgeDO.alarm()
   * const next = await this.zone.drain(Date.now());
   * if (next !== null) await this.ctx.storage.setAlarm(next);
   */
  drain(now: number): Promise<number | null> {
    if (!this.draining) {
      this.draining = this.drainNow(now).finally(() => {
        this.draining = null;
      });
    }
    return this.draining;
  }

  /** The purge's zone status; null when it queued no tags (or was forgotten after `STATUS_RETENTION_MS`). */
  status(purgeId: string): ZoneStatus | null {
    const row = this.sql
      .exec<{ state: ZoneStatus['state']; calls: number; last_error: string | null }>(
        'SELECT state, calls, last_error FROM zone_purges WHERE purge_id = ?',
        purgeId,
      )
      .toArray()[0];
    if (!row) return null;
    const status: ZoneStatus = { state: row.state, calls: row.calls };
    if (row.last_error !== null) status.lastError = row.last_error;
    return status;
  }

  /** When `drain` should next run, or null when nothing is queued. */
  dueAt(now: number): number | null {
    if (this.queued() === 0) return null;
    const state = this.load(now);
    const bucket = refill(state.bucket, this.config.limits, now);
    return Math.max(state.nextAt, now + msUntilToken(bucket, this.config.limits));
  }

  /** Rows (purge × tag) still to send. */
  queued(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM zone_queue').one().n;
  }

  private async drainNow(now: number): Promise<number | null> {
    const { limits } = this.config;
    for (let sent = 0; sent < MAX_CALLS_PER_DRAIN; sent++) {
      const state = this.load(now);
      // Rows queued from here on wait for the next call: this one may reach
      // Cloudflare before their purge was applied.
      const through = this.sql
        .exec<{ s: number | null }>('SELECT MAX(seq) AS s FROM zone_queue')
        .one().s;
      if (through === null) return null;
      if (now < state.nextAt) return state.nextAt;
      const take = takeToken(state.bucket, limits, now);
      if (!take.ok) {
        this.save({ ...state, bucket: take.state });
        return take.retryAt;
      }
      const tags = nextBatch(this.rows(through), limits.itemsPerCall);
      // Spend the token before the call goes out, so a crash cannot spend it twice.
      this.save({ ...state, bucket: take.state });
      const purgeIds = JSON.stringify(this.purgesOf(tags, through));
      this.sql.exec(
        'UPDATE zone_purges SET calls = calls + 1 WHERE purge_id IN (SELECT value FROM json_each(?))',
        purgeIds,
      );
      const outcome = await this.call(tags, now);
      const batch = JSON.stringify(tags);
      switch (outcome.kind) {
        case 'ok':
          this.settle(batch, through, now);
          this.save({ ...this.load(now), failures: 0 });
          break;
        case 'rate-limited': {
          // The API is the authority on the bucket it shares with every client of the account.
          const nextAt = now + outcome.waitMs;
          this.noteError(purgeIds, outcome.error);
          this.save({ bucket: { tokens: 0, updatedAt: now }, nextAt, failures: state.failures });
          return nextAt;
        }
        case 'retry': {
          const failures = state.failures + 1;
          const nextAt = now + backoffMs(failures, this.random);
          this.noteError(purgeIds, outcome.error);
          this.retryLater(batch, through, outcome.error, now);
          this.save({ ...this.load(now), nextAt, failures });
          return this.dueAt(now);
        }
        case 'rejected':
          this.fail(purgeIds, outcome.error, now);
          this.sql.exec(`DELETE FROM zone_queue WHERE seq <= ? AND ${IN_TAGS}`, through, batch);
          break;
      }
    }
    return this.dueAt(now);
  }

  /** Queued rows up to `through`, oldest first, read lazily. */
  private *rows(through: number): Generator<QueuedTag> {
    const cursor = this.sql.exec<{ tag: string; purge_id: string }>(
      'SELECT tag, purge_id FROM zone_queue WHERE seq <= ? ORDER BY seq',
      through,
    );
    for (const row of cursor) yield { tag: row.tag, purgeId: row.purge_id };
  }

  private purgesOf(tags: string[], through: number): string[] {
    return this.sql
      .exec<{ purge_id: string }>(
        `SELECT DISTINCT purge_id FROM zone_queue WHERE seq <= ? AND ${IN_TAGS}`,
        through,
        JSON.stringify(tags),
      )
      .toArray()
      .map((r) => r.purge_id);
  }

  /** The batch's rows are purged: drop them; purges with nothing left are done. */
  private settle(batch: string, through: number, now: number): void {
    const done = new Set(
      this.sql
        .exec<{ purge_id: string }>(
          `DELETE FROM zone_queue WHERE seq <= ? AND ${IN_TAGS} RETURNING purge_id`,
          through,
          batch,
        )
        .toArray()
        .map((r) => r.purge_id),
    );
    for (const purgeId of done) {
      this.sql.exec(
        `UPDATE zone_purges SET state = 'done', last_error = NULL, settled_at = ?
         WHERE purge_id = ? AND state = 'pending'
           AND NOT EXISTS (SELECT 1 FROM zone_queue WHERE purge_id = ?)`,
        now,
        purgeId,
        purgeId,
      );
    }
  }

  /** A retryable failure: count the attempt; rows out of attempts fail their purges. */
  private retryLater(batch: string, through: number, error: string, now: number): void {
    this.sql.exec(
      `UPDATE zone_queue SET attempts = attempts + 1 WHERE seq <= ? AND ${IN_TAGS}`,
      through,
      batch,
    );
    const spent = this.sql
      .exec<{ purge_id: string }>(
        'DELETE FROM zone_queue WHERE attempts >= ? RETURNING purge_id',
        MAX_ATTEMPTS,
      )
      .toArray()
      .map((r) => r.purge_id);
    if (spent.length > 0) {
      const ids = JSON.stringify([...new Set(spent)]);
      this.fail(ids, `gave up after ${MAX_ATTEMPTS} attempts: ${error}`, now);
    }
  }

  /** Marks purges failed, keeping the first error of each. */
  private fail(purgeIds: string, error: string, now: number): void {
    this.sql.exec(
      `UPDATE zone_purges SET state = 'failed', last_error = ?, settled_at = ?
       WHERE state = 'pending' AND purge_id IN (SELECT value FROM json_each(?))`,
      error,
      now,
      purgeIds,
    );
  }

  private noteError(purgeIds: string, error: string): void {
    this.sql.exec(
      `UPDATE zone_purges SET last_error = ?
       WHERE state = 'pending' AND purge_id IN (SELECT value FROM json_each(?))`,
      error,
      purgeIds,
    );
  }

  /** One purge call; never throws. */
  private async call(tags: string[], now: number): Promise<Outcome> {
    const { timeoutMs, limits } = this.config;
    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const res = await this.send(this.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.config.apiToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ tags }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      const why = timedOut ? `timed out after ${timeoutMs} ms` : errorText(err);
      return { kind: 'retry', error: this.scrub(`zone purge call failed: ${why}`) };
    }
    const body = parseBody(text);
    const error = this.scrub(`Cloudflare API ${status}${body.message ? `: ${body.message}` : ''}`);
    if (status === 429) {
      // Without Retry-After, wait for one token at the plan's rate.
      const fallback = Math.max(1000, Math.ceil(1000 / limits.ratePerSecond));
      return { kind: 'rate-limited', waitMs: parseRetryAfter(retryAfter, now) ?? fallback, error };
    }
    if (status >= 500 || status === 408) return { kind: 'retry', error };
    if (status >= 200 && status < 300 && body.success !== false) return { kind: 'ok' };
    return { kind: 'rejected', error };
  }

  /** The token never reaches storage, even if an API or runtime message were to quote it. */
  private scrub(message: string): string {
    return message.split(this.config.apiToken).join('[redacted]').slice(0, 500);
  }

  private load(now: number): State {
    const row = this.sql
      .exec<StateRow>('SELECT tokens, refilled_at, next_at, failures FROM zone_state WHERE id = 1')
      .toArray()[0];
    if (!row) return { bucket: fullBucket(this.config.limits, now), nextAt: 0, failures: 0 };
    const tokens = Math.min(row.tokens, this.config.limits.burst);
    return {
      bucket: { tokens, updatedAt: row.refilled_at },
      nextAt: row.next_at,
      failures: row.failures,
    };
  }

  private save(state: State): void {
    this.sql.exec(
      `INSERT INTO zone_state (id, tokens, refilled_at, next_at, failures) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at,
         next_at = excluded.next_at, failures = excluded.failures`,
      state.bucket.tokens,
      state.bucket.updatedAt,
      state.nextAt,
      state.failures,
    );
  }
}

/** `success` and the joined `errors[].message (code)` of a Cloudflare API envelope, when readable. */
function parseBody(text: string): { success?: boolean; message?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text.trim() ? { message: text.trim().slice(0, 200) } : {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const { success, errors } = parsed as { success?: unknown; errors?: unknown };
  const messages = Array.isArray(errors)
    ? errors
        .map((e: { message?: unknown; code?: unknown }) =>
          typeof e?.message === 'string'
            ? `${e.message}${typeof e.code === 'number' ? ` (${e.code})` : ''}`
            : '',
        )
        .filter(Boolean)
    : [];
  return {
    ...(typeof success === 'boolean' ? { success } : {}),
    ...(messages.length > 0 ? { message: messages.join('; ') } : {}),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * KeysDO: the region's API key registry, one SQLite-backed instance per
 * region (the Worker addresses it as `env.KEYS.getByName('keys')`).
 *
 * It stores SHA-256(secret) and never the secret: `create` draws a key, hands
 * the full key back once, and keeps only the hash. Keys are revoked, not
 * deleted, so `list` still shows who held what. The key format is documented
 * in src/auth/api-keys.ts.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  generateApiKey,
  hashSecret,
  isNamespacePattern,
  isScope,
  type KeyRecord,
  type KeySummary,
  MAX_NAMESPACE_PATTERNS,
  SCOPES,
} from '../src/auth/api-keys.ts';
import type { Scope } from '../src/auth/principal.ts';
import type { Env } from '../src/env.ts';

/** What `create` needs; the admin route validates it first, the object checks it again. */
export interface CreateKeyInput {
  name?: string;
  namespaces: string[];
  scopes: Scope[];
}

/** What `create` returns: the id, the secret (shown once) and the stored record without its hash. */
export interface CreatedKey {
  id: string;
  secret: string;
  record: KeySummary;
}

interface KeyRow extends Record<string, SqlStorageValue> {
  id: string;
  name: string | null;
  hash: string;
  namespaces: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
}

const MAX_NAME_CHARS = 100;

export class KeysDO extends DurableObject<Env> {
  #initError: unknown;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      try {
        migrate(ctx.storage.sql);
      } catch (err) {
        // Keep the input gate usable: report the failure on each call instead
        // of breaking the object for good (partyserver #ensureInitialized).
        this.#initError = err;
      }
    });
  }

  /**
   * Creates a key. Returns the secret once; only its hash is stored.
   * @example const { id, secret } = await env.KEYS.getByName('keys').create({ namespaces: ['a'], scopes: ['read'] })
   */
  async create(input: CreateKeyInput): Promise<CreatedKey> {
    this.#ready();
    const name = checkName(input.name);
    const namespaces = checkNamespaces(input.namespaces);
    const scopes = checkScopes(input.scopes);
    const sql = this.ctx.storage.sql;
    const createdAt = Date.now();
    // 64-bit ids collide essentially never; the retry makes "never" exact.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { id, secret } = generateApiKey();
      const hash = await hashSecret(secret);
      const taken = sql.exec('SELECT 1 FROM api_keys WHERE id = ?', id).toArray().length > 0;
      if (taken) continue;
      sql.exec(
        `INSERT INTO api_keys (id, name, hash, namespaces, scopes, created_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, NULL)`,
        id,
        name,
        hash,
        JSON.stringify(namespaces),
        scopes.join(' '),
        createdAt,
      );
      return { id, secret, record: { id, name, namespaces, scopes, createdAt, revokedAt: null } };
    }
    throw new Error('Could not allocate a unique key id.');
  }

  /**
   * The full record (with hash) for `id`, revoked or not; `null` if unknown.
   * @example await stub.lookup('0123456789abcdef')
   */
  async lookup(id: string): Promise<KeyRecord | null> {
    this.#ready();
    const row = this.ctx.storage.sql
      .exec<KeyRow>('SELECT * FROM api_keys WHERE id = ?', id)
      .toArray()[0];
    return row ? toRecord(row) : null;
  }

  /**
   * Revokes `id`. True if the key exists (revoking twice is harmless), false if unknown.
   * @example await stub.revoke(id) // true
   */
  async revoke(id: string): Promise<boolean> {
    this.#ready();
    const sql = this.ctx.storage.sql;
    const exists = sql.exec('SELECT 1 FROM api_keys WHERE id = ?', id).toArray().length > 0;
    if (!exists) return false;
    sql.exec(
      'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
      Date.now(),
      id,
    );
    return true;
  }

  /**
   * Every key, oldest first, without hashes.
   * @example (await stub.list()).map((k) => k.id)
   */
  async list(): Promise<KeySummary[]> {
    this.#ready();
    return this.ctx.storage.sql
      .exec<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')
      .toArray()
      .map((row) => {
        const { hash: _hash, ...summary } = toRecord(row);
        return summary;
      });
  }

  #ready(): void {
    if (this.#initError !== undefined) {
      // Try once more: the failure may have been transient.
      try {
        migrate(this.ctx.storage.sql);
        this.#initError = undefined;
      } catch (err) {
        throw new Error('KeysDO storage failed to initialise.', { cause: err });
      }
    }
  }
}

function migrate(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT,
    hash TEXT NOT NULL,
    namespaces TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  )`);
}

function toRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    namespaces: JSON.parse(row.namespaces) as string[],
    scopes: row.scopes.split(' ').filter(isScope),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

function checkName(name: string | undefined): string | null {
  if (name === undefined) return null;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS) {
    throw new TypeError(`name must be 1-${MAX_NAME_CHARS} characters.`);
  }
  return name;
}

function checkNamespaces(namespaces: unknown): string[] {
  if (
    !Array.isArray(namespaces) ||
    namespaces.length === 0 ||
    namespaces.length > MAX_NAMESPACE_PATTERNS ||
    !namespaces.every((p) => typeof p === 'string' && isNamespacePattern(p))
  ) {
    throw new TypeError(`namespaces must be 1-${MAX_NAMESPACE_PATTERNS} namespace patterns.`);
  }
  return [...new Set(namespaces as string[])];
}

function checkScopes(scopes: unknown): Scope[] {
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(isScope)) {
    throw new TypeError('scopes must be a non-empty subset of read, write, admin.');
  }
  // Canonical order, no duplicates.
  return SCOPES.filter((s) => scopes.includes(s));
}

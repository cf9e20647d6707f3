/**
 * API keys and the bootstrap admin key: the key format, hashing, constant-time
 * comparison, and a short-lived per-isolate cache of key records.
 *
 * Key format: `strata_<id>_<secret>`, where `<id>` is 16 lower-case hex
 * characters (64 random bits, the record's primary key, safe to log) and
 * `<secret>` is 32 random bytes in unpadded base64url (43 characters). Only
 * SHA-256(secret) is stored (hex, in `KeysDO`); the full key is shown once, by
 * `POST /v1/admin/keys`.
 *
 * Revocation delay: each isolate may reuse a looked-up record for
 * `config.authCacheTtl` seconds (`AUTH_CACHE_TTL`, 10 s by default), so a
 * revoked key keeps working in *other* isolates for at most that long. The
 * isolate that handled the revocation forgets the record at once.
 *
 * Pure apart from `crypto.subtle` (a web standard): no runtime imports, so it
 * runs in node unit tests, in workerd and inside `KeysDO`.
 */
import { StrataError } from '../errors.ts';
import { LIMITS } from '../limits.ts';
import type { Principal, Scope } from './principal.ts';

/** Every scope a credential may carry, in canonical order. */
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

/** Prefix shared by every Strata API key. */
export const API_KEY_PREFIX = 'strata_';

const API_KEY = /^strata_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const encoder = new TextEncoder();

/** The two halves of an API key. */
export interface ApiKeyParts {
  /** 16 lower-case hex characters; not secret. */
  id: string;
  /** 43 base64url characters (32 random bytes); never stored, never logged. */
  secret: string;
}

/**
 * A stored key, as `KeysDO.lookup` returns it. `hash` is the hex SHA-256 of
 * the secret; the secret itself is never stored.
 */
export interface KeyRecord {
  id: string;
  name: string | null;
  hash: string;
  namespaces: string[];
  scopes: Scope[];
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
  /** Milliseconds since the Unix epoch, or `null` while the key is active. */
  revokedAt: number | null;
}

/** A key record without its hash: what listings show. */
export type KeySummary = Omit<KeyRecord, 'hash'>;

/** Loads a key record by id (in the Worker: `env.KEYS.getByName('keys').lookup`). */
export type KeyLookup = (id: string) => Promise<KeyRecord | null>;

/**
 * Splits a presented API key into id and secret, or returns `null` if it does
 * not have the documented shape.
 * @example parseApiKey(`strata_0123456789abcdef_${'A'.repeat(43)}`)?.id // '0123456789abcdef'
 */
export function parseApiKey(raw: string): ApiKeyParts | null {
  const m = API_KEY.exec(raw);
  if (!m) return null;
  return { id: m[1] as string, secret: m[2] as string };
}

/**
 * Joins an id and a secret into the key a client presents.
 * @example formatApiKey({ id, secret }) // 'strata_<id>_<secret>'
 */
export function formatApiKey(parts: ApiKeyParts): string {
  return `${API_KEY_PREFIX}${parts.id}_${parts.secret}`;
}

/** True if `id` has the shape of an API key id (16 lower-case hex characters). */
export function isKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

/**
 * Draws a fresh key from the platform CSPRNG.
 * @example const { id, secret } = generateApiKey(); formatApiKey({ id, secret })
 */
export function generateApiKey(): ApiKeyParts {
  const id = toHex(crypto.getRandomValues(new Uint8Array(8)));
  const secret = toBase64url(crypto.getRandomValues(new Uint8Array(32)));
  return { id, secret };
}

/**
 * SHA-256 of the UTF-8 bytes of `text`.
 * @example toHex(await sha256('abc')) // 'ba7816bf…'
 */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * The stored form of a secret: hex SHA-256. The secret has 256 random bits,
 * so an unsalted fast hash is enough; no password KDF is needed.
 * @example await hashSecret(secret) // 64 hex characters
 */
export async function hashSecret(secret: string): Promise<string> {
  return toHex(await sha256(secret));
}

type SubtleWithTimingSafeEqual = SubtleCrypto & {
  timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean;
};

/**
 * Compares two byte strings in time that depends only on their length. Use it
 * on digests, which always have equal length. Uses workerd's
 * `crypto.subtle.timingSafeEqual` where it exists, otherwise an XOR-accumulate
 * loop without early exit (node, browsers).
 * @example timingSafeEqual(await sha256(a), await sha256(b))
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const subtle = crypto.subtle as SubtleWithTimingSafeEqual;
  if (typeof subtle.timingSafeEqual === 'function') return subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/**
 * Compares a presented secret with a stored hex hash in constant time.
 * @example await secretMatches(parts.secret, record.hash)
 */
export async function secretMatches(secret: string, storedHash: string): Promise<boolean> {
  const presented = encoder.encode(await hashSecret(secret));
  // The stored hash is 64 hex characters; a corrupt row simply never matches.
  return timingSafeEqual(presented, encoder.encode(storedHash));
}

/** True if `s` is a valid namespace grant: `*`, an exact namespace, or a namespace prefix then `*`. */
export function isNamespacePattern(s: string): boolean {
  if (s === '*') return true;
  const base = s.endsWith('*') ? s.slice(0, -1) : s;
  return LIMITS.namespacePattern.test(base);
}

/** True if `s` names a scope. */
export function isScope(s: unknown): s is Scope {
  return typeof s === 'string' && (SCOPES as readonly string[]).includes(s);
}

/** Largest number of namespace patterns one credential may carry. */
export const MAX_NAMESPACE_PATTERNS = 100;

/** The `WWW-Authenticate` challenge sent with every 401 (RFC 6750 §3). */
export const BEARER_CHALLENGE = 'Bearer realm="strata"';

/**
 * The 401 for a missing or unacceptable credential. With a credential
 * present, the challenge carries `error="invalid_token"` (RFC 6750 §3.1).
 * `detail` must never contain the credential.
 */
export function unauthorized(
  detail: string,
  options: { presented?: boolean; cause?: unknown } = {},
): StrataError {
  const challenge = options.presented
    ? `${BEARER_CHALLENGE}, error="invalid_token"`
    : BEARER_CHALLENGE;
  return new StrataError('unauthorized', detail, {
    cause: options.cause,
    headers: { 'WWW-Authenticate': challenge },
  });
}

/** The principal of the bootstrap admin key: every scope on every namespace. */
export const BOOTSTRAP_PRINCIPAL: Principal = Object.freeze({
  id: 'admin:bootstrap',
  kind: 'bootstrap',
  scopes: new Set<Scope>(SCOPES),
  namespaces: Object.freeze(['*']),
});

/** The principal an active key record grants. */
export function principalForRecord(record: KeyRecord): Principal {
  return {
    id: `key:${record.id}`,
    kind: 'api-key',
    scopes: new Set(record.scopes),
    namespaces: Object.freeze([...record.namespaces]),
  };
}

/**
 * A bounded, per-isolate map of key records with a time to live. Holds
 * resolved records only, never promises, so nothing started by one request is
 * awaited by another (Workers may not resolve such I/O). A TTL of 0 disables
 * it at no cost.
 */
export class KeyRecordCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { record: KeyRecord; expiresAt: number }>();

  /**
   * @param ttlSeconds how long a record may be reused; this is the revocation delay for other isolates
   * @param maxEntries oldest entries are dropped beyond this
   * @example new KeyRecordCache(config.authCacheTtl)
   */
  constructor(ttlSeconds: number, maxEntries = 1024) {
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0)
      throw new RangeError('ttlSeconds must be >= 0');
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be >= 1');
    this.#ttlMs = ttlSeconds * 1000;
    this.#maxEntries = maxEntries;
  }

  /** The cached record for `id` if it is still fresh at `now` (ms). */
  get(id: string, now: number): KeyRecord | undefined {
    const hit = this.#entries.get(id);
    if (!hit) return undefined;
    if (now >= hit.expiresAt) {
      this.#entries.delete(id);
      return undefined;
    }
    return hit.record;
  }

  /** Remembers `record` from `now` (ms) for the TTL. */
  set(record: KeyRecord, now: number): void {
    if (this.#ttlMs === 0) return;
    this.#entries.delete(record.id);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(record.id, { record, expiresAt: now + this.#ttlMs });
  }

  /** Forgets `id` (after a revocation in this isolate). */
  delete(id: string): void {
    this.#entries.delete(id);
  }

  /** Number of entries held (fresh or not yet swept). */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Resolves a presented API key to a principal, or throws 401. Unknown id,
 * wrong secret and revoked key all give the same answer, so the response is
 * no oracle for which ids exist.
 * @example await verifyApiKey(token, { lookup, cache, now: Date.now() })
 */
export async function verifyApiKey(
  raw: string,
  deps: { lookup: KeyLookup; cache: KeyRecordCache; now: number },
): Promise<Principal> {
  const parts = parseApiKey(raw);
  if (!parts) {
    throw unauthorized('The API key is malformed: expected strata_<16 hex>_<43 base64url>.', {
      presented: true,
    });
  }
  let record = deps.cache.get(parts.id, deps.now);
  if (!record) {
    record = (await deps.lookup(parts.id)) ?? undefined;
    if (record) deps.cache.set(record, deps.now);
  }
  // Hash even when the id is unknown so both paths do the same work.
  const matches = await secretMatches(parts.secret, record?.hash ?? '');
  if (!record || !matches || record.revokedAt !== null) {
    throw unauthorized('The API key is not valid (unknown, revoked or wrong secret).', {
      presented: true,
    });
  }
  return principalForRecord(record);
}

/**
 * True if `presented` equals the bootstrap admin key, comparing SHA-256
 * digests in constant time (equal-length inputs whatever the key lengths).
 * @example await isBootstrapKey(token, await sha256(env.STRATA_ADMIN_KEY))
 */
export async function isBootstrapKey(
  presented: string,
  adminKeyDigest: Uint8Array,
): Promise<boolean> {
  return timingSafeEqual(await sha256(presented), adminKeyDigest);
}

/**
 * Lower-case hex of `bytes`.
 * @example toHex(new Uint8Array([1, 255])) // '01ff'
 */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function toBase64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

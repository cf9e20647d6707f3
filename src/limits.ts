/**
 * Documented request limits. The README's "Limits" table is generated from
 * these values by hand: change both together.
 */
export const LIMITS = {
  /** Namespace syntax: lower-case letters, digits, `-` and `_`, 1–64 chars, starting alphanumeric. */
  namespacePattern: /^[a-z0-9][a-z0-9_-]{0,63}$/,
  /** Keys are 1–512 bytes of UTF-8 with no control characters. */
  maxKeyBytes: 512,
  /** Default and hard ceiling for a value's size (a Durable Object row holds at most 2 MB). */
  defaultValueBytes: 512 * 1024,
  hardMaxValueBytes: 1536 * 1024,
  /** TTL (Cache-Control max-age) range, seconds. */
  minTtl: 1,
  maxTtl: 30 * 24 * 3600,
  /** stale-while-revalidate / stale-if-error range, seconds. */
  maxStale: 24 * 3600,
  /** Tags per entry and bytes per tag. */
  maxTags: 32,
  maxTagBytes: 128,
  /** Content-Type header length. */
  maxContentTypeBytes: 256,
} as const;

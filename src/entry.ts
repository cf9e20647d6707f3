/**
 * A cache entry and its binary encoding, shared by every tier.
 *
 * Encoding (used for L3, where a value travels as one Redis string):
 *   byte 0     'S' (0x53)      magic
 *   byte 1     1               format version
 *   bytes 2-5  uint32 BE       length n of the metadata JSON
 *   n bytes    UTF-8 JSON      EntryMeta
 *   rest       the value bytes, untouched
 * Pure: no runtime imports.
 */

export interface EntryMeta {
  namespace: string;
  key: string;
  /** HLC version, formatted (see hlc.ts); the ETag. */
  version: string;
  /** Milliseconds since epoch when the version was written. */
  createdAt: number;
  /** Milliseconds since epoch after which the entry is never served. */
  expiresAt: number;
  /** Seconds a stale copy may be served while revalidating (RFC 5861). Stored for later features. */
  staleWhileRevalidate: number;
  /** Seconds a stale copy may be served when the source errors (RFC 5861). */
  staleIfError: number;
  tags: string[];
  contentType: string;
  /** Value length in bytes. */
  size: number;
  /** Business priority class 0–3 (`Cache-Priority`); absent means the namespace default. */
  priority?: number;
  /** Cost of a miss (`Cache-Cost`), for cost-aware eviction; absent means 1. */
  cost?: number;
}

export interface Entry {
  meta: EntryMeta;
  value: Uint8Array;
}

export class EntryCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryCodecError';
  }
}

const MAGIC = 0x53;
const FORMAT = 1;
const HEADER = 6;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function encodeEntry(entry: Entry): Uint8Array {
  const meta = encoder.encode(JSON.stringify(entry.meta));
  const out = new Uint8Array(HEADER + meta.byteLength + entry.value.byteLength);
  out[0] = MAGIC;
  out[1] = FORMAT;
  new DataView(out.buffer).setUint32(2, meta.byteLength);
  out.set(meta, HEADER);
  out.set(entry.value, HEADER + meta.byteLength);
  return out;
}

/** Decodes bytes produced by `encodeEntry`; throws `EntryCodecError` on anything else. */
export function decodeEntry(bytes: Uint8Array): Entry {
  if (bytes.byteLength < HEADER || bytes[0] !== MAGIC)
    throw new EntryCodecError('not a Strata entry');
  if (bytes[1] !== FORMAT) throw new EntryCodecError(`unknown entry format ${bytes[1]}`);
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2);
  if (HEADER + metaLength > bytes.byteLength) throw new EntryCodecError('truncated entry');
  let meta: EntryMeta;
  try {
    meta = JSON.parse(decoder.decode(bytes.subarray(HEADER, HEADER + metaLength)));
  } catch (cause) {
    throw new EntryCodecError(`corrupt entry metadata: ${(cause as Error).message}`);
  }
  if (!isEntryMeta(meta)) throw new EntryCodecError('entry metadata has the wrong shape');
  const value = bytes.slice(HEADER + metaLength);
  if (value.byteLength !== meta.size)
    throw new EntryCodecError('entry size does not match its metadata');
  return { meta, value };
}

function isEntryMeta(m: unknown): m is EntryMeta {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return (
    typeof o.namespace === 'string' &&
    typeof o.key === 'string' &&
    typeof o.version === 'string' &&
    typeof o.createdAt === 'number' &&
    typeof o.expiresAt === 'number' &&
    typeof o.staleWhileRevalidate === 'number' &&
    typeof o.staleIfError === 'number' &&
    Array.isArray(o.tags) &&
    o.tags.every((t) => typeof t === 'string') &&
    typeof o.contentType === 'string' &&
    typeof o.size === 'number'
  );
}

/** True while the entry may be served: `now` strictly before `expiresAt`. */
export function isFresh(meta: EntryMeta, now: number): boolean {
  return now < meta.expiresAt;
}

/** Whole seconds of life left (rounded down, never negative): what a back-fill may use. */
export function remainingTtl(meta: EntryMeta, now: number): number {
  return Math.max(0, Math.floor((meta.expiresAt - now) / 1000));
}

/** The `Age` header value (RFC 9111 §5.1): whole seconds since the version was written. */
export function ageSeconds(meta: EntryMeta, now: number): number {
  return Math.max(0, Math.floor((now - meta.createdAt) / 1000));
}

/**
 * A proxied response as it is kept in every tier: the value of an entry in
 * the proxy namespace is the response head (status, fields, freshness
 * facts, the request fields its `Vary` selected on) followed by the body.
 * A URL whose response varies also has a marker at its response key naming
 * the `Vary` fields, so a lookup knows which variant key to read; a URL
 * whose response may not be stored gets a pass marker in L0/L1 only.
 *
 *   bytes = "SPR1" · u32 head length (big-endian) · JSON head · body
 *
 * @example
 * const bytes = encodeStored({ kind: 'response', status: 200, headers: {}, freshness, vary: null, body });
 * decodeStored(bytes).kind; // 'response'
 */
import type { Freshness } from '../http/freshness.ts';
import type { HeaderMap } from '../http/headers.ts';

export interface StoredResponse {
  kind: 'response';
  status: number;
  /** Stored fields (hop-by-hop and the tag fields removed). */
  headers: HeaderMap;
  freshness: Freshness;
  /** The `Vary` names and the request's normalised values for them; null without `Vary`. */
  vary: { names: string[]; values: (string | null)[] } | null;
  body: Uint8Array;
}

/** At a URL's response key when its responses vary: which fields select the variant. */
export interface VaryMarker {
  kind: 'vary';
  names: string[];
}

/**
 * Hit-for-pass: kept only in L0 and L1 for `PROXY_PASS_TTL` after the
 * origin gave a response no cache may store (`private`, `Set-Cookie`, …),
 * so this data centre sends the next requests for the URL straight to the
 * origin instead of through its shard.
 */
export interface PassMarker {
  kind: 'pass';
  /** Why the response was not stored (a `Cache-Status` detail). */
  reason: string;
}

export type Stored = StoredResponse | VaryMarker | PassMarker;

const MAGIC = [0x53, 0x50, 0x52, 0x31]; // "SPR1"
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeStored(stored: Stored): Uint8Array {
  const { body, ...head } =
    stored.kind === 'response' ? stored : { ...stored, body: new Uint8Array(0) };
  const json = encoder.encode(JSON.stringify(head));
  const out = new Uint8Array(8 + json.byteLength + body.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, json.byteLength);
  out.set(json, 8);
  out.set(body, 8 + json.byteLength);
  return out;
}

/** Decodes a stored value; null when the bytes are not one (a foreign or corrupt value is a miss). */
export function decodeStored(bytes: Uint8Array): Stored | null {
  if (bytes.byteLength < 8 || MAGIC.some((b, i) => bytes[i] !== b)) return null;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  if (8 + length > bytes.byteLength) return null;
  let head: Record<string, unknown>;
  try {
    head = JSON.parse(decoder.decode(bytes.subarray(8, 8 + length))) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (head.kind === 'vary' && Array.isArray(head.names)) return head as unknown as VaryMarker;
  if (head.kind === 'pass' && typeof head.reason === 'string') return head as unknown as PassMarker;
  if (head.kind !== 'response' || typeof head.status !== 'number' || !head.freshness) return null;
  return { ...(head as unknown as StoredResponse), body: bytes.slice(8 + length) };
}

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature
 * scheme"): HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`,
 * sent as `webhook-signature: v1,<base64> [v1,<base64> ...]`, with secrets in
 * the form `whsec_<base64 of the key>`.
 *
 * Pure: WebCrypto (`crypto.subtle`) only, no runtime imports, so the same
 * module runs in node unit tests and in workerd. Failures are results, not
 * exceptions; the route maps them to HTTP.
 */

/** Accepted distance between `webhook-timestamp` and now, either way (the spec's 5 minutes). */
export const TOLERANCE_SECONDS = 300;
/** Most entries read from one `webhook-signature` header; a longer list is rejected unread. */
export const MAX_SIGNATURES = 10;
/** The spec's secret prefix. */
export const SECRET_PREFIX = 'whsec_';
/** Key length bounds in bytes (the spec asks for secrets of 24 to 64 bytes). */
export const MIN_KEY_BYTES = 24;
export const MAX_KEY_BYTES = 64;

const SIGNATURE_BYTES = 32; // HMAC-SHA256
// Visible ASCII, no spaces: an id is opaque to us, but it is a storage key and a header value.
const ID = /^[\x21-\x7e]{1,256}$/;
// Unix seconds as plain digits: parseInt would read '12abc' or '1e9' as something.
const TIMESTAMP = /^[0-9]{1,12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const encoder = new TextEncoder();

/** Why a delivery was refused; the route maps each to a status (README "Webhooks"). */
export type WebhookFailure =
  | 'missing-signature'
  | 'too-many-signatures'
  | 'missing-id'
  | 'malformed-id'
  | 'missing-timestamp'
  | 'malformed-timestamp'
  | 'expired'
  | 'invalid-signature';

/** The three headers as received; `null`/`undefined` when absent. */
export interface RawWebhookHeaders {
  id: string | null | undefined;
  timestamp: string | null | undefined;
  signature: string | null | undefined;
}

/** Headers that passed the cheap checks: the signature is still unverified. */
export interface WebhookHeaders {
  id: string;
  /** Unix seconds, as sent (the signed text uses the header's digits, see `signedContent`). */
  timestamp: string;
  /** The decoded `v1` signatures; other versions and malformed entries are ignored. */
  signatures: Uint8Array[];
}

export type HeaderCheck =
  | { ok: true; headers: WebhookHeaders }
  | { ok: false; reason: WebhookFailure; skewSeconds?: number };

/**
 * The checks that need no body and no key: presence, syntax, the timestamp
 * window (both ways, inclusive) and the length of the signature list. Run it
 * before reading the body.
 * @example checkHeaders({ id, timestamp, signature }, Date.now())
 */
export function checkHeaders(
  raw: RawWebhookHeaders,
  nowMs: number,
  toleranceSeconds = TOLERANCE_SECONDS,
): HeaderCheck {
  if (!raw.signature?.trim()) return { ok: false, reason: 'missing-signature' };
  if (!raw.id) return { ok: false, reason: 'missing-id' };
  if (!ID.test(raw.id)) return { ok: false, reason: 'malformed-id' };
  if (!raw.timestamp) return { ok: false, reason: 'missing-timestamp' };
  if (!TIMESTAMP.test(raw.timestamp)) return { ok: false, reason: 'malformed-timestamp' };
  const skewSeconds = Number(raw.timestamp) - Math.floor(nowMs / 1000);
  if (Math.abs(skewSeconds) > toleranceSeconds)
    return { ok: false, reason: 'expired', skewSeconds };
  const entries = raw.signature.split(' ').filter((e) => e !== '');
  if (entries.length > MAX_SIGNATURES) return { ok: false, reason: 'too-many-signatures' };
  const signatures: Uint8Array[] = [];
  for (const entry of entries) {
    // The spec: verifiers ignore versions they do not know (e.g. `v1a` for ed25519).
    if (!entry.startsWith('v1,')) continue;
    const bytes = decodeBase64(entry.slice(3));
    if (bytes?.byteLength === SIGNATURE_BYTES) signatures.push(bytes);
  }
  return { ok: true, headers: { id: raw.id, timestamp: raw.timestamp, signatures } };
}

/**
 * True if any signature in `headers` is the HMAC of the delivery under any of
 * `keys` (several keys: rotation). Each comparison runs in constant time.
 * @example await verifySignature(check.headers, bodyBytes, endpoint.keys)
 */
export async function verifySignature(
  headers: WebhookHeaders,
  body: Uint8Array | string,
  keys: readonly Uint8Array[],
): Promise<boolean> {
  if (headers.signatures.length === 0) return false;
  const content = signedContent(headers.id, headers.timestamp, body);
  let matched = false;
  for (const key of keys) {
    const expected = await hmac(key, content);
    // No early exit: the time taken does not depend on which key or entry matched.
    for (const presented of headers.signatures)
      matched = equalBytes(expected, presented) || matched;
  }
  return matched;
}

export type WebhookVerdict =
  | { ok: true; headers: WebhookHeaders }
  | { ok: false; reason: WebhookFailure; skewSeconds?: number };

/**
 * `checkHeaders` then `verifySignature`, for callers that already hold the body.
 * @example await verifyWebhook({ id, timestamp, signature }, body, [key], Date.now())
 */
export async function verifyWebhook(
  raw: RawWebhookHeaders,
  body: Uint8Array | string,
  keys: readonly Uint8Array[],
  nowMs: number,
  toleranceSeconds = TOLERANCE_SECONDS,
): Promise<WebhookVerdict> {
  const check = checkHeaders(raw, nowMs, toleranceSeconds);
  if (!check.ok) return check;
  if (!(await verifySignature(check.headers, body, keys)))
    return { ok: false, reason: 'invalid-signature' };
  return check;
}

/**
 * The `webhook-signature` entry for a delivery: `v1,<base64 HMAC-SHA256>`.
 * @example await signWebhook(parseSecret('whsec_...'), 'msg_1', '1614265330', '{"a":1}')
 */
export async function signWebhook(
  key: Uint8Array,
  id: string,
  timestamp: string | number,
  body: Uint8Array | string,
): Promise<string> {
  const mac = await hmac(key, signedContent(id, String(timestamp), body));
  return `v1,${encodeBase64(mac)}`;
}

/**
 * The key inside a `whsec_<base64>` secret. Throws an `Error` that never
 * repeats the secret: callers report configuration mistakes with it.
 * @example parseSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').byteLength // 24
 */
export function parseSecret(secret: string): Uint8Array {
  if (!secret.startsWith(SECRET_PREFIX))
    throw new Error(`a webhook secret starts with "${SECRET_PREFIX}"`);
  const key = decodeBase64(secret.slice(SECRET_PREFIX.length));
  if (!key) throw new Error(`a webhook secret is "${SECRET_PREFIX}" followed by standard base64`);
  if (key.byteLength < MIN_KEY_BYTES || key.byteLength > MAX_KEY_BYTES)
    throw new Error(
      `a webhook secret's key is ${MIN_KEY_BYTES}-${MAX_KEY_BYTES} bytes, this one is ${key.byteLength}`,
    );
  return key;
}

/** `${id}.${timestamp}.` then the body's bytes as received: never re-encoded. */
function signedContent(id: string, timestamp: string, body: Uint8Array | string): Uint8Array {
  const head = encoder.encode(`${id}.${timestamp}.`);
  const tail = typeof body === 'string' ? encoder.encode(body) : body;
  const out = new Uint8Array(head.byteLength + tail.byteLength);
  out.set(head, 0);
  out.set(tail, head.byteLength);
  return out;
}

async function hmac(key: Uint8Array, content: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    'raw',
    key,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, content));
}

/** Constant time for equal lengths; lengths are public (32 bytes here). */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Standard base64 (padding optional); `null` when `text` is not base64. */
function decodeBase64(text: string): Uint8Array | null {
  if (!BASE64.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Validation (RFC 9111 §4.3, RFC 9110 §13): the conditional request Strata
 * sends to revalidate a stored response, how a `304 Not Modified` updates
 * it, and whether a client's own conditional request is answered `304`
 * from the cache.
 *
 * Strata revalidates with the stored validators only (`If-None-Match` with
 * the stored `ETag`, else `If-Modified-Since` with the stored
 * `Last-Modified`); a client's conditionals are evaluated against the
 * (re)validated response here, so a 304 from the origin always refers to
 * what Strata holds.
 *
 * @example
 * revalidationHeaders({ etag: '"v1"' }); // { 'if-none-match': '"v1"' }
 * notModified({ 'if-none-match': 'W/"v1"' }, { etag: '"v1"' }, 'GET'); // true
 */
import type { HeaderMap } from './headers.ts';
import { listMembers } from './headers.ts';
import { parseHttpDate } from './http-date.ts';

/** Validators of a stored response, as conditional request fields. */
export function revalidationHeaders(stored: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  if (stored.etag) out['if-none-match'] = stored.etag;
  if (stored['last-modified']) out['if-modified-since'] = stored['last-modified'];
  return out;
}

/** True when the stored response has something to revalidate with. */
export function hasValidator(stored: HeaderMap): boolean {
  return stored.etag !== undefined || stored['last-modified'] !== undefined;
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Weak comparison (RFC 9110 §8.8.3.2) of `If-None-Match` members against an ETag. */
function noneMatchHits(ifNoneMatch: string, etag: string | undefined): boolean {
  const members = listMembers(ifNoneMatch);
  if (members.includes('*')) return true;
  if (etag === undefined) return false;
  return members.some((m) => opaque(m) === opaque(etag));
}

/**
 * RFC 9110 §13.2.2 for a cache: true when a GET or HEAD with these
 * conditionals is answered `304` from the stored response. `If-None-Match`
 * takes precedence; `If-Modified-Since` is compared with `Last-Modified`
 * (or `Date` when there is none, as §13.1.3 allows for a cache).
 */
export function notModified(request: HeaderMap, stored: HeaderMap, method: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const inm = request['if-none-match'];
  if (inm !== undefined) return noneMatchHits(inm, stored.etag);
  const ims = parseHttpDate(request['if-modified-since']);
  if (ims === null) return false;
  const modified = parseHttpDate(stored['last-modified'] ?? stored.date);
  return modified !== null && modified <= ims;
}

/** Fields a 304 must carry if the 200 would have (RFC 9110 §15.4.5). */
const NOT_MODIFIED_FIELDS = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
];

/** The fields of a `304` sent from the cache for a stored response. */
export function notModifiedHeaders(stored: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const name of NOT_MODIFIED_FIELDS) if (stored[name] !== undefined) out[name] = stored[name];
  return out;
}

/**
 * Fields a `304` must not change in the stored response (RFC 9111 §3.2):
 * those describing the stored body, and the ones that only make sense
 * hop by hop. Everything else in the 304 replaces or joins the stored
 * fields.
 */
const KEPT_ON_UPDATE = new Set([
  'content-length',
  'content-encoding',
  'content-range',
  'transfer-encoding',
]);

/** True when a 304 applies to the stored response (RFC 9111 §4.3.4: its validator selects it). */
export function selectsStored(stored: HeaderMap, notModifiedResponse: HeaderMap): boolean {
  const etag = notModifiedResponse.etag;
  if (etag !== undefined) return stored.etag !== undefined && opaque(stored.etag) === opaque(etag);
  const lm = notModifiedResponse['last-modified'];
  if (lm !== undefined) return stored['last-modified'] === lm;
  // No validator in the 304: it selects the one stored response it was asked about.
  return true;
}

/** The stored fields updated by a `304` (RFC 9111 §3.2, §4.3.4). */
export function mergeNotModified(stored: HeaderMap, notModifiedResponse: HeaderMap): HeaderMap {
  const out: HeaderMap = { ...stored };
  for (const [name, value] of Object.entries(notModifiedResponse)) {
    if (KEPT_ON_UPDATE.has(name)) continue;
    out[name] = value;
  }
  return out;
}

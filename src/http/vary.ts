/**
 * `Vary` (RFC 9111 §4.1): which request fields select among a URL's stored
 * responses, and the secondary key of one selection.
 *
 * Field values are normalised before comparing, as §4.1 allows: list
 * members trimmed and re-joined with ", ", so `gzip,br` and `gzip, br`
 * select the same variant. An absent field differs from an empty one.
 * The secondary key is a hash of the normalised values; a stored variant
 * also keeps the values themselves and is only used when they match
 * exactly, so a hash collision costs a miss, never a wrong response.
 *
 * @example
 * const names = varyNames({ vary: 'Accept-Encoding, accept-language' }); // ['accept-encoding', 'accept-language']
 * const values = selectingValues(names, { 'accept-encoding': 'gzip,br' }); // ['gzip, br', null]
 * variantId(names, values); // '7c1e0a5b' (stable)
 */
import { murmur3 } from '../hashing.ts';
import type { HeaderMap } from './headers.ts';
import { listMembers } from './headers.ts';

const encoder = new TextEncoder();

/** The lower-cased, de-duplicated field names of `Vary`; `['*']` when it contains `*`. */
export function varyNames(headers: HeaderMap): string[] {
  const names: string[] = [];
  for (const member of listMembers(headers.vary)) {
    const name = member.toLowerCase();
    if (name === '*') return ['*'];
    if (!names.includes(name)) names.push(name);
  }
  return names.sort();
}

/** The request's normalised value of each name (null when the field is absent). */
export function selectingValues(names: readonly string[], request: HeaderMap): (string | null)[] {
  return names.map((name) => {
    const value = request[name];
    return value === undefined ? null : listMembers(value).join(', ');
  });
}

/** True when a stored response's selecting values match the request's. */
export function varyMatches(
  names: readonly string[],
  stored: readonly (string | null)[],
  request: HeaderMap,
): boolean {
  if (names.includes('*')) return false;
  const now = selectingValues(names, request);
  return now.every((value, i) => value === stored[i]);
}

/** The secondary key of a selection: 8 hex digits of two murmur3 hashes (64 bits). */
export function variantId(names: readonly string[], values: readonly (string | null)[]): string {
  const text = names.map((n, i) => `${n}:${values[i] === null ? '\u0000' : values[i]}`).join('\n');
  const bytes = encoder.encode(text);
  const a = murmur3(bytes, 0x9747b28c).toString(16).padStart(8, '0');
  const b = murmur3(bytes, 0x5bd1e995).toString(16).padStart(8, '0');
  return a + b;
}

/**
 * Range requests answered from a stored complete response (RFC 9110 §14):
 * proxy mode stores whole `200` responses only, and serves a single byte
 * range of one as `206`, or `416` when the range lies past the end.
 *
 * Anything else is answered with the whole response, as §14.2 allows a
 * server to ignore `Range`: other units, several ranges, a malformed
 * header, or an `If-Range` that does not match the stored validator
 * (compared strongly, §13.1.5).
 *
 * @example
 * selectRange('bytes=0-1', undefined, { etag: '"a"' }, 10); // { kind: 'partial', start: 0, end: 1 }
 * selectRange('bytes=20-', undefined, {}, 10);              // { kind: 'unsatisfiable' }
 */
import type { HeaderMap } from './headers.ts';
import { parseHttpDate } from './http-date.ts';

export type RangeChoice =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const FULL: RangeChoice = { kind: 'full' };

/** True when `If-Range` (absent, or matching the stored validator strongly) lets the range apply. */
function ifRangeHolds(ifRange: string | undefined, stored: HeaderMap): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    // Weak tags never match in If-Range.
    return !value.startsWith('W/') && stored.etag !== undefined && stored.etag === value;
  }
  const date = parseHttpDate(value);
  const modified = parseHttpDate(stored['last-modified']);
  return date !== null && modified !== null && date === modified;
}

export function selectRange(
  range: string | undefined,
  ifRange: string | undefined,
  stored: HeaderMap,
  length: number,
): RangeChoice {
  if (range === undefined || !ifRangeHolds(ifRange, stored)) return FULL;
  const m = /^bytes=(\d*)-(\d*)$/i.exec(range.trim());
  if (!m) return FULL;
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return FULL;
  if (first === '') {
    // A suffix: the last N bytes.
    const n = Number(last);
    if (n === 0) return { kind: 'unsatisfiable' };
    return length === 0
      ? { kind: 'unsatisfiable' }
      : { kind: 'partial', start: Math.max(0, length - n), end: length - 1 };
  }
  const start = Number(first);
  const end = last === '' ? length - 1 : Math.min(Number(last), length - 1);
  if (last !== '' && Number(last) < start) return FULL;
  if (start >= length) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

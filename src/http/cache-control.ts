/**
 * Cache directives as proxy mode reads them (RFC 9111 §5.2, RFC 9213).
 *
 * `Cache-Control` members follow `token [ "=" ( token / quoted-string ) ]`
 * exactly: a member with whitespace around `=` or an unbalanced quote is
 * not a directive and is ignored (RFC 9111 §5.2: unknown or malformed
 * directives are ignored), and commas inside quoted strings do not split
 * (`extension="max-age=3600"` is one unknown directive). When a directive
 * appears twice, the first occurrence counts (RFC 9111 §4.2.1 allows it).
 *
 * `CDN-Cache-Control` is a Structured Fields dictionary (RFC 9213 §2.1,
 * RFC 8941 §3.2); a field that does not parse is ignored as a whole, and
 * the cache falls back to `Cache-Control`.
 *
 * @example
 * parseCacheControl('max-age=60, private="set-cookie", max-age=1').get('max-age'); // '60'
 * deltaSeconds('3600'); // 3600; deltaSeconds('3600.0') → null
 */

/** Directive name → argument (true when it has none). */
export type Directives = Map<string, string | true>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 9111 §1.2.2: delta-seconds beyond what a cache can count are 2^31. */
export const DELTA_SECONDS_MAX = 2147483648;

/** Splits on commas outside quoted strings; returns the raw members. */
function members(header: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(header.slice(start, i));
      start = i + 1;
    }
  }
  out.push(header.slice(start));
  return out;
}

/** Parses one `Cache-Control` (or `Pragma`) value, strictly. */
export function parseCacheControl(header: string | undefined): Directives {
  const out: Directives = new Map();
  if (!header) return out;
  for (const raw of members(header)) {
    const member = raw.trim();
    if (member === '') continue;
    const eq = member.indexOf('=');
    const name = (eq === -1 ? member : member.slice(0, eq)).toLowerCase();
    if (!TOKEN.test(name) || out.has(name)) continue;
    if (eq === -1) {
      out.set(name, true);
      continue;
    }
    const value = member.slice(eq + 1);
    if (TOKEN.test(value)) out.set(name, value);
    else if (/^"(?:[^"\\]|\\.)*"$/.test(value))
      out.set(name, value.slice(1, -1).replace(/\\(.)/g, '$1'));
    // Anything else (`max-age= 60`, `max-age='60'`, `"60`) is not a directive.
  }
  return out;
}

/** A directive's delta-seconds argument (digits only, capped at 2^31), or null. */
export function deltaSeconds(value: string | true | undefined): number | null {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return n >= DELTA_SECONDS_MAX || !Number.isFinite(n) ? DELTA_SECONDS_MAX : n;
}

const INTEGER_DIRECTIVES = new Set([
  'max-age',
  's-maxage',
  'stale-while-revalidate',
  'stale-if-error',
]);
/** A Structured Fields key (RFC 8941 §3.1.2). */
const SF_KEY = /^[a-z*][a-z0-9_\-.*]*$/;
/** A bare item: integer, decimal, string, token, byte sequence or boolean. */
const SF_ITEM =
  /^(?:-?\d{1,15}(?:\.\d{1,3})?|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*|:[A-Za-z0-9+/=]*:|\?[01])$/;

/**
 * `CDN-Cache-Control` as directives, or null when it is absent or is not a
 * valid Structured Fields dictionary (then `Cache-Control` applies). Values
 * come back in `Cache-Control` form: integers as digits, `?1` as `true`.
 */
export function parseTargetedCacheControl(header: string | undefined): Directives | null {
  if (header === undefined) return null;
  const out: Directives = new Map();
  const text = header.trim();
  if (text === '') return null;
  for (const raw of members(text)) {
    // RFC 8941: optional whitespace around the comma, none elsewhere.
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    const [head, ...params] = member.split(';');
    for (const param of params) {
      const [k, v] = param.trim().split('=');
      if (!k || !SF_KEY.test(k) || (v !== undefined && !SF_ITEM.test(v))) return null;
    }
    const item = head as string;
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (!SF_KEY.test(key)) return null;
    if (eq === -1) {
      if (!out.has(key)) out.set(key, true);
      continue;
    }
    const value = item.slice(eq + 1);
    if (!SF_ITEM.test(value)) return null;
    // The delta-seconds directives are sf-integers: any other type makes the field invalid.
    if (INTEGER_DIRECTIVES.has(key) && !/^\d{1,15}$/.test(value)) return null;
    // Later members of a dictionary override earlier ones (RFC 8941 §4.2.2).
    if (value === '?1') out.set(key, true);
    else if (value === '?0') out.delete(key);
    else if (value.startsWith('"')) out.set(key, value.slice(1, -1).replace(/\\(.)/g, '$1'));
    else out.set(key, value);
  }
  return out;
}

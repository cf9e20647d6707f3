/**
 * Validation of everything a client sends on the key API. Pure: no runtime
 * imports. Every function either returns a clean value or throws a
 * `StrataError` whose code maps to a 4xx problem response.
 */
import { StrataError } from './errors.ts';
import { LIMITS } from './limits.ts';

const encoder = new TextEncoder();
/** Longest Cache-Control header a write may carry. */
const MAX_CACHE_CONTROL_LENGTH = 1024;
// C0, DEL and C1 controls (category Cc): they break logs, Redis tooling and URL round-trips.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Checks namespace syntax (see `LIMITS.namespacePattern`). */
export function parseNamespace(raw: string): string {
  if (!LIMITS.namespacePattern.test(raw)) {
    throw new StrataError(
      'invalid-namespace',
      'Namespace must be 1-64 characters of a-z, 0-9, "-" or "_", starting with a letter or digit.',
      { extensions: { namespace: raw.slice(0, 100) } },
    );
  }
  return raw;
}

/** Checks a key: non-empty, at most `LIMITS.maxKeyBytes` of UTF-8, no control characters. */
export function parseKey(raw: string): string {
  if (raw.length === 0) throw new StrataError('invalid-key', 'Key must not be empty.');
  if (!raw.isWellFormed()) throw new StrataError('invalid-key', 'Key must be well-formed Unicode.');
  if (CONTROL.test(raw))
    throw new StrataError('invalid-key', 'Key must not contain control characters.');
  const bytes = encoder.encode(raw).byteLength;
  if (bytes > LIMITS.maxKeyBytes) {
    throw new StrataError(
      'invalid-key',
      `Key is ${bytes} bytes of UTF-8; the limit is ${LIMITS.maxKeyBytes}.`,
      {
        extensions: { limit: LIMITS.maxKeyBytes },
      },
    );
  }
  return raw;
}

/** Freshness a writer asked for, in seconds. */
export interface Freshness {
  ttl: number;
  staleWhileRevalidate: number;
  staleIfError: number;
}

/**
 * Reads TTL and staleness from a PUT's `Cache-Control` (`max-age`,
 * `s-maxage` wins over it as for shared caches, `stale-while-revalidate`,
 * `stale-if-error`; RFC 9111 §5.2, RFC 5861). Unknown directives are ignored
 * as RFC 9111 §5.2.3 requires; a malformed or out-of-range value of a known
 * directive is a 400, never silently clamped. `no-store` is refused: a
 * write that asks not to be stored is a client bug.
 */
export function parseWriteCacheControl(
  header: string | null | undefined,
  defaultTtl: number,
): Freshness {
  const out: Freshness = { ttl: defaultTtl, staleWhileRevalidate: 0, staleIfError: 0 };
  if (!header) return out;
  if (header.length > MAX_CACHE_CONTROL_LENGTH) {
    throw new StrataError(
      'invalid-cache-control',
      `Cache-Control is limited to ${MAX_CACHE_CONTROL_LENGTH} characters.`,
    );
  }
  let maxAge: number | undefined;
  let sMaxAge: number | undefined;
  const seen = new Set<string>();
  for (const { name, value: rawValue } of cacheDirectives(header)) {
    // RFC 9111 §4.2.1: when a directive repeats, the first occurrence counts.
    if (seen.has(name)) continue;
    seen.add(name);
    switch (name) {
      case 'max-age':
        maxAge = seconds(name, rawValue, LIMITS.minTtl, LIMITS.maxTtl);
        break;
      case 's-maxage':
        sMaxAge = seconds(name, rawValue, LIMITS.minTtl, LIMITS.maxTtl);
        break;
      case 'stale-while-revalidate':
        out.staleWhileRevalidate = seconds(name, rawValue, 0, LIMITS.maxStale);
        break;
      case 'stale-if-error':
        out.staleIfError = seconds(name, rawValue, 0, LIMITS.maxStale);
        break;
      case 'no-store':
        throw new StrataError(
          'invalid-cache-control',
          'Cache-Control: no-store on a write asks Strata not to store it.',
        );
      default:
        // RFC 9111 §5.2.3: unrecognised directives are ignored.
        break;
    }
  }
  const ttl = sMaxAge ?? maxAge;
  if (ttl !== undefined) out.ttl = ttl;
  return out;
}

/**
 * Splits a Cache-Control value into directives (RFC 9111 §5.2:
 * `token [ "=" ( token / quoted-string ) ]`), honouring commas and `\"`
 * escapes inside quoted strings. Names are lower-cased; quotes removed. One
 * left-to-right scan: linear in the header's length whatever it holds.
 */
export function cacheDirectives(header: string): { name: string; value: string | undefined }[] {
  const out: { name: string; value: string | undefined }[] = [];
  const n = header.length;
  let i = 0;
  while (i < n) {
    // One member: everything up to the next comma outside quotes.
    let eq = -1;
    let inQuotes = false;
    let j = i;
    for (; j < n; j++) {
      const ch = header[j];
      if (inQuotes) {
        if (ch === '\\') j++;
        else if (ch === '"') inQuotes = false;
      } else if (ch === '"') inQuotes = true;
      else if (ch === ',') break;
      else if (ch === '=' && eq === -1) eq = j;
    }
    if (inQuotes) {
      // An unterminated quote is not a quoted-string: the next comma ends the member.
      const comma = header.indexOf(',', i);
      j = comma === -1 ? n : comma;
      const equals = header.indexOf('=', i);
      eq = equals !== -1 && equals < j ? equals : -1;
    }
    const name = header
      .slice(i, eq === -1 ? j : eq)
      .trim()
      .toLowerCase();
    const raw = eq === -1 ? undefined : header.slice(eq + 1, j).trim();
    if (name !== '' && !/[\s"]/.test(name)) {
      // Only a balanced quoted-string is unquoted; `"60` stays as is and fails validation.
      const quoted = raw !== undefined && /^"(?:[^"\\]|\\.)*"$/.test(raw);
      const value = quoted ? (raw as string).slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      out.push({ name, value });
    }
    i = j + 1;
  }
  return out;
}

function seconds(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || !/^\d{1,10}$/.test(raw)) {
    throw new StrataError(
      'invalid-cache-control',
      `${name} needs a non-negative integer number of seconds.`,
    );
  }
  const n = Number(raw);
  if (n < min || n > max) {
    throw new StrataError(
      'invalid-cache-control',
      `${name}=${n} is outside [${min}, ${max}] seconds.`,
      {
        extensions: { directive: name, min, max },
      },
    );
  }
  return n;
}

/**
 * Parses `Cache-Tag`: comma-separated tags (as Cloudflare's header), each
 * 1–`maxTagBytes` bytes of visible ASCII without commas or spaces.
 * Duplicates collapse; order is kept.
 */
export function parseCacheTags(header: string | null | undefined): string[] {
  if (!header) return [];
  const tags: string[] = [];
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag === '') continue;
    if (!/^[\x21-\x7e]+$/.test(tag)) {
      throw new StrataError('invalid-tag', 'Tags are visible ASCII without spaces or commas.');
    }
    if (tag.length > LIMITS.maxTagBytes) {
      throw new StrataError('invalid-tag', `A tag is at most ${LIMITS.maxTagBytes} bytes.`);
    }
    if (tags.includes(tag)) continue;
    // Checked as we go, so a header with thousands of tags costs no more than 33.
    if (tags.length === LIMITS.maxTags) {
      throw new StrataError('invalid-tag', `At most ${LIMITS.maxTags} tags per entry.`);
    }
    tags.push(tag);
  }
  return tags;
}

/** Content type stored with a value; defaults to `application/octet-stream`. */
export function parseContentType(header: string | null | undefined): string {
  if (!header) return 'application/octet-stream';
  const value = header.trim();
  if (
    value.length > LIMITS.maxContentTypeBytes ||
    !/^[\x20-\x7e]+$/.test(value) ||
    !value.includes('/')
  ) {
    throw new StrataError(
      'invalid-content-type',
      'Content-Type must be a printable ASCII media type.',
    );
  }
  return value;
}

/** `Cache-Priority` names, lowest first; the header also takes the digits 0–3. */
export const PRIORITY_NAMES = ['low', 'normal', 'high', 'critical'] as const;

/**
 * Parses `Cache-Priority` on a write: `0`–`3` or `low|normal|high|critical`.
 * Absent gives `undefined` (the namespace default applies).
 */
export function parsePriority(header: string | null | undefined): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim().toLowerCase();
  if (/^[0-3]$/.test(value)) return Number(value);
  const index = (PRIORITY_NAMES as readonly string[]).indexOf(value);
  if (index === -1) {
    throw new StrataError(
      'invalid-priority',
      'Cache-Priority must be 0-3 or one of low, normal, high, critical.',
    );
  }
  return index;
}

/** Largest `Cache-Cost` accepted. */
export const MAX_COST = 1e9;

/** Parses `Cache-Cost` (the cost of a miss, any consistent positive unit, e.g. origin milliseconds). */
export function parseCost(header: string | null | undefined): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  const n = /^\d{1,10}(\.\d{1,6})?$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0 && n <= MAX_COST)) {
    throw new StrataError(
      'invalid-priority',
      `Cache-Cost must be a positive number up to ${MAX_COST}.`,
    );
  }
  return n;
}

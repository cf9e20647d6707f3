/**
 * RFC 9111 rules for a shared cache: may a response be stored, for how long
 * is it fresh, how old is it, and may a stored response answer a request.
 *
 * The storability and freshness-lifetime rules come from
 * `http-cache-semantics` (`storable()`, `maxAge()`: methods, understood
 * statuses, `no-store`, `private`, `Authorization` (§3.5), `s-maxage` over
 * `max-age` over `Expires`, heuristic freshness from `Last-Modified`,
 * `immutable`). Strata feeds it canonical headers, because the library
 * parses loosely (it splits `Cache-Control` on every comma and reads dates
 * with `Date.parse`), and keeps these rules itself, each a deliberate
 * deviation from the library:
 *
 * - Directives and dates are parsed strictly (`cache-control.ts`,
 *   `http-date.ts`); an invalid `Expires` means already expired (§5.3).
 * - Targeted fields (RFC 9213): `Strata-Cache-Control`, else
 *   `CDN-Cache-Control`, when present and valid, replaces `Cache-Control`
 *   and `Expires` for this cache.
 * - `proxy-revalidate` and `s-maxage` mean must-revalidate for a shared
 *   cache (§5.2.2.8, §5.2.2.10); the library instead makes such responses
 *   stale at once. A fresh `must-revalidate` response is served from cache
 *   (the library always revalidates it).
 * - Age is RFC 9111 §4.2.3's corrected initial age plus resident time
 *   (apparent age from `Date` included; the library ignores it).
 * - Never stored: responses with `Set-Cookie` (the library stores them
 *   when `public`), `Vary: *`, and the statuses 405, 414 and 501, which
 *   describe the request more than the resource (RFC 9111 lets a cache
 *   store them heuristically; storing one an odd request provoked would
 *   serve it to everyone).
 *
 * Pure: time comes in as arguments.
 *
 * @example
 * const a = assessResponse(exchange, RULES);
 * if (a.store) evaluate(a.freshness, { 'cache-control': 'max-age=0' }, Date.now()); // 'revalidate'
 */
import CachePolicy from 'http-cache-semantics';
import {
  DELTA_SECONDS_MAX,
  type Directives,
  deltaSeconds,
  parseCacheControl,
  parseTargetedCacheControl,
} from './cache-control.ts';
import type { HeaderMap } from './headers.ts';
import { formatHttpDate, parseHttpDate } from './http-date.ts';

/** Tunables of the rules. */
export interface FreshnessRules {
  /** Share of (Date − Last-Modified) used as heuristic freshness (RFC 9111 §4.2.2). */
  heuristicFraction: number;
  /** Heuristic freshness never exceeds this, in seconds. */
  maxHeuristicSeconds: number;
}

export const DEFAULT_RULES: FreshnessRules = {
  heuristicFraction: 0.1,
  maxHeuristicSeconds: 86_400,
};

/** One request/response exchange with the origin, as received. */
export interface Exchange {
  method: string;
  /** The normalised request target (path and query). */
  target: string;
  requestHeaders: HeaderMap;
  status: number;
  /** Response fields, hop-by-hop fields already removed. */
  responseHeaders: HeaderMap;
  /** Epoch ms the request was sent and the response headers arrived. */
  requestTime: number;
  responseTime: number;
}

/** What the rules keep about a stored response; JSON-safe. */
export interface Freshness {
  /** Freshness lifetime, seconds. */
  lifetime: number;
  /** RFC 9111 §4.2.3 corrected initial age, seconds. */
  initialAge: number;
  /** Epoch ms the response arrived (resident time counts from here). */
  responseTime: number;
  /** `no-cache`: every reuse needs a successful revalidation. */
  noCache: boolean;
  /** `must-revalidate`, `proxy-revalidate` or `s-maxage`: never served stale. */
  mustRevalidate: boolean;
  /** RFC 5861 windows, seconds past the lifetime. */
  staleWhileRevalidate: number;
  staleIfError: number;
  /** True when the lifetime is a heuristic (no explicit expiration). */
  heuristic: boolean;
}

export type NotStoredReason =
  | 'method'
  | 'status'
  | 'no-store'
  | 'request-no-store'
  | 'private'
  | 'authorization'
  | 'set-cookie'
  | 'vary-star'
  | 'not-cacheable';

export type Assessment =
  | { store: true; freshness: Freshness }
  | { store: false; reason: NotStoredReason };

/** Final statuses whose semantics this cache knows (must-understand, RFC 9111 §5.2.2.3). */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 410]);
/** Statuses that are never stored, whatever the response says (see the module comment). */
const NEVER_STORED = new Set([405, 414, 501]);
/** The directives the library reads, re-serialised for it without quotes or commas inside. */
const LIBRARY_DIRECTIVES = [
  'max-age',
  's-maxage',
  'no-store',
  'no-cache',
  'private',
  'public',
  'must-revalidate',
  'immutable',
];
const EPOCH = formatHttpDate(0);

/**
 * Targeted cache-control fields this cache obeys, most specific first
 * (RFC 9213 §2.1): `Strata-Cache-Control` for Strata alone, then
 * `CDN-Cache-Control` for every CDN.
 */
export const TARGETED_FIELDS = ['strata-cache-control', 'cdn-cache-control'] as const;

/** The response's cache directives: the first valid targeted field (RFC 9213), else `Cache-Control`. */
export function responseDirectives(headers: HeaderMap): {
  directives: Directives;
  targeted: boolean;
} {
  for (const field of TARGETED_FIELDS) {
    const targeted = parseTargetedCacheControl(headers[field]);
    if (targeted) return { directives: targeted, targeted: true };
  }
  return { directives: parseCacheControl(headers['cache-control']), targeted: false };
}

/** The request's cache directives; `Pragma: no-cache` counts when `Cache-Control` is absent (§5.4). */
export function requestDirectives(headers: HeaderMap): Directives {
  const cc = headers['cache-control'];
  if (cc !== undefined) return parseCacheControl(cc);
  const pragma = parseCacheControl(headers.pragma);
  return pragma.has('no-cache') ? new Map([['no-cache', true]]) : new Map();
}

/** First member of `Age` as delta-seconds; an invalid value is ignored (0). */
export function ageValue(headers: HeaderMap): number {
  const first = (headers.age ?? '').split(',')[0]?.trim();
  return deltaSeconds(first) ?? 0;
}

function libraryCacheControl(directives: Directives): string {
  const parts: string[] = [];
  for (const name of LIBRARY_DIRECTIVES) {
    const value = directives.get(name);
    if (value === undefined) continue;
    if (name === 'max-age' || name === 's-maxage') {
      const seconds = deltaSeconds(value);
      // An invalid max-age makes the response stale (RFC 9111 §4.2.1: treat as invalid → stale).
      parts.push(`${name}=${seconds ?? 0}`);
    } else {
      // `private="f"` / `no-cache="f"` act on the whole response here: the stricter reading.
      parts.push(name);
    }
  }
  return parts.join(', ');
}

/** The headers the library sees: canonical directives and dates, nothing it would misparse. */
function libraryHeaders(headers: HeaderMap, directives: Directives, targeted: boolean): HeaderMap {
  const out: HeaderMap = { ...headers };
  for (const field of TARGETED_FIELDS) delete out[field];
  delete out.age;
  delete out.pragma;
  out['cache-control'] = libraryCacheControl(directives);
  if (!out['cache-control']) delete out['cache-control'];
  if (targeted || out.expires === undefined) delete out.expires;
  else {
    const expires = parseHttpDate(out.expires);
    out.expires = expires === null ? EPOCH : formatHttpDate(expires);
  }
  for (const name of ['date', 'last-modified'] as const) {
    if (out[name] === undefined) continue;
    const ms = parseHttpDate(out[name]);
    if (ms === null) delete out[name];
    else out[name] = formatHttpDate(ms);
  }
  // Pragma: no-cache in a response without Cache-Control (a legacy reading the library applies).
  if (!targeted && headers['cache-control'] === undefined && /no-cache/i.test(headers.pragma ?? ''))
    out['cache-control'] = 'no-cache';
  return out;
}

function seconds(directives: Directives, name: string): number {
  return deltaSeconds(directives.get(name)) ?? 0;
}

/** May this response be stored, and if so, what are its freshness facts? */
export function assessResponse(ex: Exchange, rules: FreshnessRules = DEFAULT_RULES): Assessment {
  if (ex.method !== 'GET') return { store: false, reason: 'method' };
  const res = ex.responseHeaders;
  const reqcc = requestDirectives(ex.requestHeaders);
  const { directives, targeted } = responseDirectives(res);
  // must-understand (§5.2.2.3): a cache that understands the status ignores no-store; one that does not, stores nothing.
  if (directives.has('must-understand')) {
    if (!UNDERSTOOD.has(ex.status)) return { store: false, reason: 'status' };
    directives.delete('no-store');
  }
  if (directives.has('no-store')) return { store: false, reason: 'no-store' };
  if (reqcc.has('no-store')) return { store: false, reason: 'request-no-store' };
  if (directives.has('private')) return { store: false, reason: 'private' };
  if (res['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' };
  if ((res.vary ?? '').split(',').some((v) => v.trim() === '*'))
    return { store: false, reason: 'vary-star' };
  if (NEVER_STORED.has(ex.status)) return { store: false, reason: 'status' };

  const policy = new CachePolicy(
    {
      method: ex.method,
      url: ex.target,
      headers: {
        host: 'origin',
        ...(ex.requestHeaders.authorization !== undefined ? { authorization: 'present' } : {}),
      },
    },
    { status: ex.status, headers: libraryHeaders(res, directives, targeted) },
    { shared: true, cacheHeuristic: rules.heuristicFraction },
  );
  if (!policy.storable()) {
    if (ex.requestHeaders.authorization !== undefined)
      return { store: false, reason: 'authorization' };
    return { store: false, reason: 'not-cacheable' };
  }

  const explicit =
    directives.has('s-maxage') ||
    directives.has('max-age') ||
    (!targeted && res.expires !== undefined);
  let lifetime = policy.maxAge();
  if (!explicit) lifetime = Math.min(lifetime, rules.maxHeuristicSeconds);
  lifetime = Math.min(lifetime, DELTA_SECONDS_MAX);

  // RFC 9111 §4.2.3.
  const date = parseHttpDate(res.date);
  // Date has whole seconds: compared at that precision, a response from this second is 0 s old, not up to 0.999 s.
  const apparentAge =
    date === null ? 0 : Math.max(0, Math.floor(ex.responseTime / 1000) - date / 1000);
  const responseDelay = Math.max(0, ex.responseTime - ex.requestTime) / 1000;
  const initialAge = Math.max(apparentAge, ageValue(res) + responseDelay);

  return {
    store: true,
    freshness: {
      lifetime,
      initialAge: Math.min(initialAge, DELTA_SECONDS_MAX),
      responseTime: ex.responseTime,
      noCache: directives.has('no-cache'),
      mustRevalidate:
        directives.has('must-revalidate') ||
        directives.has('proxy-revalidate') ||
        directives.has('s-maxage'),
      staleWhileRevalidate: seconds(directives, 'stale-while-revalidate'),
      staleIfError: seconds(directives, 'stale-if-error'),
      heuristic: !explicit,
    },
  };
}

/** Current age in seconds (RFC 9111 §4.2.3: corrected initial age + resident time). */
export function currentAge(f: Freshness, now: number): number {
  return f.initialAge + Math.max(0, now - f.responseTime) / 1000;
}

/** Seconds of freshness left; negative once stale. */
export function freshnessLeft(f: Freshness, now: number): number {
  return f.lifetime - currentAge(f, now);
}

/**
 * How a stored response may answer a request:
 * - `fresh`: as is;
 * - `stale-allowed`: stale, but the request's `max-stale` accepts it;
 * - `stale-while-revalidate`: stale within its window; answer, then refresh;
 * - `revalidate`: only after the origin confirms it (or replaces it).
 */
export type Reuse = 'fresh' | 'stale-allowed' | 'stale-while-revalidate' | 'revalidate';

export interface Verdict {
  reuse: Reuse;
  /** Why revalidation is needed: the response's `no-cache`, the request's directives, or staleness. */
  because?: 'no-cache' | 'request' | 'stale';
}

export function evaluate(f: Freshness, requestHeaders: HeaderMap, now: number): Verdict {
  const reqcc = requestDirectives(requestHeaders);
  const age = currentAge(f, now);
  if (f.noCache) return { reuse: 'revalidate', because: 'no-cache' };
  if (reqcc.has('no-cache')) return { reuse: 'revalidate', because: 'request' };
  const maxAge = deltaSeconds(reqcc.get('max-age'));
  if (maxAge !== null && age > maxAge) return { reuse: 'revalidate', because: 'request' };
  const minFresh = deltaSeconds(reqcc.get('min-fresh'));
  if (minFresh !== null && f.lifetime - age < minFresh)
    return { reuse: 'revalidate', because: 'request' };
  if (f.lifetime > age) return { reuse: 'fresh' };
  if (f.mustRevalidate) return { reuse: 'revalidate', because: 'stale' };
  const staleness = age - f.lifetime;
  const maxStale = reqcc.get('max-stale');
  if (maxStale === true || (maxStale !== undefined && (deltaSeconds(maxStale) ?? -1) >= staleness))
    return { reuse: 'stale-allowed' };
  if (staleness < f.staleWhileRevalidate) return { reuse: 'stale-while-revalidate' };
  return { reuse: 'revalidate', because: 'stale' };
}

/**
 * True if a stale response may answer when the origin failed (RFC 5861 §4:
 * `stale-if-error` from the response or the request), unless the response
 * forbids serving it stale.
 */
export function staleOnErrorAllowed(f: Freshness, requestHeaders: HeaderMap, now: number): boolean {
  if (f.mustRevalidate || f.noCache) return false;
  const staleness = currentAge(f, now) - f.lifetime;
  if (staleness < 0) return true;
  const fromRequest = deltaSeconds(requestDirectives(requestHeaders).get('stale-if-error')) ?? 0;
  return staleness < Math.max(f.staleIfError, fromRequest);
}

/**
 * RFC 9111 rules of proxy mode (src/http/freshness.ts): what is stored, for
 * how long it is fresh, how old it is, and how a stored response may answer.
 */
import { describe, expect, it } from 'vitest';
import {
  assessResponse,
  currentAge,
  DEFAULT_RULES,
  type Exchange,
  evaluate,
  type Freshness,
  staleOnErrorAllowed,
} from '../../../src/http/freshness.ts';
import { formatHttpDate } from '../../../src/http/http-date.ts';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const DATE = formatHttpDate(NOW);

function exchange(over: Partial<Exchange> & { res?: Record<string, string> } = {}): Exchange {
  const { res, ...rest } = over;
  return {
    method: 'GET',
    target: '/a',
    requestHeaders: {},
    status: 200,
    responseHeaders: { date: DATE, ...res },
    requestTime: NOW,
    responseTime: NOW,
    ...rest,
  };
}

function stored(res: Record<string, string>, over: Partial<Exchange> = {}): Freshness {
  const a = assessResponse(exchange({ res, ...over }));
  if (!a.store) throw new Error(`not stored: ${a.reason}`);
  return a.freshness;
}

describe('assessResponse: what is never stored', () => {
  it.each<[string, Partial<Exchange> & { res?: Record<string, string> }, string]>([
    ['a HEAD', { method: 'HEAD', res: { 'cache-control': 'max-age=60' } }, 'method'],
    ['no-store', { res: { 'cache-control': 'max-age=60, no-store' } }, 'no-store'],
    [
      'a request no-store',
      { requestHeaders: { 'cache-control': 'no-store' }, res: { 'cache-control': 'max-age=60' } },
      'request-no-store',
    ],
    ['private', { res: { 'cache-control': 'max-age=60, private' } }, 'private'],
    [
      'private with field names',
      { res: { 'cache-control': 'private="set-cookie", max-age=60' } },
      'private',
    ],
    [
      'Set-Cookie, even public',
      { res: { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=1' } },
      'set-cookie',
    ],
    ['Vary: *', { res: { 'cache-control': 'max-age=60', vary: 'accept, *' } }, 'vary-star'],
    ['405 (request-shaped)', { status: 405, res: { 'cache-control': 'max-age=60' } }, 'status'],
    ['414', { status: 414, res: { 'cache-control': 'max-age=60' } }, 'status'],
    ['501', { status: 501, res: { 'cache-control': 'max-age=60' } }, 'status'],
    ['400 with max-age', { status: 400, res: { 'cache-control': 'max-age=60' } }, 'not-cacheable'],
    ['500 with max-age', { status: 500, res: { 'cache-control': 'max-age=60' } }, 'not-cacheable'],
    ['206', { status: 206, res: { 'cache-control': 'max-age=60' } }, 'not-cacheable'],
    ['a 302 without explicit freshness', { status: 302, res: {} }, 'not-cacheable'],
    [
      'Authorization without public/s-maxage/must-revalidate',
      { requestHeaders: { authorization: 'Bearer x' }, res: { 'cache-control': 'max-age=60' } },
      'authorization',
    ],
    [
      '599 with must-understand',
      { status: 599, res: { 'cache-control': 'max-age=60, no-store, must-understand' } },
      'status',
    ],
  ])('%s', (_name, over, reason) => {
    expect(assessResponse(exchange(over))).toEqual({ store: false, reason });
  });
});

describe('assessResponse: freshness lifetime', () => {
  it.each<[string, Record<string, string>, number]>([
    ['max-age', { 'cache-control': 'max-age=60' }, 60],
    ['s-maxage over max-age', { 'cache-control': 'max-age=60, s-maxage=300' }, 300],
    [
      'max-age over Expires',
      { 'cache-control': 'max-age=60', expires: formatHttpDate(NOW + 3600_000) },
      60,
    ],
    ['Expires minus Date', { expires: formatHttpDate(NOW + 600_000) }, 600],
    ['an invalid Expires is already expired', { expires: 'Thu, 01 Jan 2099 00:00:00 UTC' }, 0],
    ['Expires: 0', { expires: '0' }, 0],
    [
      'heuristic: 10% of Date − Last-Modified',
      { 'last-modified': formatHttpDate(NOW - 1000_000) },
      100,
    ],
    [
      'heuristic capped at a day',
      { 'last-modified': formatHttpDate(NOW - 365 * 86400_000) },
      86_400,
    ],
    ['an invalid max-age makes it stale', { 'cache-control': 'max-age=3600a' }, 0],
    ['max-age beyond 2^31 is 2^31', { 'cache-control': 'max-age=99999999999' }, 2147483648],
    [
      'proxy-revalidate keeps its lifetime (the library zeroes it)',
      { 'cache-control': 'max-age=60, proxy-revalidate' },
      60,
    ],
    [
      'CDN-Cache-Control over Cache-Control',
      { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=120' },
      120,
    ],
    [
      'Strata-Cache-Control over CDN-Cache-Control',
      { 'cdn-cache-control': 'max-age=120', 'strata-cache-control': 'max-age=7' },
      7,
    ],
    [
      'an invalid Strata-Cache-Control falls back to CDN-Cache-Control',
      { 'cdn-cache-control': 'max-age=120', 'strata-cache-control': 'max-age=x' },
      120,
    ],
    [
      'CDN-Cache-Control ignores Expires',
      { 'cdn-cache-control': 'stale-if-error=60', expires: formatHttpDate(NOW + 600_000) },
      0,
    ],
    [
      'an invalid CDN-Cache-Control falls back to Cache-Control',
      { 'cache-control': 'max-age=30', 'cdn-cache-control': 'max-age="10000"' },
      30,
    ],
    [
      'must-understand with an understood status ignores no-store',
      { 'cache-control': 'max-age=60, no-store, must-understand' },
      60,
    ],
  ])('%s', (_name, res, lifetime) => {
    expect(stored(res).lifetime).toBe(lifetime);
  });

  it('marks must-revalidate for must-revalidate, proxy-revalidate and s-maxage', () => {
    for (const cc of ['max-age=5, must-revalidate', 'max-age=5, proxy-revalidate', 's-maxage=5'])
      expect(stored({ 'cache-control': cc }).mustRevalidate).toBe(true);
    expect(stored({ 'cache-control': 'max-age=5' }).mustRevalidate).toBe(false);
  });

  it('stores a response to an authorized request when public, s-maxage or must-revalidate says so', () => {
    for (const cc of ['public, max-age=5', 's-maxage=5', 'max-age=5, must-revalidate'])
      expect(
        assessResponse(
          exchange({ requestHeaders: { authorization: 'x' }, res: { 'cache-control': cc } }),
        ).store,
      ).toBe(true);
  });
});

describe('age (RFC 9111 §4.2.3)', () => {
  it('is the Age field plus the response delay, plus resident time', () => {
    const f = stored({ 'cache-control': 'max-age=600', age: '100' }, { requestTime: NOW - 2000 });
    expect(f.initialAge).toBe(102);
    expect(currentAge(f, NOW + 10_000)).toBe(112);
  });

  it('counts the apparent age from Date when larger', () => {
    const f = stored({ 'cache-control': 'max-age=600', date: formatHttpDate(NOW - 50_000) });
    expect(f.initialAge).toBe(50);
  });

  it('compares Date at its own precision: the same second is no age', () => {
    const f = stored(
      { 'cache-control': 'max-age=1' },
      { requestTime: NOW + 900, responseTime: NOW + 900 },
    );
    expect(f.initialAge).toBe(0);
  });

  it.each(['abc', '-7200', '7200.0'])('ignores an invalid Age %j', (age) => {
    expect(stored({ 'cache-control': 'max-age=600', age }).initialAge).toBe(0);
  });

  it('uses the first member of a list', () => {
    expect(stored({ 'cache-control': 'max-age=600', age: '7200, 0' }).initialAge).toBe(7200);
    expect(stored({ 'cache-control': 'max-age=600', age: '0, 7200' }).initialAge).toBe(0);
  });
});

describe('evaluate', () => {
  const base = stored({
    'cache-control': 'max-age=60, stale-while-revalidate=30, stale-if-error=300',
  });
  const at = (s: number) => NOW + s * 1000;

  it.each<[string, Record<string, string>, number, string, string?]>([
    ['fresh', {}, 10, 'fresh'],
    ['stale within stale-while-revalidate', {}, 70, 'stale-while-revalidate'],
    ['stale past it', {}, 95, 'revalidate', 'stale'],
    ['request no-cache', { 'cache-control': 'no-cache' }, 10, 'revalidate', 'request'],
    ['Pragma: no-cache without Cache-Control', { pragma: 'no-cache' }, 10, 'revalidate', 'request'],
    [
      'request max-age below the age',
      { 'cache-control': 'max-age=5' },
      10,
      'revalidate',
      'request',
    ],
    [
      'request min-fresh above what is left',
      { 'cache-control': 'min-fresh=55' },
      10,
      'revalidate',
      'request',
    ],
    ['request max-stale', { 'cache-control': 'max-stale' }, 500, 'stale-allowed'],
    ['request max-stale too small', { 'cache-control': 'max-stale=5' }, 95, 'revalidate', 'stale'],
  ])('%s', (_name, req, seconds, reuse, because) => {
    const verdict = evaluate(base, req, at(seconds));
    expect(verdict.reuse).toBe(reuse);
    if (because) expect(verdict.because).toBe(because);
  });

  it('never serves a must-revalidate response stale, but serves it fresh', () => {
    const f = stored({ 'cache-control': 'max-age=60, must-revalidate, stale-while-revalidate=30' });
    expect(evaluate(f, {}, at(10)).reuse).toBe('fresh');
    expect(evaluate(f, { 'cache-control': 'max-stale' }, at(70)).reuse).toBe('revalidate');
    expect(staleOnErrorAllowed(f, {}, at(70))).toBe(false);
  });

  it('revalidates a no-cache response every time', () => {
    expect(evaluate(stored({ 'cache-control': 'no-cache, max-age=60' }), {}, at(1)).reuse).toBe(
      'revalidate',
    );
  });

  it('allows stale-if-error within the response window, or the request one', () => {
    expect(staleOnErrorAllowed(base, {}, at(300))).toBe(true);
    expect(staleOnErrorAllowed(base, {}, at(400))).toBe(false);
    expect(staleOnErrorAllowed(base, { 'cache-control': 'stale-if-error=600' }, at(400))).toBe(
      true,
    );
  });

  it('uses the default rules when none are given', () => {
    expect(DEFAULT_RULES).toEqual({ heuristicFraction: 0.1, maxHeuristicSeconds: 86_400 });
  });
});

/**
 * Proxy mode's parsers: Cache-Control (strict), CDN-Cache-Control
 * (Structured Fields), HTTP-date (three formats, nothing else), request
 * targets, hop-by-hop and unkeyed fields, response tags.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shardFor } from '../../../src/hashing.ts';
import {
  DELTA_SECONDS_MAX,
  deltaSeconds,
  parseCacheControl,
  parseTargetedCacheControl,
} from '../../../src/http/cache-control.ts';
import { normaliseTarget, responseKey, variantKey } from '../../../src/http/cache-key.ts';
import {
  forwardableRequestHeaders,
  headerMap,
  toHeaders,
  withoutHopByHop,
} from '../../../src/http/headers.ts';
import { formatHttpDate, parseHttpDate } from '../../../src/http/http-date.ts';
import { tagsOf, withoutTagFields } from '../../../src/proxy/tags.ts';

describe('parseCacheControl', () => {
  it.each<[string, Record<string, string | true>]>([
    ['max-age=60, public', { 'max-age': '60', public: true }],
    ['MAX-AGE=60', { 'max-age': '60' }],
    ['max-age="60"', { 'max-age': '60' }],
    ['max-age=1800, max-age=1', { 'max-age': '1800' }],
    ['extension="max-age=3600", max-age=1', { extension: 'max-age=3600', 'max-age': '1' }],
    ['private="set-cookie, x-a", max-age=5', { private: 'set-cookie, x-a', 'max-age': '5' }],
    ['max-age =3600', {}],
    ['max-age= 3600', {}],
    // A token, so a directive, but not delta-seconds (deltaSeconds refuses it below).
    ["max-age='3600'", { 'max-age': "'3600'" }],
    ['max-age="3600', {}],
    [',, no-cache ,', { 'no-cache': true }],
  ])('%s', (header, expected) => {
    expect(Object.fromEntries(parseCacheControl(header))).toEqual(expected);
  });

  it('never throws and is linear on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => {
        parseCacheControl(header);
      }),
    );
  });
});

describe('deltaSeconds', () => {
  it.each<[string | true | undefined, number | null]>([
    ['0', 0],
    ['003600', 3600],
    ['2147483647', 2147483647],
    ['2147483648', DELTA_SECONDS_MAX],
    ['99999999999999999999', DELTA_SECONDS_MAX],
    ['3600.0', null],
    ['-1', null],
    ['a3600', null],
    ["'3600'", null],
    ['', null],
    [true, null],
    [undefined, null],
  ])('%s → %s', (raw, n) => {
    expect(deltaSeconds(raw)).toBe(n);
  });
});

describe('parseTargetedCacheControl (RFC 9213)', () => {
  it('reads a valid dictionary in Cache-Control form', () => {
    expect(
      Object.fromEntries(parseTargetedCacheControl('max-age=3600, must-revalidate') ?? []),
    ).toEqual({
      'max-age': '3600',
      'must-revalidate': true,
    });
    expect(
      Object.fromEntries(parseTargetedCacheControl('no-store=?1, private=?0;a=1') ?? []),
    ).toEqual({
      'no-store': true,
    });
  });

  it.each([
    'max-age =100',
    'max-age= 100',
    'MAX-AGE=100',
    'max-age="10000"',
    'max-age=1.5',
    'max-age=10, ,',
    '',
  ])('ignores %j as a whole (invalid Structured Field)', (header) => {
    expect(parseTargetedCacheControl(header)).toBeNull();
  });

  it('is absent when the field is', () => {
    expect(parseTargetedCacheControl(undefined)).toBeNull();
  });
});

describe('parseHttpDate', () => {
  const at = Date.UTC(1994, 10, 6, 8, 49, 37);
  it.each([
    'Sun, 06 Nov 1994 08:49:37 GMT',
    'SUN, 06 NOV 1994 08:49:37 gmt',
    'Sunday, 06-Nov-94 08:49:37 GMT',
    'Sun Nov  6 08:49:37 1994',
  ])('reads %s', (text) => {
    expect(parseHttpDate(text, Date.UTC(2026, 0, 1))).toBe(at);
  });

  it.each([
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 06 Nov 1994 08:49:37 AEST',
    'Sun, 06 Nov 94 08:49:37 GMT',
    'Sun 06 Nov 1994 08:49:37 GMT',
    'Sun, 06  Nov  1994 08:49:37 GMT',
    'Sun, 06-Nov-1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 08.49.37 GMT',
    'Sun, 06 Nov 1994 8:49:37 GMT',
    'Mon, 31 Feb 2050 00:00:00 GMT',
    'Thu, 18 Aug 2050 02:01:18 GMT, Thu, 18 Aug 2050 02:01:19 GMT',
    '0',
    '',
  ])('refuses %j', (text) => {
    expect(parseHttpDate(text)).toBeNull();
  });

  it('places two-digit years within 50 years of now (RFC 9110 §5.6.7)', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(
      new Date(parseHttpDate('Thursday, 18-Aug-50 02:01:18 GMT', now) ?? 0).getUTCFullYear(),
    ).toBe(2050);
    expect(
      new Date(parseHttpDate('Friday, 18-Aug-80 02:01:18 GMT', now) ?? 0).getUTCFullYear(),
    ).toBe(1980);
  });

  it('reads back every date it formats', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799 }), (s) => {
        expect(parseHttpDate(formatHttpDate(s * 1000))).toBe(s * 1000);
      }),
    );
  });
});

describe('normaliseTarget', () => {
  it.each([
    ['https://o/x/../a/./b', '/a/b'],
    ['https://o/%7euser/%7E', '/~user/~'],
    ['https://o/a%2fb', '/a%2Fb'],
    ['https://o/a%2Fb?q=%4a%4A', '/a%2Fb?q=JJ'],
    ['https://o/a b', '/a%20b'],
    ['https://o/p?b=2&a=1#frag', '/p?b=2&a=1'],
    ['https://o/a\\b', '/a/b'],
  ])('%s → %s', (url, target) => {
    expect(normaliseTarget(new URL(url))).toBe(target);
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.webPath(), fc.option(fc.webQueryParameters()), (path, q) => {
        const once = normaliseTarget(new URL(`https://o${path}${q ? `?${q}` : ''}`));
        expect(normaliseTarget(new URL(`https://o${once}`))).toBe(once);
      }),
    );
  });
});

describe('proxy keys', () => {
  it('keep a URL and its variants apart from other URLs, and on one shard', () => {
    const r = responseKey('/a?x=1');
    const v = variantKey('/a?x=1', 'deadbeef00000000');
    expect(r).toBe('/a?x=1');
    expect(v).toBe('/a?x=1\ndeadbeef00000000');
    expect(v.startsWith(`${r}\n`)).toBe(true);
    expect(responseKey('/ab').startsWith(`${r}\n`)).toBe(false);
    for (const shards of [1, 4, 8, 64])
      expect(shardFor('proxy', v, shards)).toBe(shardFor('proxy', r, shards));
  });
});

describe('header fields', () => {
  it('drops hop-by-hop fields and those Connection names', () => {
    expect(
      withoutHopByHop({
        connection: 'x-a, Keep-Alive',
        'x-a': '1',
        'keep-alive': 't',
        te: 'trailers',
        accept: '*/*',
      }),
    ).toEqual({ accept: '*/*' });
  });

  it('never forwards unkeyed routing and override fields, or cf-*', () => {
    const out = forwardableRequestHeaders(
      {
        host: 'attacker',
        'x-forwarded-host': 'evil.example',
        'x-original-url': '/admin',
        'x-http-method-override': 'DELETE',
        forwarded: 'for=1.2.3.4',
        'cf-connecting-ip': '1.2.3.4',
        'accept-language': 'fr',
        'if-none-match': '"a"',
      },
      ['if-none-match'],
    );
    expect(out).toEqual({ 'accept-language': 'fr' });
  });

  it('keeps every Set-Cookie line through a HeaderMap', () => {
    const h = new Headers();
    h.append('set-cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
    h.append('set-cookie', 'b=2');
    h.set('x-a', '1');
    expect(toHeaders(headerMap(h)).getSetCookie()).toEqual([
      'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
      'b=2',
    ]);
  });
});

describe('tagsOf', () => {
  it('reads Cache-Tag (commas) and Surrogate-Key (spaces), skipping what the key API would refuse', () => {
    expect(
      tagsOf({ 'cache-tag': 'a, b ,,bad tag', 'surrogate-key': `b  c d\u00e9 ${'x'.repeat(129)}` }),
    ).toEqual(['a', 'b', 'c']);
  });

  it('keeps at most 32', () => {
    const many = Array.from({ length: 50 }, (_, i) => `t${i}`).join(',');
    expect(tagsOf({ 'cache-tag': many })).toHaveLength(32);
  });

  it('removes the fields from what clients see', () => {
    expect(withoutTagFields({ 'cache-tag': 'a', 'surrogate-key': 'b', etag: '"x"' })).toEqual({
      etag: '"x"',
    });
  });
});

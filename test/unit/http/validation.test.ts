/**
 * Vary selection, validation (conditional requests, 304 merging), byte
 * ranges of stored responses, the stored-response codec and the client
 * response proxy mode builds (with its Cache-Status).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProxyAnswer } from '../../../durable-objects/shard-proxy.ts';
import { formatCacheStatus } from '../../../src/cache-status.ts';
import {
  hasValidator,
  mergeNotModified,
  notModified,
  notModifiedHeaders,
  revalidationHeaders,
  selectsStored,
} from '../../../src/http/conditional.ts';
import type { Freshness } from '../../../src/http/freshness.ts';
import { selectRange } from '../../../src/http/range.ts';
import { selectingValues, variantId, varyMatches, varyNames } from '../../../src/http/vary.ts';
import { answerStatus, respondWith } from '../../../src/proxy/respond.ts';
import {
  decodeStored,
  encodeStored,
  type StoredResponse,
} from '../../../src/proxy/stored-response.ts';

const NOW = 1_800_000_000_000;
const fresh: Freshness = {
  lifetime: 60,
  initialAge: 0,
  responseTime: NOW - 10_000,
  noCache: false,
  mustRevalidate: false,
  staleWhileRevalidate: 0,
  staleIfError: 0,
  heuristic: false,
};

function response(over: Partial<StoredResponse> = {}): StoredResponse {
  return {
    kind: 'response',
    status: 200,
    headers: { etag: '"v1"', 'content-type': 'text/plain', 'cache-tag': 'a,b' },
    freshness: fresh,
    vary: null,
    body: new TextEncoder().encode('0123456789'),
    ...over,
  };
}

describe('Vary', () => {
  it('names fields lower-cased, sorted, once; * alone', () => {
    expect(varyNames({ vary: 'Accept-Language, accept-encoding,ACCEPT-LANGUAGE' })).toEqual([
      'accept-encoding',
      'accept-language',
    ]);
    expect(varyNames({ vary: 'accept, *' })).toEqual(['*']);
    expect(varyNames({})).toEqual([]);
  });

  it('normalises list spacing, and tells absent from empty', () => {
    const names = ['accept-encoding', 'x-a'];
    expect(selectingValues(names, { 'accept-encoding': 'gzip,br' })).toEqual(['gzip, br', null]);
    expect(varyMatches(names, ['gzip, br', null], { 'accept-encoding': 'gzip ,  br' })).toBe(true);
    expect(
      varyMatches(names, ['gzip, br', null], { 'accept-encoding': 'gzip, br', 'x-a': '' }),
    ).toBe(false);
    expect(varyMatches(['*'], [null], {})).toBe(false);
  });

  it('gives one id per selection: equal values, equal ids', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ maxLength: 8 })), { minLength: 2, maxLength: 2 }),
        (values) => {
          const names = ['a', 'b'];
          expect(variantId(names, values)).toBe(variantId(names, [...values]));
          expect(variantId(names, values)).toMatch(/^[0-9a-f]{16}$/);
        },
      ),
    );
    expect(variantId(['a'], ['x'])).not.toBe(variantId(['a'], [null]));
    expect(variantId(['a'], [''])).not.toBe(variantId(['a'], [null]));
  });
});

describe('validation', () => {
  it('revalidates with the stored validators', () => {
    expect(revalidationHeaders({ etag: '"v1"', 'last-modified': 'x' })).toEqual({
      'if-none-match': '"v1"',
      'if-modified-since': 'x',
    });
    expect(hasValidator({})).toBe(false);
  });

  it.each<[string, Record<string, string>, Record<string, string>, string, boolean]>([
    [
      'a matching If-None-Match (weak comparison)',
      { 'if-none-match': 'W/"v1"' },
      { etag: '"v1"' },
      'GET',
      true,
    ],
    ['one of several', { 'if-none-match': '"x", "v1"' }, { etag: 'W/"v1"' }, 'HEAD', true],
    ['*', { 'if-none-match': '*' }, { etag: '"v1"' }, 'GET', true],
    ['no match', { 'if-none-match': '"v2"' }, { etag: '"v1"' }, 'GET', false],
    [
      'If-None-Match over If-Modified-Since',
      { 'if-none-match': '"v2"', 'if-modified-since': 'Sun, 06 Nov 2095 08:49:37 GMT' },
      { etag: '"v1"', 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      'GET',
      false,
    ],
    [
      'If-Modified-Since at Last-Modified',
      { 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      { 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      'GET',
      true,
    ],
    [
      'If-Modified-Since before it',
      { 'if-modified-since': 'Sat, 05 Nov 1994 08:49:37 GMT' },
      { 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      'GET',
      false,
    ],
    [
      'Date stands in for Last-Modified',
      { 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      { date: 'Sun, 06 Nov 1994 08:00:00 GMT' },
      'GET',
      true,
    ],
    [
      'an invalid date is ignored',
      { 'if-modified-since': 'yesterday' },
      { date: 'Sun, 06 Nov 1994 08:00:00 GMT' },
      'GET',
      false,
    ],
    ['never for POST', { 'if-none-match': '*' }, { etag: '"v1"' }, 'POST', false],
  ])('304 for %s: %s', (_name, req, stored, method, expected) => {
    expect(notModified(req, stored, method)).toBe(expected);
  });

  it('lets a 304 select the stored response by its validator (RFC 9111 §4.3.4)', () => {
    expect(selectsStored({ etag: '"v1"' }, { etag: 'W/"v1"' })).toBe(true);
    expect(selectsStored({ etag: '"v1"' }, { etag: '"v2"' })).toBe(false);
    expect(selectsStored({ 'last-modified': 'a' }, { 'last-modified': 'b' })).toBe(false);
    expect(selectsStored({ etag: '"v1"' }, {})).toBe(true);
  });

  it('merges a 304 into the stored fields, keeping the ones that describe the body (RFC 9111 §3.2)', () => {
    const merged = mergeNotModified(
      {
        'content-length': '10',
        'content-encoding': 'gzip',
        'cache-control': 'max-age=1',
        'x-a': 'old',
      },
      {
        'content-length': '0',
        'content-encoding': 'br',
        'cache-control': 'max-age=60',
        'x-a': 'new',
        'x-b': 'added',
        'content-type': 'text/html',
      },
    );
    expect(merged).toEqual({
      'content-length': '10',
      'content-encoding': 'gzip',
      'cache-control': 'max-age=60',
      'x-a': 'new',
      'x-b': 'added',
      'content-type': 'text/html',
    });
  });

  it('sends a 304 only the fields RFC 9110 §15.4.5 names', () => {
    expect(
      notModifiedHeaders({
        etag: '"a"',
        'content-type': 'x',
        'cache-control': 'max-age=1',
        vary: 'a',
      }),
    ).toEqual({
      etag: '"a"',
      'cache-control': 'max-age=1',
      vary: 'a',
    });
  });
});

describe('selectRange', () => {
  it.each<[string, string | undefined, ReturnType<typeof selectRange>]>([
    ['bytes=0-1', undefined, { kind: 'partial', start: 0, end: 1 }],
    ['bytes=5-', undefined, { kind: 'partial', start: 5, end: 9 }],
    ['bytes=-3', undefined, { kind: 'partial', start: 7, end: 9 }],
    ['bytes=-30', undefined, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=8-100', undefined, { kind: 'partial', start: 8, end: 9 }],
    ['bytes=10-', undefined, { kind: 'unsatisfiable' }],
    ['bytes=-0', undefined, { kind: 'unsatisfiable' }],
    ['bytes=0-1,3-4', undefined, { kind: 'full' }],
    ['items=0-1', undefined, { kind: 'full' }],
    ['bytes=3-1', undefined, { kind: 'full' }],
    ['bytes=0-1', '"v1"', { kind: 'partial', start: 0, end: 1 }],
    ['bytes=0-1', '"v2"', { kind: 'full' }],
    ['bytes=0-1', 'W/"v1"', { kind: 'full' }],
  ])('%s (If-Range %s)', (range, ifRange, choice) => {
    expect(selectRange(range, ifRange, { etag: '"v1"' }, 10)).toEqual(choice);
  });
});

describe('stored responses', () => {
  it('round-trip, body and head', () => {
    const r = response({ vary: { names: ['accept'], values: [null] } });
    expect(decodeStored(encodeStored(r))).toEqual(r);
    expect(decodeStored(encodeStored({ kind: 'vary', names: ['accept'] }))).toEqual({
      kind: 'vary',
      names: ['accept'],
    });
  });

  it('are a miss when the bytes are not one', () => {
    expect(decodeStored(new TextEncoder().encode('hello, world'))).toBeNull();
    const bytes = encodeStored(response());
    expect(decodeStored(bytes.subarray(0, 10))).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        decodeStored(b);
      }),
    );
  });
});

describe('respondWith', () => {
  const status = { cache: 'strata', hit: true, ttl: 50, detail: 'l2' };
  const body = async (r: Response) => new Uint8Array(await r.arrayBuffer());

  it('serves the stored response with Age and Cache-Status, tag fields removed', async () => {
    const res = respondWith(response(), { method: 'GET', headers: {} }, status, false, NOW);
    expect(res.status).toBe(200);
    expect(res.headers.get('age')).toBe('10');
    expect(res.headers.get('cache-status')).toBe('strata; hit; ttl=50; detail=l2');
    expect(res.headers.get('cache-tag')).toBeNull();
    expect(res.headers.get('content-length')).toBe('10');
    expect(new TextDecoder().decode(await body(res))).toBe('0123456789');
    expect(
      respondWith(response(), { method: 'GET', headers: {} }, status, true, NOW).headers.get(
        'cache-tag',
      ),
    ).toBe('a,b');
  });

  it('answers a matching client conditional with a 304', () => {
    const res = respondWith(
      response(),
      { method: 'GET', headers: { 'if-none-match': '"v1"' } },
      status,
      false,
      NOW,
    );
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe('"v1"');
    expect(res.headers.get('content-type')).toBeNull();
  });

  it('sends no body for HEAD, and cuts ranges', async () => {
    const head = respondWith(response(), { method: 'HEAD', headers: {} }, status, false, NOW);
    expect((await body(head)).byteLength).toBe(0);
    const part = respondWith(
      response(),
      { method: 'GET', headers: { range: 'bytes=2-4' } },
      status,
      false,
      NOW,
    );
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(new TextDecoder().decode(await body(part))).toBe('234');
    const past = respondWith(
      response(),
      { method: 'GET', headers: { range: 'bytes=50-' } },
      status,
      false,
      NOW,
    );
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */10');
  });
});

describe('answerStatus', () => {
  const answer = (over: Partial<ProxyAnswer>): ProxyAnswer => ({
    outcome: 'fetched',
    lookup: 'miss',
    tier: null,
    response: response(),
    entries: [],
    stored: true,
    collapsed: false,
    fwdStatus: 200,
    ...over,
  });
  it.each<[string, Partial<ProxyAnswer>, string]>([
    ['a hit', { outcome: 'hit', tier: 'L2', lookup: 'found' }, 'strata; hit; ttl=50; detail=l2'],
    [
      'a miss, stored, collapsed',
      { collapsed: true },
      'strata; fwd=uri-miss; fwd-status=200; ttl=50; stored; collapsed',
    ],
    [
      'a vary miss not stored',
      { lookup: 'vary-miss', stored: false, notStored: 'set-cookie' },
      'strata; fwd=vary-miss; fwd-status=200; detail=set-cookie',
    ],
    [
      'a revalidation',
      { outcome: 'revalidated', lookup: 'found', fwdStatus: 304 },
      'strata; fwd=stale; fwd-status=304; ttl=50; stored',
    ],
    [
      'a request no-cache',
      { lookup: 'found', because: 'request' },
      'strata; fwd=request; fwd-status=200; ttl=50; stored',
    ],
    [
      'stale-while-revalidate',
      { outcome: 'stale-while-revalidate', tier: 'L3', lookup: 'found' },
      'strata; hit; ttl=50; detail="l3 stale-while-revalidate"',
    ],
    [
      'stale-if-error',
      { outcome: 'stale-if-error', lookup: 'found', fwdStatus: 503 },
      'strata; fwd=stale; fwd-status=503; ttl=50; detail=stale-if-error',
    ],
    [
      'an origin timeout',
      { outcome: 'error', response: null, failure: 'timeout' },
      'strata; fwd=uri-miss; detail=origin-timeout',
    ],
  ])('%s', (_name, over, expected) => {
    expect(formatCacheStatus([answerStatus(answer(over), NOW)])).toBe(expected);
  });
});

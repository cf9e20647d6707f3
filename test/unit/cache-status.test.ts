/**
 * `Cache-Status` (src/cache-status.ts). Besides exact strings, every output is
 * parsed back with a small RFC 8941 List parser, so a change that breaks the
 * Structured Field syntax RFC 9211 requires fails here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CacheStatusMember,
  cacheName,
  formatCacheStatus,
  type TierName,
} from '../../src/cache-status.ts';

type BareItem = string | number | boolean | { token: string };
interface ParsedMember {
  item: BareItem;
  params: Record<string, BareItem>;
}

/**
 * Parses an RFC 8941 sf-list of items (no inner lists, decimals or byte
 * sequences, which Cache-Status does not use); throws on anything invalid.
 * Follows the parsing algorithm of RFC 8941 §4.2.1.
 */
function parseSfList(input: string): ParsedMember[] {
  let s = input.replace(/^ +| +$/g, '');
  const out: ParsedMember[] = [];
  const fail = (why: string): never => {
    throw new SyntaxError(`${why} at ${JSON.stringify(s)} in ${JSON.stringify(input)}`);
  };
  /** Consumes `re` (anchored) from the front of the input; the match or null. */
  const eat = (re: RegExp): RegExpExecArray | null => {
    const m = re.exec(s);
    if (m) s = s.slice(m[0].length);
    return m;
  };
  const bareItem = (): BareItem => {
    const integer = eat(/^-?\d{1,15}(?![\d.])/);
    if (integer) return Number(integer[0]);
    const string = eat(/^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"/);
    if (string) return (string[1] as string).replace(/\\(["\\])/g, '$1');
    const token = eat(/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/);
    if (token) return { token: token[0] };
    const boolean = eat(/^\?[01]/);
    if (boolean) return boolean[0] === '?1';
    return fail('bad bare item');
  };
  if (s === '') return out;
  for (;;) {
    const item = bareItem();
    const params: Record<string, BareItem> = {};
    while (s.startsWith(';')) {
      s = s.slice(1).replace(/^ +/, '');
      const key = eat(/^[a-z*][a-z0-9_\-.*]*/)?.[0] ?? fail('bad key');
      if (s.startsWith('=')) {
        s = s.slice(1);
        params[key] = bareItem();
      } else {
        params[key] = true;
      }
    }
    out.push({ item, params });
    s = s.replace(/^[ \t]+/, '');
    if (s === '') return out;
    if (!s.startsWith(',')) fail('expected ","');
    s = s.slice(1).replace(/^[ \t]+/, '');
    if (s === '') fail('trailing comma');
  }
}

describe('cacheName', () => {
  it.each([
    ['L1', 'strata-l1'],
    ['L2', 'strata-l2'],
    ['L3', 'strata-l3'],
  ] as [TierName, string][])('%s → %s', (tier, name) => {
    expect(cacheName(tier)).toBe(name);
    expect(parseSfList(name)).toEqual([{ item: { token: name }, params: {} }]);
  });
});

describe('formatCacheStatus', () => {
  it.each([
    ['no members', [], ''],
    [
      'the documented example',
      [
        { cache: 'strata-l2', hit: true, ttl: 59 },
        { cache: 'strata-l1', fwd: 'miss', stored: true },
      ],
      'strata-l2; hit; ttl=59, strata-l1; fwd=miss; stored',
    ],
    ['a bare cache name', [{ cache: 'strata-l1' }], 'strata-l1'],
    [
      'false flags are omitted',
      [{ cache: 'strata-l1', hit: false, stored: false, collapsed: false }],
      'strata-l1',
    ],
    ['ttl 0 is kept', [{ cache: 'strata-l1', hit: true, ttl: 0 }], 'strata-l1; hit; ttl=0'],
    [
      'fractional ttl is floored',
      [{ cache: 'strata-l1', hit: true, ttl: 59.9 }],
      'strata-l1; hit; ttl=59',
    ],
    [
      'negative ttl (stale) is allowed',
      [{ cache: 'strata-l3', fwd: 'stale', ttl: -5 }],
      'strata-l3; fwd=stale; ttl=-5',
    ],
    ['negative fraction floors down', [{ cache: 'strata-l3', ttl: -0.5 }], 'strata-l3; ttl=-1'],
    [
      'collapsed',
      [{ cache: 'strata-l2', fwd: 'miss', collapsed: true }],
      'strata-l2; fwd=miss; collapsed',
    ],
    [
      'detail token',
      [{ cache: 'strata-l3', fwd: 'miss', detail: 'unavailable' }],
      'strata-l3; fwd=miss; detail=unavailable',
    ],
    [
      'every parameter, fixed order',
      [
        {
          cache: 'strata-l2',
          hit: true,
          fwd: 'stale',
          ttl: 3,
          stored: true,
          collapsed: true,
          detail: 'timeout',
        },
      ],
      'strata-l2; hit; fwd=stale; ttl=3; stored; collapsed; detail=timeout',
    ],
    [
      'three tiers, nearest the source first',
      [
        { cache: 'strata-l3', hit: true, ttl: 100 },
        { cache: 'strata-l2', fwd: 'miss', stored: true },
        { cache: 'strata-l1', fwd: 'miss', stored: true },
      ],
      'strata-l3; hit; ttl=100, strata-l2; fwd=miss; stored, strata-l1; fwd=miss; stored',
    ],
  ] as [string, CacheStatusMember[], string][])('%s', (_name, members, expected) => {
    const header = formatCacheStatus(members);
    expect(header).toBe(expected);
    expect(() => parseSfList(header)).not.toThrow();
  });

  const fwdArb = fc.constantFrom<NonNullable<CacheStatusMember['fwd']>>(
    'bypass',
    'method',
    'uri-miss',
    'vary-miss',
    'miss',
    'request',
    'stale',
    'partial',
  );
  const memberArb: fc.Arbitrary<CacheStatusMember> = fc.record(
    {
      cache: fc.constantFrom<TierName>('L1', 'L2', 'L3').map(cacheName),
      hit: fc.boolean(),
      fwd: fwdArb,
      ttl: fc.oneof(
        fc.integer({ min: -86_400, max: 2_592_000 }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      ),
      stored: fc.boolean(),
      collapsed: fc.boolean(),
      // RFC 9211 §2.8: detail is a Token (or String); Strata documents a token.
      detail: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
    },
    { requiredKeys: ['cache'] },
  );

  it('always emits a valid RFC 8941 List that parses back to the same members', () => {
    fc.assert(
      fc.property(fc.array(memberArb, { maxLength: 4 }), (members) => {
        const parsed = parseSfList(formatCacheStatus(members));
        expect(parsed).toEqual(
          members.map((m) => {
            const params: Record<string, BareItem> = {};
            if (m.hit) params.hit = true;
            if (m.fwd) params.fwd = { token: m.fwd };
            if (m.ttl !== undefined) params.ttl = Math.floor(m.ttl) + 0; // + 0 turns -0 into 0, as the text does
            if (m.stored) params.stored = true;
            if (m.collapsed) params.collapsed = true;
            if (m.detail) params.detail = { token: m.detail };
            return { item: { token: m.cache }, params };
          }),
        );
      }),
    );
  });
});

describe('the RFC 8941 parser used above', () => {
  // The parser is only as good as its ability to reject; check it does.
  it.each([
    'strata-l1;',
    'strata-l1; Hit',
    'strata-l1; ttl=1.5.5',
    'strata-l1,',
    '1abc',
    'a; detail=tier down',
    'a;; hit',
  ])('rejects %j', (text) => {
    expect(() => parseSfList(text)).toThrow(SyntaxError);
  });
});

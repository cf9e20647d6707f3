/**
 * Request validation (src/validation.ts): every function returns a clean
 * value or throws a StrataError whose code maps to a 400.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, StrataError } from '../../src/errors.ts';
import { LIMITS } from '../../src/limits.ts';
import {
  parseCacheTags,
  parseContentType,
  parseKey,
  parseNamespace,
  parseWriteCacheControl,
} from '../../src/validation.ts';

/** Runs `fn`, expecting a StrataError with `code` and HTTP status 400; returns it. */
function expectStrataError(fn: () => unknown, code: ErrorCode): StrataError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(StrataError);
  const err = thrown as StrataError;
  expect(err.code).toBe(code);
  expect(err.status).toBe(400);
  return err;
}

/** UTF-8 length counted from code points, independently of TextEncoder. */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/** True if `s` contains a control character (Unicode Cc: C0, DEL or C1). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** True if `s` has no unpaired UTF-16 surrogate, checked code unit by code unit. */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

describe('parseNamespace', () => {
  it.each([
    'a',
    '0',
    'users',
    'team-a_cache-2',
    'a-',
    'a_',
    '9lives',
    'a'.repeat(64),
    `z${'-'.repeat(63)}`,
  ])('accepts %j', (ns) => {
    expect(parseNamespace(ns)).toBe(ns);
  });

  it.each([
    '',
    'a'.repeat(65),
    '-a',
    '_a',
    'A',
    'Users',
    'a.b',
    'a b',
    'a/b',
    'a:b',
    'a\n',
    '\na',
    'a\u0000',
    'ä',
    'a\u200b',
  ])('rejects %j with invalid-namespace', (ns) => {
    const err = expectStrataError(() => parseNamespace(ns), 'invalid-namespace');
    expect(err.extensions.namespace).toBe(ns.slice(0, 100));
  });

  it('echoes at most 100 characters of a rejected namespace', () => {
    const err = expectStrataError(() => parseNamespace('X'.repeat(5000)), 'invalid-namespace');
    expect(err.extensions.namespace).toBe('X'.repeat(100));
  });

  it('exhaustively: one ASCII char is accepted iff [a-z0-9]; a second iff [a-z0-9_-]', () => {
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      const first = /[a-z0-9]/.test(ch);
      const rest = first || ch === '-' || ch === '_';
      if (first) expect(parseNamespace(ch)).toBe(ch);
      else expect(() => parseNamespace(ch), `first char ${c}`).toThrow(StrataError);
      if (rest) expect(parseNamespace(`a${ch}`)).toBe(`a${ch}`);
      else expect(() => parseNamespace(`a${ch}`), `second char ${c}`).toThrow(StrataError);
    }
  });
});

describe('parseKey', () => {
  const euro = '\u20ac'; // 3 bytes of UTF-8
  const smile = '\u{1f600}'; // 4 bytes, 2 UTF-16 code units
  it.each([
    ['one ASCII char', 'a'],
    ['a space', ' '],
    ['512 ASCII bytes', 'k'.repeat(512)],
    ['256 two-byte chars = 512 bytes', '\u00e9'.repeat(256)],
    ['170 euro signs + 2 = 512 bytes', `${euro.repeat(170)}ab`],
    ['128 emoji = 512 bytes (256 UTF-16 units)', smile.repeat(128)],
    ['a proper surrogate pair', '\ud83d\ude00'],
    ['path-like', 'users/42/avatar.png?size=large#x'],
    ['DEL-adjacent printable', '~'],
  ])('accepts %s', (_name, key) => {
    expect(parseKey(key)).toBe(key);
  });

  it.each([
    ['empty', ''],
    ['513 ASCII bytes', 'k'.repeat(513)],
    ['256 two-byte chars + 1 = 513 bytes', `${'\u00e9'.repeat(256)}a`],
    ['171 euro signs = 513 bytes (171 UTF-16 units)', euro.repeat(171)],
    ['128 emoji + 1 = 513 bytes', `${smile.repeat(128)}a`],
    ['129 emoji = 516 bytes', smile.repeat(129)],
    ['NUL', 'a\u0000b'],
    ['tab', 'a\tb'],
    ['newline', 'a\nb'],
    ['carriage return', 'a\r'],
    ['unit separator U+001F', '\u001f'],
    ['DEL', 'a\u007f'],
    ['lone high surrogate', '\ud800'],
    ['lone low surrogate', 'a\udc00'],
    ['reversed pair', '\ude00\ud83d'],
    ['high surrogate at the end', `key${'\ud83d'}`],
  ])('rejects %s with invalid-key', (_name, key) => {
    expectStrataError(() => parseKey(key), 'invalid-key');
  });

  it('reports the byte limit on an over-long key', () => {
    const err = expectStrataError(() => parseKey(euro.repeat(171)), 'invalid-key');
    expect(err.extensions.limit).toBe(LIMITS.maxKeyBytes);
    expect(err.message).toContain('513');
  });

  it('accepts exactly the documented keys: non-empty, well-formed, no control characters, at most 512 UTF-8 bytes', () => {
    const isDocumented = (s: string): boolean =>
      s.length > 0 && wellFormed(s) && !hasControl(s) && utf8Length(s) <= LIMITS.maxKeyBytes;
    const loneSurrogate = fc
      .integer({ min: 0xd800, max: 0xdfff })
      .map((c) => String.fromCharCode(c));
    const pieces = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.constantFrom('a', '\u00e9', euro, smile, '\u0000', '\u007f', '\u0085', '\n'),
      loneSurrogate,
    );
    // Long strings of multi-byte pieces straddle the 512-byte boundary.
    const keyArb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 600 }),
      fc.array(pieces, { maxLength: 200 }).map((p) => p.join('')),
      fc
        .tuple(
          fc.constantFrom('a', '\u00e9', euro, smile),
          fc.integer({ min: 120, max: 520 }),
          fc.string({ maxLength: 3 }),
        )
        .map(([ch, n, tail]) => ch.repeat(Math.ceil(n / utf8Length(ch))) + tail),
    );
    fc.assert(
      fc.property(keyArb, (key) => {
        if (isDocumented(key)) {
          expect(parseKey(key)).toBe(key);
        } else {
          expectStrataError(() => parseKey(key), 'invalid-key');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseWriteCacheControl', () => {
  const DEFAULT = 3600;
  const f = (ttl: number, staleWhileRevalidate = 0, staleIfError = 0) => ({
    ttl,
    staleWhileRevalidate,
    staleIfError,
  });

  it.each([
    ['absent (null)', null, f(DEFAULT)],
    ['absent (undefined)', undefined, f(DEFAULT)],
    ['empty', '', f(DEFAULT)],
    ['only commas and spaces', ' , ,, ', f(DEFAULT)],
    ['max-age', 'max-age=60', f(60)],
    ['upper-case name', 'MAX-AGE=60', f(60)],
    ['mixed-case name', 'Max-Age=60', f(60)],
    ['quoted value', 'max-age="60"', f(60)],
    ['leading zeros', 'max-age=0060', f(60)],
    ['minimum TTL', 'max-age=1', f(1)],
    ['maximum TTL (30 days)', 'max-age=2592000', f(2_592_000)],
    ['s-maxage alone', 's-maxage=120', f(120)],
    ['s-maxage wins over max-age (after)', 'max-age=60, s-maxage=120', f(120)],
    ['s-maxage wins over max-age (before)', 's-maxage=120, max-age=60', f(120)],
    ['s-maxage wins even when shorter', 'max-age=600, s-maxage=5', f(5)],
    ['stale-while-revalidate', 'max-age=60, stale-while-revalidate=30', f(60, 30)],
    ['stale-if-error', 'stale-if-error=300', f(DEFAULT, 0, 300)],
    ['zero staleness', 'stale-while-revalidate=0, stale-if-error=0', f(DEFAULT)],
    [
      'maximum staleness (1 day)',
      'stale-while-revalidate=86400, stale-if-error=86400',
      f(DEFAULT, 86_400, 86_400),
    ],
    ['quoted staleness', 'Stale-If-Error="7"', f(DEFAULT, 0, 7)],
    [
      'all together, odd spacing',
      '  max-age=10 ,stale-while-revalidate=20,   stale-if-error=30  ',
      f(10, 20, 30),
    ],
    [
      'unknown directives ignored',
      'public, max-age=60, must-revalidate, immutable, foo=bar, x="y z"',
      f(60),
    ],
    ['no-cache and private are ignored', 'no-cache, private', f(DEFAULT)],
    ['unknown directive with a malformed value ignored', 'foo=-1, max-age=5', f(5)],
  ])('%s: %j', (_name, header, expected) => {
    expect(parseWriteCacheControl(header, DEFAULT)).toEqual(expected);
  });

  it('uses the caller-supplied default TTL', () => {
    expect(parseWriteCacheControl(null, 42)).toEqual(f(42));
    expect(parseWriteCacheControl('stale-if-error=1', 7)).toEqual(f(7, 0, 1));
  });

  it.each([
    ['max-age=0 (below the 1 s minimum)', 'max-age=0'],
    ['max-age over 30 days', 'max-age=2592001'],
    ['s-maxage=0', 's-maxage=0'],
    ['s-maxage over 30 days', 's-maxage=2592001'],
    ['stale-while-revalidate over a day', 'stale-while-revalidate=86401'],
    ['stale-if-error over a day', 'stale-if-error=86401'],
    ['ten nines', 'max-age=9999999999'],
    ['eleven digits', 'max-age=99999999999'],
    ['negative', 'max-age=-1'],
    ['fraction', 'max-age=1.5'],
    ['exponent', 'max-age=1e3'],
    ['hex', 'max-age=0x10'],
    ['plus sign', 'max-age=+5'],
    ['unit suffix', 'max-age=60s'],
    ['word', 'max-age=abc'],
    ['empty value', 'max-age='],
    ['missing value', 'max-age'],
    ['empty quotes', 'max-age=""'],
    ['unbalanced quote', 'max-age="60'],
    ['non-ASCII digits', 'max-age=\u0663'],
    ['inner space', 'max-age=6 0'],
    ['malformed s-maxage next to a good max-age', 'max-age=60, s-maxage=x'],
    ['missing swr value', 'stale-while-revalidate'],
  ])('rejects %s (%j) with invalid-cache-control 400', (_name, header) => {
    expectStrataError(() => parseWriteCacheControl(header, DEFAULT), 'invalid-cache-control');
  });

  it('names the directive and its range on an out-of-range value', () => {
    const err = expectStrataError(
      () => parseWriteCacheControl('stale-if-error=86401', DEFAULT),
      'invalid-cache-control',
    );
    expect(err.extensions).toEqual({ directive: 'stale-if-error', min: 0, max: LIMITS.maxStale });
  });

  it.each(['no-store', 'No-Store', 'max-age=60, no-store', 'no-store, max-age=60', 'no-store="x"'])(
    'refuses %j',
    (header) => {
      const err = expectStrataError(
        () => parseWriteCacheControl(header, DEFAULT),
        'invalid-cache-control',
      );
      expect(err.message).toMatch(/no-store/);
    },
  );

  // Regression: the header used to be split on every comma, including commas
  // inside a quoted-string, which RFC 9111 §5.2 allows in a directive value
  // (`cache-directive = token [ "=" ( token / quoted-string ) ]`), so text
  // inside an unknown directive's quotes was read as directives.
  it.each([
    ['ext="a,no-store,b", max-age=60', f(60)],
    ['ext="x,max-age=0", max-age=60', f(60)],
    ['ext="a\\",no-store", max-age=60', f(60)], // escaped quote inside the string
    ['max-age=60, ext="s-maxage=1,stale-if-error=99999"', f(60)],
    ['max-age="6\\0"', f(60)], // quoted-pair: \0 is 0
  ])('ignores commas inside an unknown directive quoted value: %j', (header, expected) => {
    expect(parseWriteCacheControl(header, DEFAULT)).toEqual(expected);
  });

  it('still reads directives after an unknown directive with an unterminated quote', () => {
    // No closing quote means no quoted-string: the comma ends the directive.
    expect(parseWriteCacheControl('ext="a, max-age=5', DEFAULT)).toEqual(f(5));
  });

  // Header builder for the properties: directives in any order, any case, optionally quoted.
  const directive = (name: string, value: number, upper: boolean, quote: boolean): string =>
    `${upper ? name.toUpperCase() : name}=${quote ? `"${value}"` : value}`;
  const noise = fc.constantFrom(
    'public',
    'must-revalidate',
    'immutable',
    'no-transform',
    'x-custom=1',
    'community="UCI"',
  );

  it('reads any in-range combination, whatever the order, case, quoting and unknown directives', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: LIMITS.minTtl, max: LIMITS.maxTtl }), { nil: undefined }),
        fc.option(fc.integer({ min: LIMITS.minTtl, max: LIMITS.maxTtl }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: LIMITS.maxStale }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: LIMITS.maxStale }), { nil: undefined }),
        fc.array(noise, { maxLength: 3 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.nat(),
        (maxAge, sMaxAge, swr, sie, extra, flags, rotate) => {
          const parts: string[] = [...extra];
          const add = (name: string, v: number | undefined, i: number) => {
            if (v !== undefined)
              parts.push(directive(name, v, flags[i] === true, flags[i + 4] === true));
          };
          add('max-age', maxAge, 0);
          add('s-maxage', sMaxAge, 1);
          add('stale-while-revalidate', swr, 2);
          add('stale-if-error', sie, 3);
          const r = parts.length === 0 ? 0 : rotate % parts.length;
          const header = [...parts.slice(r), ...parts.slice(0, r)].join(', ');
          expect(parseWriteCacheControl(header, DEFAULT)).toEqual({
            ttl: sMaxAge ?? maxAge ?? DEFAULT,
            staleWhileRevalidate: swr ?? 0,
            staleIfError: sie ?? 0,
          });
        },
      ),
    );
  });

  it('rejects any out-of-range value of a known directive, never clamping it', () => {
    const known = fc.constantFrom(
      ['max-age', LIMITS.minTtl, LIMITS.maxTtl] as const,
      ['s-maxage', LIMITS.minTtl, LIMITS.maxTtl] as const,
      ['stale-while-revalidate', 0, LIMITS.maxStale] as const,
      ['stale-if-error', 0, LIMITS.maxStale] as const,
    );
    fc.assert(
      fc.property(known, fc.integer({ min: 0, max: 9_999_999_999 }), ([name, min, max], value) => {
        fc.pre(value < min || value > max);
        expectStrataError(
          () => parseWriteCacheControl(`${name}=${value}`, DEFAULT),
          'invalid-cache-control',
        );
      }),
    );
  });

  it('never throws anything but a StrataError on arbitrary headers', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (header) => {
        try {
          const out = parseWriteCacheControl(header, DEFAULT);
          expect(out.ttl).toBeGreaterThanOrEqual(LIMITS.minTtl);
          expect(out.ttl === DEFAULT || out.ttl <= LIMITS.maxTtl).toBe(true);
          expect(out.staleWhileRevalidate).toBeLessThanOrEqual(LIMITS.maxStale);
          expect(out.staleIfError).toBeLessThanOrEqual(LIMITS.maxStale);
        } catch (err) {
          expect(err).toBeInstanceOf(StrataError);
          expect((err as StrataError).code).toBe('invalid-cache-control');
        }
      }),
    );
  });
});

describe('parseCacheTags', () => {
  it.each([
    ['absent (null)', null, []],
    ['absent (undefined)', undefined, []],
    ['empty', '', []],
    ['one', 'product', ['product']],
    ['two', 'a,b', ['a', 'b']],
    ['trimmed', '  a , b  ', ['a', 'b']],
    ['tabs trimmed', '\ta\t,b', ['a', 'b']],
    ['empty items skipped', 'a,,b,', ['a', 'b']],
    ['duplicates collapse, first position kept', 'b,a,b,c,a', ['b', 'a', 'c']],
    ['case-sensitive', 'Tag,tag', ['Tag', 'tag']],
    ['visible ASCII punctuation', 'a:b/c!~{}', ['a:b/c!~{}']],
    ['128-byte tag', 't'.repeat(128), ['t'.repeat(128)]],
  ])('%s: %j', (_name, header, expected) => {
    expect(parseCacheTags(header)).toEqual(expected);
  });

  const nTags = (n: number): string[] => Array.from({ length: n }, (_, i) => `t${i}`);

  it('accepts 32 distinct tags', () => {
    expect(parseCacheTags(nTags(32).join(','))).toEqual(nTags(32));
  });

  it('counts distinct tags: 40 items collapsing to 32 are fine', () => {
    const header = [...nTags(32), ...nTags(8)].join(',');
    expect(parseCacheTags(header)).toEqual(nTags(32));
  });

  it.each([
    ['33 distinct tags', nTags(33).join(',')],
    ['a 129-byte tag', 't'.repeat(129)],
    ['inner space', 'a b'],
    ['inner tab', 'a\tb'],
    ['non-ASCII', 'caf\u00e9'],
    ['DEL', 'a\u007f'],
    ['NUL', 'a\u0000'],
    ['newline inside', 'a\nb'],
    ['emoji', '\u{1f600}'],
  ])('rejects %s with invalid-tag', (_name, header) => {
    expectStrataError(() => parseCacheTags(header), 'invalid-tag');
  });

  it('keeps order and drops duplicates for any list of valid tags', () => {
    const tag = fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{1,8}$/);
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 60 }), (tags) => {
        const distinct = [...new Set(tags)];
        const header = tags.join(' , ');
        if (distinct.length <= LIMITS.maxTags) {
          expect(parseCacheTags(header)).toEqual(distinct);
        } else {
          expectStrataError(() => parseCacheTags(header), 'invalid-tag');
        }
      }),
    );
  });
});

describe('parseContentType', () => {
  it.each([
    ['absent (null)', null, 'application/octet-stream'],
    ['absent (undefined)', undefined, 'application/octet-stream'],
    ['empty', '', 'application/octet-stream'],
    ['plain', 'text/plain', 'text/plain'],
    ['with parameters', 'text/plain; charset=utf-8', 'text/plain; charset=utf-8'],
    ['trimmed', '  application/json  ', 'application/json'],
    ['vendor type', 'application/vnd.api+json', 'application/vnd.api+json'],
    ['256 characters', `a/${'b'.repeat(254)}`, `a/${'b'.repeat(254)}`],
  ])('%s: %j → %j', (_name, header, expected) => {
    expect(parseContentType(header)).toBe(expected);
  });

  it.each([
    ['no slash', 'text'],
    ['257 characters', `a/${'b'.repeat(255)}`],
    ['non-ASCII', 'text/pl\u00e4in'],
    ['inner newline', 'text/plain\nx-evil: 1'],
    ['inner tab', 'text/\tplain'],
    ['DEL', 'text/plain\u007f'],
    ['NUL', 'text/plain\u0000'],
  ])('rejects %s with invalid-content-type', (_name, header) => {
    expectStrataError(() => parseContentType(header), 'invalid-content-type');
  });
});

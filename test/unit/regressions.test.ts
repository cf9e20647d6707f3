/**
 * Regression tests for input-handling rules tightened after review:
 * repeated Cache-Control directives, header length, HLC spelling,
 * Cache-Status detail quoting, tag counting and C1 controls in keys.
 */
import { describe, expect, it } from 'vitest';
import { formatCacheStatus } from '../../src/cache-status.ts';
import type { StrataError } from '../../src/errors.ts';
import { parseHlc } from '../../src/hlc.ts';
import {
  cacheDirectives,
  parseCacheTags,
  parseCost,
  parseKey,
  parsePriority,
  parseWriteCacheControl,
} from '../../src/validation.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as StrataError).code;
  }
  return 'no error';
}

describe('Cache-Control on writes', () => {
  it('uses the first occurrence of a repeated directive (RFC 9111 §4.2.1)', () => {
    expect(parseWriteCacheControl('max-age=60, max-age=120', 3600).ttl).toBe(60);
  });

  it('refuses a header over 1024 characters before scanning it', () => {
    expect(codeOf(() => parseWriteCacheControl(`max-age=60,${' '.repeat(1100)}`, 3600))).toBe(
      'invalid-cache-control',
    );
  });

  it('tokenises long runs of spaces and quotes correctly (single linear scan)', () => {
    const header = `a${' '.repeat(20_000)}b, x="${'\\"'.repeat(5000)}", max-age=7`;
    // "a<spaces>b" is not a directive name (it contains spaces), so it is skipped.
    expect(cacheDirectives(header).map((d) => d.name)).toEqual(['x', 'max-age']);
    expect(cacheDirectives(header).at(-1)?.value).toBe('7');
  });
});

describe('HLC text', () => {
  it.each(['01-0-a', '1-00-a', '00-0-a'])(
    'rejects leading zeros in %j (one version, one ETag)',
    (text) => {
      expect(parseHlc(text)).toBeNull();
    },
  );
  it('accepts zero written as 0', () => {
    expect(parseHlc('0-0-a')).toEqual({ wall: 0, counter: 0, region: 'a' });
  });
});

describe('Cache-Status detail', () => {
  it('quotes a detail that is not an sf-token', () => {
    expect(formatCacheStatus([{ cache: 'strata-l3', fwd: 'miss', detail: 'tier down' }])).toBe(
      'strata-l3; fwd=miss; detail="tier down"',
    );
  });
  it('leaves a token unquoted', () => {
    expect(formatCacheStatus([{ cache: 'strata-l3', detail: 'unavailable' }])).toBe(
      'strata-l3; detail=unavailable',
    );
  });
});

describe('tags and keys', () => {
  it('stops at the 33rd distinct tag', () => {
    const header = Array.from({ length: 10_000 }, (_, i) => `t${i}`).join(',');
    expect(codeOf(() => parseCacheTags(header))).toBe('invalid-tag');
  });
  it('counts duplicates once', () => {
    expect(parseCacheTags(Array.from({ length: 100 }, () => 'same').join(','))).toEqual(['same']);
  });
  it.each(['\u0080', 'a\u0085b', '\u009f'])('rejects C1 control characters in keys (%j)', (key) => {
    expect(codeOf(() => parseKey(key))).toBe('invalid-key');
  });
});

describe('Cache-Priority and Cache-Cost', () => {
  it.each([
    ['0', 0],
    ['3', 3],
    ['low', 0],
    ['Normal', 1],
    [' high ', 2],
    ['critical', 3],
  ] as const)('reads priority %j as %i', (header, expected) => {
    expect(parsePriority(header)).toBe(expected);
  });
  it.each(['4', '-1', 'urgent', '', '1.5'])('rejects priority %j', (header) => {
    expect(codeOf(() => parsePriority(header))).toBe('invalid-priority');
  });
  it('absent priority and cost fall back to defaults (undefined)', () => {
    expect(parsePriority(undefined)).toBeUndefined();
    expect(parseCost(null)).toBeUndefined();
  });
  it.each([
    ['1', 1],
    ['2000', 2000],
    ['0.5', 0.5],
    ['1000000000', 1e9],
  ] as const)('reads cost %j', (header, expected) => {
    expect(parseCost(header)).toBe(expected);
  });
  it.each(['0', '-1', 'abc', '1e3', '1000000001', ''])('rejects cost %j', (header) => {
    expect(codeOf(() => parseCost(header))).toBe('invalid-priority');
  });
});

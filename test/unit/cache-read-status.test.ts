/** `cacheStatusFor`: the Cache-Status members a read result turns into. */
import { describe, expect, it } from 'vitest';
import type { ReadResult } from '../../src/cache.ts';
import { cacheStatusFor } from '../../src/cache.ts';
import { formatCacheStatus } from '../../src/cache-status.ts';
import type { Entry } from '../../src/entry.ts';

const NOW = 1_000_000;
const entry: Entry = {
  meta: {
    namespace: 'n',
    key: 'k',
    version: '1-0-a',
    createdAt: NOW - 1000,
    expiresAt: NOW + 42_000,
    staleWhileRevalidate: 0,
    staleIfError: 0,
    tags: [],
    contentType: 'text/plain',
    size: 0,
  },
  value: new Uint8Array(0),
};

const read = (r: Partial<ReadResult>): ReadResult => ({
  entry: null,
  source: null,
  l0: 'disabled',
  l1: 'miss',
  l3: 'miss',
  collapsed: false,
  ...r,
});

describe('cacheStatusFor', () => {
  it.each<[string, Partial<ReadResult>, string]>([
    ['L1 hit', { entry, source: 'L1', l1: 'hit', l3: 'skipped' }, 'strata-l1; hit; ttl=42'],
    [
      'L2 hit',
      { entry, source: 'L2', l3: 'skipped' },
      'strata-l2; hit; ttl=42, strata-l1; fwd=miss; stored',
    ],
    [
      'L3 hit kept by L2',
      { entry, source: 'L3', l3: 'ok', l2Stored: true },
      'strata-l3; hit; ttl=42, strata-l2; fwd=miss; stored, strata-l1; fwd=miss; stored',
    ],
    [
      'L3 hit too large for L2, collapsed',
      { entry, source: 'L3', l3: 'ok', l2Stored: false, collapsed: true },
      'strata-l3; hit; ttl=42, strata-l2; fwd=miss; collapsed, strata-l1; fwd=miss; stored',
    ],
    ['miss', {}, 'strata-l3; fwd=miss, strata-l2; fwd=miss, strata-l1; fwd=miss'],
    [
      'miss with L3 down',
      { l3: 'error' },
      'strata-l3; fwd=miss; detail=unavailable, strata-l2; fwd=miss, strata-l1; fwd=miss',
    ],
    ['miss with L3 not consulted', { l3: 'skipped' }, 'strata-l2; fwd=miss, strata-l1; fwd=miss'],
    [
      'L2 hit with L1 disabled',
      { entry, source: 'L2', l1: 'disabled', l3: 'skipped' },
      'strata-l2; hit; ttl=42',
    ],
    ['miss with L1 disabled', { l1: 'disabled' }, 'strata-l3; fwd=miss, strata-l2; fwd=miss'],
    [
      'L2 hit with L1 failing',
      { entry, source: 'L2', l1: 'error', l3: 'skipped' },
      'strata-l2; hit; ttl=42, strata-l1; fwd=miss; detail=unavailable',
    ],
    [
      // Stale (soft-purged) copies are never written to L1 or L0, so neither says stored.
      'soft-purged L2 hit, L0 on',
      {
        entry,
        source: 'L2',
        l0: 'miss',
        l3: 'skipped',
        stale: { since: NOW - 5000, until: NOW + 55_000, revalidate: true },
      },
      'strata-l2; hit; ttl=-5; detail=stale-while-revalidate, strata-l1; fwd=miss, strata-l0; fwd=miss',
    ],
  ])('%s', (_name, result, expected) => {
    expect(formatCacheStatus(cacheStatusFor(read(result), NOW))).toBe(expected);
  });
});

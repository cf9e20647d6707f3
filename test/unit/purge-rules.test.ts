/**
 * Purge rules and their index (src/purge/rules.ts) and purge request
 * validation (src/purge/request.ts): hand-written cases, and a property
 * check of the index against a brute-force reading of the same rules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EntryMeta } from '../../src/entry.ts';
import { StrataError } from '../../src/errors.ts';
import { LIMITS } from '../../src/limits.ts';
import { MAX_PURGE_SELECTORS, parsePurgeRequest } from '../../src/purge/request.ts';
import {
  compareVersionText,
  PurgeIndex,
  type PurgeRule,
  purgeOf,
  ruleRetentionMs,
  rulesOf,
  selects,
} from '../../src/purge/rules.ts';

function meta(key: string, version: string, tags: string[] = [], swr = 0, ns = 'ns'): EntryMeta {
  return {
    namespace: ns,
    key,
    version,
    createdAt: 0,
    expiresAt: 10_000_000,
    staleWhileRevalidate: swr,
    staleIfError: 0,
    tags,
    contentType: 'text/plain',
    size: 1,
  };
}

function rule(kind: PurgeRule['kind'], value: string, version: string, soft = false): PurgeRule {
  return { id: 'p', ns: 'ns', kind, value, version, soft, at: 1000, expiresAt: 9_999_999 };
}

describe('PurgeIndex', () => {
  it('purges only entries older than the rule', () => {
    const index = new PurgeIndex([rule('key', 'a', '100-0-r')]);
    expect(index.effect(meta('a', '99-5-r'), 2000).kind).toBe('purged');
    expect(index.effect(meta('a', '100-0-r'), 2000).kind).toBe('none');
    expect(index.effect(meta('a', '100-1-r'), 2000).kind).toBe('none');
    expect(index.effect(meta('b', '1-0-r'), 2000).kind).toBe('none');
  });

  it('matches prefixes, tags and whole namespaces, and nothing in other namespaces', () => {
    const index = new PurgeIndex([
      rule('prefix', 'blog/', '100-0-r'),
      rule('tag', 'sale', '100-0-r'),
    ]);
    expect(index.effect(meta('blog/x', '1-0-r'), 0).kind).toBe('purged');
    expect(index.effect(meta('blogger', '1-0-r'), 0).kind).toBe('none');
    expect(index.effect(meta('x', '1-0-r', ['a', 'sale']), 0).kind).toBe('purged');
    expect(index.effect(meta('blog/x', '1-0-r', [], 0, 'other'), 0).kind).toBe('none');
    expect(index.quiet('other')).toBe(true);
    const all = new PurgeIndex([rule('namespace', '', '100-0-r')]);
    expect(all.effect(meta('anything', '1-0-r'), 0).kind).toBe('purged');
  });

  it('soft rules make an entry stale for its stale-while-revalidate window, then purged', () => {
    const index = new PurgeIndex([rule('key', 'a', '100-0-r', true)]);
    const stale = index.effect(meta('a', '1-0-r', [], 60), 1000 + 59_000);
    expect(stale).toMatchObject({ kind: 'stale', since: 1000, until: 61_000 });
    expect(index.effect(meta('a', '1-0-r', [], 60), 61_000).kind).toBe('purged');
    // No stale window: a soft purge is a purge.
    expect(index.effect(meta('a', '1-0-r', [], 0), 1000).kind).toBe('purged');
  });

  it('a hard rule wins over a soft one', () => {
    const index = new PurgeIndex([rule('tag', 't', '100-0-r', true), rule('key', 'a', '100-0-r')]);
    expect(index.effect(meta('a', '1-0-r', ['t'], 60), 1000).kind).toBe('purged');
    expect(index.effect(meta('b', '1-0-r', ['t'], 60), 1000).kind).toBe('stale');
  });

  it('agrees with a brute-force reading of its rules', () => {
    const key = fc.constantFrom('a', 'ab', 'abc', 'b', 'ba', '');
    const version = fc
      .tuple(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom('r', 's'),
      )
      .map(([w, c, r]) => `${w}-${c}-${r}`);
    const ruleArb = fc
      .tuple(
        fc.constantFrom<PurgeRule['kind']>('key', 'prefix', 'tag', 'namespace'),
        key,
        fc.constantFrom('t1', 't2'),
        version,
        fc.boolean(),
        fc.integer({ min: 0, max: 3000 }),
      )
      .map(([kind, k, tag, v, soft, at]) => ({
        ...rule(kind, kind === 'tag' ? tag : kind === 'namespace' ? '' : k, v, soft),
        at,
      }));
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 8 }),
        key.filter((k) => k !== ''),
        fc.subarray(['t1', 't2']),
        version,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 8000 }),
        (rules, k, tags, v, swr, now) => {
          const m = meta(k, v, tags, swr);
          const matching = rules.filter(
            (r) => selects(r, m) && compareVersionText(v, r.version) < 0,
          );
          const hard = matching.some((r) => !r.soft);
          const softs = matching.filter((r) => r.soft);
          const since = Math.min(...softs.map((r) => r.at));
          const expected = hard
            ? 'purged'
            : softs.length === 0
              ? 'none'
              : since + swr * 1000 > now
                ? 'stale'
                : 'purged';
          expect(new PurgeIndex(rules).effect(m, now).kind).toBe(expected);
        },
      ),
    );
  });
});

describe('rulesOf', () => {
  it('makes one rule per selector, or one namespace rule', () => {
    const request = parsePurgeRequest({
      namespace: 'ns',
      keys: ['k'],
      prefixes: ['p/'],
      tags: ['t'],
    });
    const p = purgeOf(request, 'id', 'us-east', '5-0-us-east', 1000, 'api:test');
    expect(rulesOf(p, 3600_000).map((r) => [r.kind, r.value])).toEqual([
      ['key', 'k'],
      ['prefix', 'p/'],
      ['tag', 't'],
    ]);
    const all = purgeOf(
      parsePurgeRequest({ namespace: 'ns', all: true, tags: ['ignored'] }),
      'id',
      'r',
      '5-0-r',
      0,
      's',
    );
    expect(rulesOf(all, 1).map((r) => r.kind)).toEqual(['namespace']);
  });

  it('keeps soft rules at least as long as the longest stale window', () => {
    expect(ruleRetentionMs(false, 60_000)).toBe(60_000);
    expect(ruleRetentionMs(true, 60_000)).toBe(LIMITS.maxStale * 1000);
  });
});

describe('parsePurgeRequest', () => {
  it('accepts the documented shape and drops duplicates', () => {
    expect(parsePurgeRequest({ namespace: 'pages', tags: ['a', 'a'], soft: true })).toEqual({
      namespace: 'pages',
      keys: [],
      prefixes: [],
      tags: ['a'],
      all: false,
      soft: true,
    });
  });

  const bad: [string, unknown][] = [
    ['not an object', 'x'],
    ['no namespace', { keys: ['k'] }],
    ['bad namespace', { namespace: 'Bad', keys: ['k'] }],
    ['no selector', { namespace: 'ns' }],
    ['all false and nothing else', { namespace: 'ns', all: false }],
    [
      'too many',
      { namespace: 'ns', keys: Array.from({ length: MAX_PURGE_SELECTORS + 1 }, (_, i) => `k${i}`) },
    ],
    ['empty key', { namespace: 'ns', keys: [''] }],
    ['control character', { namespace: 'ns', keys: ['a\u0000'] }],
    ['tag with a comma', { namespace: 'ns', tags: ['a,b'] }],
    ['tag with a space', { namespace: 'ns', tags: ['a b'] }],
    ['long tag', { namespace: 'ns', tags: ['x'.repeat(LIMITS.maxTagBytes + 1)] }],
    ['wrong types', { namespace: 'ns', keys: 'k' }],
    ['soft not boolean', { namespace: 'ns', all: true, soft: 'yes' }],
  ];
  it.each(bad)('rejects %s with a 400', (_, body) => {
    try {
      parsePurgeRequest(body);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(StrataError);
      expect((err as StrataError).status).toBe(400);
    }
  });
});

/**
 * Zone purge policy: the plan table, the token bucket on an injected clock,
 * batching of queued tags, Retry-After and backoff, and the configuration.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CF_API_BASE, zoneConfigFor } from '../../src/purge/zone-config.ts';
import {
  type BucketState,
  backoffMs,
  fullBucket,
  msUntilToken,
  nextBatch,
  parseRetryAfter,
  parseZonePlan,
  refill,
  takeToken,
  ZONE_PLAN_LIMITS,
  type ZoneLimits,
} from '../../src/purge/zone-limits.ts';

const ZONE = '023e105f4ecef8ad9ca31a8372d0c353';

describe('plan table', () => {
  it('has the documented per-plan limits', () => {
    expect(ZONE_PLAN_LIMITS).toEqual({
      free: { ratePerSecond: 5 / 60, burst: 25, itemsPerCall: 100 },
      pro: { ratePerSecond: 5, burst: 25, itemsPerCall: 100 },
      business: { ratePerSecond: 10, burst: 50, itemsPerCall: 100 },
      enterprise: { ratePerSecond: 50, burst: 500, itemsPerCall: 100 },
    });
  });

  it.each([
    [undefined, 'free'],
    ['', 'free'],
    ['free', 'free'],
    ['pro', 'pro'],
    [' Business ', 'business'],
    ['ENTERPRISE', 'enterprise'],
  ])('parses CF_ZONE_PLAN %j as %s', (raw, plan) => {
    expect(parseZonePlan(raw)).toBe(plan);
  });

  it.each(['gold', 'ent', 'free,pro', '0'])(
    'refuses CF_ZONE_PLAN %j, naming the choices',
    (raw) => {
      expect(() => parseZonePlan(raw)).toThrow(
        `CF_ZONE_PLAN must be one of free, pro, business, enterprise, got ${JSON.stringify(raw)}`,
      );
    },
  );
});

describe('token bucket', () => {
  const pro = ZONE_PLAN_LIMITS.pro;
  const free = ZONE_PLAN_LIMITS.free;

  it('starts full and allows a burst of exactly `burst` calls', () => {
    let b = fullBucket(pro, 0);
    for (let i = 0; i < pro.burst; i++) {
      const t = takeToken(b, pro, 0);
      expect(t.ok).toBe(true);
      b = t.state;
    }
    const refused = takeToken(b, pro, 0);
    expect(refused).toEqual({ ok: false, state: { tokens: 0, updatedAt: 0 }, retryAt: 200 });
  });

  it('refills continuously at the plan rate, capped at the bucket size', () => {
    const empty: BucketState = { tokens: 0, updatedAt: 1_000 };
    expect(refill(empty, pro, 1_100).tokens).toBeCloseTo(0.5);
    expect(refill(empty, pro, 1_300).tokens).toBeCloseTo(1.5);
    expect(refill(empty, pro, 1_000 + 60_000).tokens).toBe(25);
    // Free: 5 a minute, one token every 12 s.
    expect(refill(empty, free, 1_000 + 12_000).tokens).toBeCloseTo(1);
    expect(msUntilToken(empty, free)).toBe(12_000);
    expect(msUntilToken(refill(empty, free, 7_000), free)).toBe(6_000);
  });

  it('ignores a clock that went backwards', () => {
    const b: BucketState = { tokens: 2, updatedAt: 10_000 };
    expect(refill(b, pro, 9_000)).toBe(b);
    expect(takeToken(b, pro, 9_000)).toEqual({ ok: true, state: { tokens: 1, updatedAt: 10_000 } });
  });

  it('a refused take says exactly when the next token is whole', () => {
    let b = fullBucket(free, 0);
    for (let i = 0; i < free.burst; i++)
      b = (takeToken(b, free, 0) as { state: BucketState }).state;
    const refused = takeToken(b, free, 5_000);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.retryAt).toBe(12_000);
    expect(takeToken(refused.state, free, refused.retryAt - 1).ok).toBe(false);
    expect(takeToken(refused.state, free, refused.retryAt).ok).toBe(true);
  });

  it('never allows more than burst + rate × elapsed calls (property)', () => {
    const limits = fc.record({
      ratePerSecond: fc.constantFrom(5 / 60, 0.5, 5, 10, 50),
      burst: fc.integer({ min: 1, max: 50 }),
      itemsPerCall: fc.constant(100),
    });
    fc.assert(
      fc.property(
        limits,
        fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 300 }),
        (l, gaps) => {
          const allowed = runBucket(l, gaps);
          // Any window [t_i, t_j] of allowed calls, including the first burst.
          for (let i = 0; i < allowed.length; i++) {
            for (let j = i; j < allowed.length; j++) {
              const at = allowed as number[];
              const span = ((at[j] as number) - (at[i] as number)) / 1000;
              expect(j - i + 1).toBeLessThanOrEqual(l.burst + l.ratePerSecond * span + 1e-6);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sustains the plan rate when asked as often as allowed', () => {
    // Ask exactly when told to: 60 s of free plan = the burst + 5 more.
    let b = fullBucket(free, 0);
    let t = 0;
    let calls = 0;
    while (t <= 60_000) {
      const take = takeToken(b, free, t);
      b = take.state;
      if (take.ok) calls++;
      else t = take.retryAt;
    }
    expect(calls).toBe(25 + 5);
  });
});

/** Times (ms) of the calls a bucket allowed when asked at the cumulative `gaps`. */
function runBucket(limits: ZoneLimits, gaps: number[]): number[] {
  let b = fullBucket(limits, 0);
  let t = 0;
  const allowed: number[] = [];
  for (const gap of gaps) {
    t += gap;
    const take = takeToken(b, limits, t);
    b = take.state;
    if (take.ok) allowed.push(t);
  }
  return allowed;
}

describe('nextBatch', () => {
  const q = (...pairs: [string, string][]) => pairs.map(([tag, purgeId]) => ({ tag, purgeId }));

  it('takes up to itemsPerCall distinct tags, oldest first', () => {
    const queue = Array.from({ length: 250 }, (_, i) => ({ tag: `t${i}`, purgeId: 'p' }));
    expect(nextBatch(queue, 100)).toEqual(queue.slice(0, 100).map((r) => r.tag));
    expect(nextBatch(queue.slice(200), 100)).toHaveLength(50);
  });

  it('sends a tag queued by several purges once', () => {
    const queue = q(['a', 'p1'], ['b', 'p1'], ['a', 'p2'], ['c', 'p2'], ['b', 'p3']);
    expect(nextBatch(queue, 100)).toEqual(['a', 'b', 'c']);
    expect(nextBatch(queue, 2)).toEqual(['a', 'b']);
  });

  it('sends tags as given (Cloudflare tags are zone-global; no rewriting)', () => {
    expect(nextBatch(q(['Product-42', 'p'], ['product-42', 'p']), 10)).toEqual([
      'Product-42',
      'product-42',
    ]);
  });

  it('is empty for an empty queue', () => {
    expect(nextBatch([], 100)).toEqual([]);
  });

  it('reads the queue lazily, stopping at the first tag that does not fit', () => {
    let read = 0;
    function* queue() {
      for (let i = 0; i < 10_000; i++) {
        read++;
        yield { tag: `t${i % 500}`, purgeId: `p${i}` };
      }
    }
    expect(nextBatch(queue(), 100)).toHaveLength(100);
    expect(read).toBe(101);
  });

  it('never exceeds itemsPerCall and never repeats a tag (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ tag: fc.string({ maxLength: 3 }), purgeId: fc.string() })),
        fc.integer({ min: 1, max: 20 }),
        (queue, n) => {
          const batch = nextBatch(queue, n);
          expect(batch.length).toBeLessThanOrEqual(n);
          expect(new Set(batch).size).toBe(batch.length);
          const distinct = [...new Set(queue.map((r) => r.tag))];
          expect(batch).toEqual(distinct.slice(0, n));
        },
      ),
    );
  });
});

describe('Retry-After and backoff', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    ['7', 7_000],
    [' 30 ', 30_000],
    ['0', 1_000],
    ['999999', 3_600_000],
    ['Thu, 01 Jan 2026 00:00:20 GMT', 20_000],
    ['Wed, 31 Dec 2025 23:00:00 GMT', 1_000],
  ])('Retry-After %j waits %i ms', (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });

  it.each([null, undefined, '', 'soon', '-5', '1.5'])('Retry-After %j is unreadable', (header) => {
    expect(parseRetryAfter(header, now)).toBeNull();
  });

  it('backs off from 1 s doubling to 5 min, jittered over the upper half', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(30, () => 0)).toBe(150_000);
    expect(backoffMs(30, () => 1)).toBe(300_000);
    expect(backoffMs(0, () => 1)).toBe(1000);
  });
});

describe('zoneConfigFor', () => {
  it('is off unless a zone id and a token are set', () => {
    expect(zoneConfigFor({})).toBeNull();
    expect(zoneConfigFor({ CF_ZONE_ID: '', CF_API_TOKEN: '' })).toBeNull();
    expect(zoneConfigFor({ CF_ZONE_PLAN: 'pro', CF_API_BASE: 'https://x.test' })).toBeNull();
  });

  it('refuses half a configuration, naming what is missing', () => {
    expect(() => zoneConfigFor({ CF_ZONE_ID: ZONE })).toThrow(
      'CF_ZONE_ID is set but CF_API_TOKEN is not',
    );
    expect(() => zoneConfigFor({ CF_API_TOKEN: 't' })).toThrow(
      'CF_API_TOKEN is set but CF_ZONE_ID is not',
    );
  });

  it('defaults to the public API and the free plan', () => {
    expect(zoneConfigFor({ CF_ZONE_ID: ZONE, CF_API_TOKEN: 'secret-token' })).toEqual({
      zoneId: ZONE,
      apiToken: 'secret-token',
      apiBase: DEFAULT_CF_API_BASE,
      plan: 'free',
      limits: ZONE_PLAN_LIMITS.free,
      timeoutMs: 10_000,
    });
  });

  it('takes the plan, and a base URL without its trailing slash', () => {
    const config = zoneConfigFor({
      CF_ZONE_ID: ZONE,
      CF_API_TOKEN: 't',
      CF_ZONE_PLAN: 'business',
      CF_API_BASE: 'http://127.0.0.1:4321/client/v4/',
    });
    expect(config?.apiBase).toBe('http://127.0.0.1:4321/client/v4');
    expect(config?.limits).toEqual({ ratePerSecond: 10, burst: 50, itemsPerCall: 100 });
  });

  it.each([
    'example.com',
    '023E105F4ECEF8AD9CA31A8372D0C353',
    '023e105f4ecef8ad9ca31a8372d0c35',
    'zone-test-1',
  ])('refuses zone id %j', (id) => {
    expect(() => zoneConfigFor({ CF_ZONE_ID: id, CF_API_TOKEN: 't' })).toThrow(
      "CF_ZONE_ID must be the zone's id (32 lowercase hex digits)",
    );
  });

  it('refuses a token with whitespace without echoing it', () => {
    const secret = 'abc def-SECRET';
    expect(() => zoneConfigFor({ CF_ZONE_ID: ZONE, CF_API_TOKEN: secret })).toThrow(
      /CF_API_TOKEN must be/,
    );
    try {
      zoneConfigFor({ CF_ZONE_ID: ZONE, CF_API_TOKEN: secret });
    } catch (err) {
      expect(String(err)).not.toContain('SECRET');
    }
  });

  it.each([
    'http://api.example.com/client/v4',
    'ftp://127.0.0.1/x',
    'not a url',
    'https://user:pw@api.example.com/',
    'https://api.example.com/?x=1',
  ])('refuses CF_API_BASE %j (the token must not cross a network in clear)', (base) => {
    expect(() => zoneConfigFor({ CF_ZONE_ID: ZONE, CF_API_TOKEN: 't', CF_API_BASE: base })).toThrow(
      /CF_API_BASE must be/,
    );
  });

  it('refuses a bad plan with the plan error', () => {
    expect(() =>
      zoneConfigFor({ CF_ZONE_ID: ZONE, CF_API_TOKEN: 't', CF_ZONE_PLAN: 'gold' }),
    ).toThrow('CF_ZONE_PLAN must be one of');
  });

  it('parses each env object once', () => {
    const env = { CF_ZONE_ID: ZONE, CF_API_TOKEN: 't' };
    expect(zoneConfigFor(env)).toBe(zoneConfigFor(env));
  });
});

/**
 * `configFor` (src/env.ts): defaults, bounds, deploy errors and the WeakMap
 * cache that keeps the hot path from re-parsing `env`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Config, configFor, type Env } from '../../src/env.ts';
import { formatHlc, parseHlc } from '../../src/hlc.ts';
import { LIMITS } from '../../src/limits.ts';
import { DEFAULT_POLICY } from '../../src/policy/index.ts';

type Vars = Partial<Omit<Env, 'SHARD' | 'KEYS' | 'METRICS' | 'PURGE'>>;
/** configFor reads only the string variables; the Durable Object bindings are not touched. */
const envOf = (vars: Vars = {}): Env => ({ ...vars }) as unknown as Env;

const DEFAULTS: Config = {
  region: 'local',
  shards: 8,
  shardByteBudget: 64 * 1024 * 1024,
  maxValueBytes: LIMITS.defaultValueBytes,
  defaultTtl: 3600,
  l1MaxTtl: 60,
  l3TimeoutMs: 1000,
  authCacheTtl: 10,
  evictionPolicy: DEFAULT_POLICY,
  namespacePolicies: {},
  namespacePriorities: {},
  l0MaxBytes: 0,
  l0MaxTtl: 5,
  l0Policy: DEFAULT_POLICY,
  peers: {},
  regions: ['local'],
  locationHint: undefined,
  antiEntropyIntervalMs: 300_000,
  tombstoneGraceMs: 3_600_000,
  defaultConsistency: 'eventual',
  namespaceConsistency: {},
  homeRegion: 'local',
  namespaceHomes: {},
  quorumTimeoutMs: 2000,
  peerTimeoutMs: 5000,
  purgeFeedMs: 1000,
};

// [variable, Config field, min, max]
const BOUNDS = [
  ['SHARDS', 'shards', 1, 4096],
  ['SHARD_BYTE_BUDGET', 'shardByteBudget', 1024, 10 * 1024 ** 3],
  ['MAX_VALUE_BYTES', 'maxValueBytes', 1, LIMITS.hardMaxValueBytes],
  ['DEFAULT_TTL', 'defaultTtl', LIMITS.minTtl, LIMITS.maxTtl],
  ['L1_MAX_TTL', 'l1MaxTtl', 0, LIMITS.maxTtl],
  ['L3_TIMEOUT_MS', 'l3TimeoutMs', 10, 60_000],
  ['AUTH_CACHE_TTL', 'authCacheTtl', 0, 3600],
] as const satisfies readonly (readonly [keyof Vars, keyof Config, number, number])[];

describe('configFor defaults', () => {
  it('uses the documented default for every unset variable', () => {
    expect(configFor(envOf())).toEqual(DEFAULTS);
  });

  it.each(BOUNDS)('treats an empty %s as unset', (name, field) => {
    expect(configFor(envOf({ [name]: '' }))[field]).toBe(DEFAULTS[field]);
  });

  it('ignores the secrets and auth variables it does not parse', () => {
    const env = envOf({
      UPSTASH_REDIS_REST_TOKEN: 'secret',
      JWT_ALGORITHMS: '??',
      STRATA_ADMIN_KEY: '',
    });
    expect(configFor(env)).toEqual(DEFAULTS);
  });
});

describe('configFor bounds', () => {
  const rows = BOUNDS.flatMap(([name, field, min, max]) => [
    { name, field, raw: String(min), expected: min },
    { name, field, raw: String(max), expected: max },
  ]);
  it.each(rows)('accepts $name=$raw (a bound)', ({ name, field, raw, expected }) => {
    expect(configFor(envOf({ [name]: raw }))[field]).toBe(expected);
  });

  const bad = BOUNDS.flatMap(([name, , min, max]) =>
    [String(min - 1), String(max + 1), '1.5', 'abc', '-', 'NaN', 'Infinity', '10 s', '1,000'].map(
      (raw) => ({ name, raw }),
    ),
  );
  it.each(bad)('rejects $name=$raw, naming the variable and its range', ({ name, raw }) => {
    expect(() => configFor(envOf({ [name]: raw }))).toThrow(
      new RegExp(`^${name} must be an integer in \\[`),
    );
  });

  it('accepts every integer inside each range and nothing outside it', () => {
    const caseArb = fc
      .constantFrom(...BOUNDS)
      .chain((bound) =>
        fc.tuple(
          fc.constant(bound),
          fc.integer({ min: bound[2], max: bound[3] }),
          fc.integer({ min: 1, max: 1e9 }),
        ),
      );
    fc.assert(
      fc.property(caseArb, ([[name, field, min, max], inside, beyond]) => {
        expect(configFor(envOf({ [name]: String(inside) }))[field]).toBe(inside);
        expect(() => configFor(envOf({ [name]: String(min - beyond) }))).toThrow(name);
        expect(() => configFor(envOf({ [name]: String(max + beyond) }))).toThrow(name);
      }),
    );
  });

  // Regression: `Number(raw)` read a blank string as 0, so `L1_MAX_TTL = " "`
  // silently became 0 (L1 off) while `""` meant the default (60). Only plain
  // decimal digits are integers now; a blank value is malformed, never zero.
  it.each(['L1_MAX_TTL', 'AUTH_CACHE_TTL'] as const)(
    'rejects a blank %s instead of reading it as 0',
    (name) => {
      expect(() => configFor(envOf({ [name]: ' ' }))).toThrow(name);
    },
  );

  const nonDecimal = ['0x10', '1e3', '+8', ' 8', '8 ', '8.0', '0b11', '0o7', '\t', '\n8', '٣'];
  it.each(nonDecimal.flatMap((raw) => BOUNDS.map(([name]) => ({ name, raw }))))(
    'rejects the non-decimal spelling $name=$raw',
    ({ name, raw }) => {
      expect(() => configFor(envOf({ [name]: raw }))).toThrow(name);
    },
  );
});

describe('configFor REGION', () => {
  it.each(['local', 'us-east', 'eu-west-2', 'a', '0', 'a-', 'r'.repeat(32)])(
    'accepts %j',
    (region) => {
      expect(configFor(envOf({ REGION: region })).region).toBe(region);
    },
  );

  it.each([
    '',
    'US-EAST',
    'us_east',
    '-us',
    'us east',
    'us:east',
    'r'.repeat(33),
    'région',
    'us-east\n',
  ])('rejects %j', (region) => {
    expect(() => configFor(envOf({ REGION: region }))).toThrow(/^REGION must match/);
  });

  it('accepts exactly the regions an HLC version can carry (versions must parse back)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,34}$/), fc.string({ maxLength: 34 })),
        (region) => {
          let accepted = true;
          try {
            configFor(envOf({ REGION: region }));
          } catch {
            accepted = false;
          }
          expect(parseHlc(formatHlc({ wall: 1, counter: 0, region })) !== null).toBe(accepted);
        },
      ),
    );
  });
});

describe('configFor caching', () => {
  it('returns the same Config object for the same env object', () => {
    const env = envOf({ SHARDS: '4' });
    const first = configFor(env);
    expect(configFor(env)).toBe(first);
  });

  it('parses once per env: later changes to that object are not seen', () => {
    const env = envOf({ SHARDS: '4' }) as unknown as Record<string, string>;
    const first = configFor(env as unknown as Env);
    env.SHARDS = '16';
    env.REGION = 'NOT VALID';
    expect(configFor(env as unknown as Env)).toBe(first);
    expect(first.shards).toBe(4);
  });

  it('gives a different env object its own Config, even with equal values', () => {
    const a = configFor(envOf({ SHARDS: '4' }));
    const b = configFor(envOf({ SHARDS: '4' }));
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    expect(configFor(envOf({ SHARDS: '5' })).shards).toBe(5);
  });

  it('does not cache a failure: fixing the env object makes the next call succeed', () => {
    const env = envOf({ SHARDS: '0' }) as unknown as Record<string, string>;
    expect(() => configFor(env as unknown as Env)).toThrow(/SHARDS/);
    expect(() => configFor(env as unknown as Env)).toThrow(/SHARDS/);
    env.SHARDS = '2';
    expect(configFor(env as unknown as Env).shards).toBe(2);
  });
});

describe('configFor eviction settings', () => {
  it('reads per-namespace policies and priorities', () => {
    const config = configFor(
      envOf({
        EVICTION_POLICY: 'lru',
        NAMESPACE_POLICIES: '{"models":"lru"}',
        NAMESPACE_PRIORITIES: '{"models":3}',
      }),
    );
    expect(config.evictionPolicy).toBe('lru');
    expect(config.namespacePolicies).toEqual({ models: 'lru' });
    expect(config.namespacePriorities).toEqual({ models: 3 });
  });

  it.each([
    ['EVICTION_POLICY', 'nope'],
    ['NAMESPACE_POLICIES', '{"models":"nope"}'],
    ['NAMESPACE_POLICIES', '["lru"]'],
    ['NAMESPACE_POLICIES', '{"Bad NS":"lru"}'],
    ['NAMESPACE_POLICIES', 'not json'],
    ['NAMESPACE_PRIORITIES', '{"models":4}'],
    ['NAMESPACE_PRIORITIES', '{"models":"high"}'],
  ] as const)('rejects %s=%s naming the variable', (name, value) => {
    expect(() => configFor(envOf({ [name]: value }))).toThrow(name);
  });
});

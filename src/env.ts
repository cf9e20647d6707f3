/**
 * The Worker's bindings, and the typed configuration derived from them.
 *
 * `configFor(env)` validates every variable once per `env` object and caches
 * the result in a WeakMap, so the hot path never re-parses strings.
 */
import type { KeysDO } from '../durable-objects/keys.ts';
import type { MetricsDO } from '../durable-objects/metrics.ts';
import type { ShardDO } from '../durable-objects/shard.ts';
import { LIMITS } from './limits.ts';

export interface Env {
  SHARD: DurableObjectNamespace<ShardDO>;
  KEYS: DurableObjectNamespace<KeysDO>;
  METRICS: DurableObjectNamespace<MetricsDO>;
  REGION?: string;
  SHARDS?: string;
  SHARD_BYTE_BUDGET?: string;
  MAX_VALUE_BYTES?: string;
  DEFAULT_TTL?: string;
  L1_MAX_TTL?: string;
  L3_TIMEOUT_MS?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  STRATA_ADMIN_KEY?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  JWT_SECRET?: string;
  JWT_PUBLIC_KEY?: string;
  JWT_JWKS_URL?: string;
  JWT_ALGORITHMS?: string;
  AUTH_CACHE_TTL?: string;
}

/** Typed, validated configuration. */
export interface Config {
  region: string;
  shards: number;
  shardByteBudget: number;
  maxValueBytes: number;
  defaultTtl: number;
  l1MaxTtl: number;
  l3TimeoutMs: number;
  /** Seconds an isolate may reuse a looked-up API key record. */
  authCacheTtl: number;
}

const configs = new WeakMap<object, Config>();

/** Parses `env` into a `Config`; throws on a malformed variable (a deploy error, not a request error). */
export function configFor(env: Env): Config {
  const cached = configs.get(env);
  if (cached) return cached;
  const config: Config = {
    region: parseRegion(env.REGION ?? 'local'),
    shards: int('SHARDS', env.SHARDS, 8, 1, 4096),
    shardByteBudget: int(
      'SHARD_BYTE_BUDGET',
      env.SHARD_BYTE_BUDGET,
      64 * 1024 * 1024,
      1024,
      10 * 1024 ** 3,
    ),
    maxValueBytes: int(
      'MAX_VALUE_BYTES',
      env.MAX_VALUE_BYTES,
      LIMITS.defaultValueBytes,
      1,
      LIMITS.hardMaxValueBytes,
    ),
    defaultTtl: int('DEFAULT_TTL', env.DEFAULT_TTL, 3600, LIMITS.minTtl, LIMITS.maxTtl),
    l1MaxTtl: int('L1_MAX_TTL', env.L1_MAX_TTL, 60, 0, LIMITS.maxTtl),
    l3TimeoutMs: int('L3_TIMEOUT_MS', env.L3_TIMEOUT_MS, 1000, 10, 60_000),
    authCacheTtl: int('AUTH_CACHE_TTL', env.AUTH_CACHE_TTL, 10, 0, 3600),
  };
  configs.set(env, config);
  return config;
}

function int(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw === '') return fallback;
  // Plain decimal digits only: Number() would read ' ' as 0 and accept '0x10' or '1e3'.
  const n = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseRegion(raw: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(raw)) {
    throw new Error(`REGION must match [a-z0-9][a-z0-9-]{0,31}, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

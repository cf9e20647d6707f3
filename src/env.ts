/**
 * The Worker's bindings, and the typed configuration derived from them.
 *
 * `configFor(env)` validates every variable once per `env` object and caches
 * the result in a WeakMap, so the hot path never re-parses strings.
 */
import type { KeysDO } from '../durable-objects/keys.ts';
import type { MetricsDO } from '../durable-objects/metrics.ts';
import type { PurgeDO } from '../durable-objects/purge.ts';
import type { ShardDO } from '../durable-objects/shard.ts';
import { LIMITS } from './limits.ts';
import { DEFAULT_POLICY, POLICIES } from './policy/index.ts';

export interface Env {
  SHARD: DurableObjectNamespace<ShardDO>;
  KEYS: DurableObjectNamespace<KeysDO>;
  METRICS: DurableObjectNamespace<MetricsDO>;
  PURGE: DurableObjectNamespace<PurgeDO>;
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
  EVICTION_POLICY?: string;
  L0_MAX_BYTES?: string;
  L0_MAX_TTL?: string;
  L0_POLICY?: string;
  NAMESPACE_POLICIES?: string;
  NAMESPACE_PRIORITIES?: string;
  PEERS?: string;
  REPLICATION_KEY_ID?: string;
  REPLICATION_PRIVATE_KEY?: string;
  REPLICATION_PUBLIC_KEYS?: string;
  LOCATION_HINT?: string;
  ANTI_ENTROPY_INTERVAL?: string;
  TOMBSTONE_GRACE?: string;
  DEFAULT_CONSISTENCY?: string;
  NAMESPACE_CONSISTENCY?: string;
  HOME_REGION?: string;
  NAMESPACE_HOMES?: string;
  QUORUM_TIMEOUT_MS?: string;
  PEER_TIMEOUT_MS?: string;
  /** Milliseconds an isolate reuses its view of the namespaces' L1 generations (README "Purge"). */
  PURGE_FEED_MS?: string;
  /** The local stack's webhook secret (`whsec_...`), for the `default` endpoint. */
  STRATA_WEBHOOK_SECRET?: string;
  /** Webhook endpoints: JSON, see src/webhooks/config.ts. */
  WEBHOOK_ENDPOINTS?: string;
  /** Cloudflare zone purge (optional): zone id, API token, API base URL, plan. */
  CF_ZONE_ID?: string;
  CF_API_TOKEN?: string;
  CF_API_BASE?: string;
  CF_ZONE_PLAN?: string;
  /** Proxy mode (src/proxy/config.ts): on when ORIGIN_URL is set. */
  ORIGIN_URL?: string;
  API_PREFIX?: string;
  PROXY_NAMESPACE?: string;
  PROXY_ORIGIN_TIMEOUT_MS?: string;
  PROXY_MAX_BODY_BYTES?: string;
  PROXY_KEEP_STALE?: string;
  PROXY_EXPOSE_TAGS?: string;
  PROXY_MAX_HEURISTIC?: string;
  PROXY_PASS_TTL?: string;
}

/** How a namespace's writes and reads are coordinated across regions (README "Consistency"). */
export type Consistency = 'eventual' | 'quorum' | 'strong';
export const CONSISTENCY_LEVELS: readonly Consistency[] = ['eventual', 'quorum', 'strong'];

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
  /** Eviction policy for namespaces not listed in `namespacePolicies`. */
  evictionPolicy: string;
  /** Per-namespace eviction policy names. */
  namespacePolicies: Readonly<Record<string, string>>;
  /** Per-namespace default priority class (0–3) for entries without `Cache-Priority`. */
  namespacePriorities: Readonly<Record<string, number>>;
  /** Bytes of the in-isolate hot set; 0 disables L0. */
  l0MaxBytes: number;
  /** Seconds an L0 copy may live. */
  l0MaxTtl: number;
  /** Policy of the hot set. */
  l0Policy: string;
  /** The other regions, name → base URL (no trailing slash). Empty: a single region. */
  peers: Readonly<Record<string, string>>;
  /** Every region, this one included, sorted by name. */
  regions: readonly string[];
  /** Durable Object location hint for this region's shards, if any. */
  locationHint: DurableObjectLocationHint | undefined;
  /** Milliseconds between anti-entropy rounds per shard; 0 disables them. */
  antiEntropyIntervalMs: number;
  /** Milliseconds a tombstone is kept at least (and until every peer acknowledged it). */
  tombstoneGraceMs: number;
  defaultConsistency: Consistency;
  namespaceConsistency: Readonly<Record<string, Consistency>>;
  /** Home region of `strong` namespaces not listed in `namespaceHomes`. */
  homeRegion: string;
  namespaceHomes: Readonly<Record<string, string>>;
  /** How long a `quorum` write waits for peers' acknowledgements. */
  quorumTimeoutMs: number;
  /** Deadline of one region-to-region request. */
  peerTimeoutMs: number;
  /** Milliseconds an isolate may use its view of L1 generations before asking again. */
  purgeFeedMs: number;
}

const LOCATION_HINTS = ['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'] as const;

const configs = new WeakMap<object, Config>();

/** Parses `env` into a `Config`; throws on a malformed variable (a deploy error, not a request error). */
export function configFor(env: Env): Config {
  const cached = configs.get(env);
  if (cached) return cached;
  const region = parseRegion(env.REGION ?? 'local');
  const config: Config = {
    region,
    ...regionConfig(env, region),
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
    evictionPolicy: policyName('EVICTION_POLICY', env.EVICTION_POLICY ?? DEFAULT_POLICY),
    l0MaxBytes: int('L0_MAX_BYTES', env.L0_MAX_BYTES, 0, 0, 256 * 1024 * 1024),
    l0MaxTtl: int('L0_MAX_TTL', env.L0_MAX_TTL, 5, 1, 60),
    l0Policy: policyName('L0_POLICY', env.L0_POLICY ?? DEFAULT_POLICY),
    namespacePolicies: namespaceMap('NAMESPACE_POLICIES', env.NAMESPACE_POLICIES, (v, where) =>
      policyName(where, v),
    ),
    namespacePriorities: namespaceMap(
      'NAMESPACE_PRIORITIES',
      env.NAMESPACE_PRIORITIES,
      (v, where) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 3) {
          throw new Error(`${where} must be an integer priority 0-3`);
        }
        return v;
      },
    ),
  };
  configs.set(env, config);
  return config;
}

/** The multi-region part of the configuration. */
function regionConfig(env: Env, region: string) {
  const peers = regionMap('PEERS', env.PEERS, (v, where) => {
    if (typeof v !== 'string' || !/^https?:\/\/[^\s]+$/.test(v))
      throw new Error(`${where} must be an http(s) base URL`);
    return v.replace(/\/+$/, '');
  });
  delete peers[region];
  const regions = [region, ...Object.keys(peers)].sort();
  const level = (where: string, v: unknown): Consistency => {
    if (typeof v !== 'string' || !(CONSISTENCY_LEVELS as readonly string[]).includes(v))
      throw new Error(`${where} must be one of ${CONSISTENCY_LEVELS.join(', ')}`);
    return v as Consistency;
  };
  const known = (where: string, v: unknown): string => {
    if (typeof v !== 'string' || !regions.includes(v))
      throw new Error(`${where} must name a region (${regions.join(', ')})`);
    return v;
  };
  const hint = env.LOCATION_HINT;
  if (hint !== undefined && hint !== '' && !(LOCATION_HINTS as readonly string[]).includes(hint))
    throw new Error(`LOCATION_HINT must be one of ${LOCATION_HINTS.join(', ')}`);
  return {
    peers,
    regions,
    locationHint: hint ? (hint as DurableObjectLocationHint) : undefined,
    antiEntropyIntervalMs:
      int('ANTI_ENTROPY_INTERVAL', env.ANTI_ENTROPY_INTERVAL, 300, 0, 86_400) * 1000,
    tombstoneGraceMs: int('TOMBSTONE_GRACE', env.TOMBSTONE_GRACE, 3600, 1, 30 * 86_400) * 1000,
    defaultConsistency: level('DEFAULT_CONSISTENCY', env.DEFAULT_CONSISTENCY || 'eventual'),
    namespaceConsistency: namespaceMap('NAMESPACE_CONSISTENCY', env.NAMESPACE_CONSISTENCY, (v, w) =>
      level(w, v),
    ),
    // The default home is the first region by name: the same answer in every region.
    homeRegion: known('HOME_REGION', env.HOME_REGION || regions[0]),
    namespaceHomes: namespaceMap('NAMESPACE_HOMES', env.NAMESPACE_HOMES, (v, w) => known(w, v)),
    quorumTimeoutMs: int('QUORUM_TIMEOUT_MS', env.QUORUM_TIMEOUT_MS, 2000, 10, 60_000),
    peerTimeoutMs: int('PEER_TIMEOUT_MS', env.PEER_TIMEOUT_MS, 5000, 10, 60_000),
    purgeFeedMs: int('PURGE_FEED_MS', env.PURGE_FEED_MS, 1000, 0, 60_000),
  };
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

function policyName(where: string, name: unknown): string {
  if (typeof name !== 'string' || !(name in POLICIES)) {
    throw new Error(
      `${where} must name a policy (${Object.keys(POLICIES).join(', ')}), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** Parses a JSON object keyed by namespace, e.g. `{"models":"priority"}`. */
function namespaceMap<T>(
  name: string,
  raw: string | undefined,
  value: (v: unknown, where: string) => T,
): Record<string, T> {
  return jsonMap(
    name,
    raw,
    'namespace',
    (ns) => {
      if (!LIMITS.namespacePattern.test(ns))
        throw new Error(`${name}: "${ns}" is not a valid namespace`);
      return ns;
    },
    value,
  );
}

/** Parses a JSON object keyed by region name, e.g. PEERS. */
function regionMap<T>(
  name: string,
  raw: string | undefined,
  value: (v: unknown, where: string) => T,
): Record<string, T> {
  return jsonMap(name, raw, 'region', parseRegion, value);
}

/** A JSON object from a variable, each key checked by `key` and each value by `value`; `{}` when unset. */
function jsonMap<T>(
  name: string,
  raw: string | undefined,
  keyedBy: string,
  key: (k: string) => string,
  value: (v: unknown, where: string) => T,
): Record<string, T> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${name} must be a JSON object keyed by ${keyedBy}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${name} must be a JSON object keyed by ${keyedBy}`);
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(parsed)) out[key(k)] = value(v, `${name}.${k}`);
  return out;
}

function parseRegion(raw: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(raw)) {
    throw new Error(`REGION must match [a-z0-9][a-z0-9-]{0,31}, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

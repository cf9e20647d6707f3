/**
 * Proxy mode's configuration (README "Proxy mode"), validated once per
 * `env` like `configFor`. Proxy mode is on when `ORIGIN_URL` is set.
 *
 * | variable                  | default      | meaning |
 * |---------------------------|--------------|---------|
 * | `ORIGIN_URL`              | (off)        | http(s) origin, optionally with a base path |
 * | `API_PREFIX`              | `/v1`        | where the key API lives; every other path is proxied |
 * | `PROXY_NAMESPACE`         | `proxy`      | the namespace proxied responses are stored (and purged) in |
 * | `PROXY_ORIGIN_TIMEOUT_MS` | `10000`      | origin deadline for the response head; then 504 |
 * | `PROXY_MAX_BODY_BYTES`    | `MAX_VALUE_BYTES` | larger responses are streamed, not stored |
 * | `PROXY_KEEP_STALE`        | `86400`      | seconds a stale response with a validator is kept for revalidation |
 * | `PROXY_EXPOSE_TAGS`       | `false`      | pass `Cache-Tag`/`Surrogate-Key` on to clients |
 * | `PROXY_MAX_HEURISTIC`     | `86400`      | cap, in seconds, of heuristic freshness (10% of the age since `Last-Modified`) |
 * | `PROXY_PASS_TTL`          | `30`         | seconds a data centre sends an uncacheable URL straight to the origin (0: never) |
 *
 * @example
 * proxyConfigFor({ ORIGIN_URL: 'https://api.example.com/base' }, config)?.origin.href;
 */
import type { Config, Env } from '../env.ts';
import type { FreshnessRules } from '../http/freshness.ts';
import { LIMITS } from '../limits.ts';

export interface ProxyConfig {
  /** The origin's scheme, host and port (`https://api.example.com`). */
  origin: URL;
  /** The origin's base path without a trailing slash (`''` or `/base`). */
  basePath: string;
  /** Path prefix of the key API (`/v1`), without a trailing slash. */
  apiPrefix: string;
  namespace: string;
  originTimeoutMs: number;
  maxBodyBytes: number;
  keepStaleSeconds: number;
  /** Seconds of hit-for-pass after an uncacheable response; 0 disables it. */
  passSeconds: number;
  exposeTags: boolean;
  rules: FreshnessRules;
}

/** Paths that are never proxied: region-to-region traffic and the operational endpoints. */
export const RESERVED_PATHS = ['/internal/', '/healthz', '/metrics'];

const configs = new WeakMap<object, ProxyConfig | null>();

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number) {
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return n;
}

/** The proxy configuration, or null when `ORIGIN_URL` is unset; throws on a malformed variable. */
export function proxyConfigFor(env: Env, config: Config): ProxyConfig | null {
  const cached = configs.get(env);
  if (cached !== undefined) return cached;
  let result: ProxyConfig | null = null;
  if (env.ORIGIN_URL) {
    let origin: URL;
    try {
      origin = new URL(env.ORIGIN_URL);
    } catch {
      throw new Error(
        `ORIGIN_URL must be an absolute http(s) URL, got ${JSON.stringify(env.ORIGIN_URL)}`,
      );
    }
    if (origin.protocol !== 'https:' && origin.protocol !== 'http:')
      throw new Error('ORIGIN_URL must be http or https');
    if (origin.search || origin.hash || origin.username || origin.password)
      throw new Error('ORIGIN_URL takes no query, fragment or credentials');
    const apiPrefix = (env.API_PREFIX || '/v1').replace(/\/+$/, '');
    if (!/^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/.test(apiPrefix))
      throw new Error(`API_PREFIX must be a path like /v1, got ${JSON.stringify(env.API_PREFIX)}`);
    const namespace = env.PROXY_NAMESPACE || 'proxy';
    if (!LIMITS.namespacePattern.test(namespace))
      throw new Error(
        `PROXY_NAMESPACE must be a valid namespace, got ${JSON.stringify(namespace)}`,
      );
    if (!['', 'true', 'false', undefined].includes(env.PROXY_EXPOSE_TAGS))
      throw new Error('PROXY_EXPOSE_TAGS must be true or false');
    result = {
      origin,
      basePath: origin.pathname.replace(/\/+$/, ''),
      apiPrefix,
      namespace,
      originTimeoutMs: int(
        'PROXY_ORIGIN_TIMEOUT_MS',
        env.PROXY_ORIGIN_TIMEOUT_MS,
        10_000,
        100,
        120_000,
      ),
      maxBodyBytes: int(
        'PROXY_MAX_BODY_BYTES',
        env.PROXY_MAX_BODY_BYTES,
        config.maxValueBytes,
        0,
        LIMITS.hardMaxValueBytes,
      ),
      keepStaleSeconds: int('PROXY_KEEP_STALE', env.PROXY_KEEP_STALE, 86_400, 0, LIMITS.maxTtl),
      passSeconds: int('PROXY_PASS_TTL', env.PROXY_PASS_TTL, 30, 0, 3600),
      exposeTags: env.PROXY_EXPOSE_TAGS === 'true',
      rules: {
        heuristicFraction: 0.1,
        maxHeuristicSeconds: int(
          'PROXY_MAX_HEURISTIC',
          env.PROXY_MAX_HEURISTIC,
          86_400,
          0,
          LIMITS.maxTtl,
        ),
      },
    };
  }
  configs.set(env, result);
  return result;
}

/** The origin URL for a normalised target (path and query), under the origin's base path. */
export function originUrlFor(proxy: ProxyConfig, target: string): string {
  return `${proxy.origin.origin}${proxy.basePath}${target}`;
}

/** True when a path belongs to the API or the reserved endpoints rather than the origin. */
export function isApiPath(proxy: ProxyConfig, path: string): boolean {
  if (path === proxy.apiPrefix || path.startsWith(`${proxy.apiPrefix}/`)) return true;
  return RESERVED_PATHS.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
}

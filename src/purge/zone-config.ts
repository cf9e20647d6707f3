/**
 * Configuration of the optional Cloudflare zone purge: with `CF_ZONE_ID` and
 * `CF_API_TOKEN` set, every tag purge Strata accepts is also sent to
 * `POST {CF_API_BASE}/zones/{CF_ZONE_ID}/purge_cache` (README "Purge").
 * Pure; no runtime imports.
 *
 * The zone id is checked strictly, as Cloudflare issues it: 32 lowercase hex
 * digits (the zone's Overview page, "Zone ID"). A domain name or an account id
 * in its place is the usual mistake, and it is caught at start-up rather than
 * at the first purge. The local API stand-in (scripts/lib/zone-api-stand-in.ts)
 * uses ids of the same shape, so there is no lenient mode.
 */
import { parseZonePlan, ZONE_PLAN_LIMITS, type ZoneLimits, type ZonePlan } from './zone-limits.ts';

export const DEFAULT_CF_API_BASE = 'https://api.cloudflare.com/client/v4';

/** Deadline of one purge call. */
export const DEFAULT_ZONE_TIMEOUT_MS = 10_000;

/** The variables `zoneConfigFor` reads (a subset of the Worker's `Env`). */
export interface ZoneEnv {
  CF_ZONE_ID?: string;
  CF_API_TOKEN?: string;
  CF_API_BASE?: string;
  CF_ZONE_PLAN?: string;
}

/** A validated zone purge configuration. */
export interface ZoneConfig {
  zoneId: string;
  /** Bearer token with the Zone › Cache Purge permission. Never logged or stored. */
  apiToken: string;
  /** API base URL without a trailing slash. */
  apiBase: string;
  plan: ZonePlan;
  /** The plan's limits; tests may pass smaller ones. */
  limits: ZoneLimits;
  /** Deadline of one purge call, in milliseconds. */
  timeoutMs: number;
}

const ZONE_ID = /^[0-9a-f]{32}$/;
/** Visible ASCII only: the token goes into a header, and whitespace there is a paste error. */
const TOKEN = /^[\x21-\x7e]{1,512}$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const configs = new WeakMap<object, { config: ZoneConfig | null }>();

/**
 * The zone purge configuration, or null when zone purge is off (neither
 * `CF_ZONE_ID` nor `CF_API_TOKEN` set). Throws on a malformed variable or on
 * only one of the two being set: a deploy error, named without echoing the token.
 * Cached per `env` object.
 * @example
 * zoneConfigFor({ CF_ZONE_ID: '023e105f4ecef8ad9ca31a8372d0c353', CF_API_TOKEN: 'token', CF_ZONE_PLAN: 'pro' });
 * // { zoneId: '023e…', apiBase: 'https://api.cloudflare.com/client/v4', plan: 'pro',
 * //   limits: { ratePerSecond: 5, burst: 25, itemsPerCall: 100 }, timeoutMs: 10000, apiToken: 'token' }
 */
export function zoneConfigFor(env: ZoneEnv): ZoneConfig | null {
  const cached = configs.get(env);
  if (cached) return cached.config;
  const config = parseZoneConfig(env);
  configs.set(env, { config });
  return config;
}

function parseZoneConfig(env: ZoneEnv): ZoneConfig | null {
  const zoneId = env.CF_ZONE_ID?.trim() ?? '';
  const apiToken = env.CF_API_TOKEN ?? '';
  if (zoneId === '' && apiToken === '') return null;
  if (zoneId === '')
    throw new Error('CF_API_TOKEN is set but CF_ZONE_ID is not: set both, or neither');
  if (apiToken === '')
    throw new Error('CF_ZONE_ID is set but CF_API_TOKEN is not: set both, or neither');
  if (!ZONE_ID.test(zoneId)) {
    throw new Error(
      `CF_ZONE_ID must be the zone's id (32 lowercase hex digits), got ${JSON.stringify(zoneId)}`,
    );
  }
  if (!TOKEN.test(apiToken)) {
    throw new Error('CF_API_TOKEN must be 1-512 visible ASCII characters (no spaces or newlines)');
  }
  const plan = parseZonePlan(env.CF_ZONE_PLAN);
  return {
    zoneId,
    apiToken,
    apiBase: parseApiBase(env.CF_API_BASE),
    plan,
    limits: ZONE_PLAN_LIMITS[plan],
    timeoutMs: DEFAULT_ZONE_TIMEOUT_MS,
  };
}

/** https anywhere; plain http only to this machine, so the token never crosses a network in clear. */
function parseApiBase(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return DEFAULT_CF_API_BASE;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error(`CF_API_BASE must be a URL, got ${JSON.stringify(raw)}`);
  }
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  if (!ok || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    // Echo scheme, host and path only: credentials in the URL stay out of logs.
    const shown = `${url.protocol}//${url.host}${url.pathname}`;
    throw new Error(
      `CF_API_BASE must be an https URL (http only for 127.0.0.1 or localhost) without query or credentials, got ${JSON.stringify(shown)}`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

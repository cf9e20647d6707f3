/**
 * `PUT|GET|HEAD|DELETE /v1/cache/:namespace/:key` — the key API.
 *
 * Routes validate input, authorise, call `TieredCache`, and translate the
 * result into HTTP; they never touch a tier. A key may contain `/`: it is
 * everything after the namespace segment, percent-decoded once.
 */

import type { Context } from 'hono';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { authorize } from '../auth/principal.ts';
import { cacheStatusFor, TieredCache } from '../cache.ts';
import { formatCacheStatus } from '../cache-status.ts';
import { systemClock } from '../clock.ts';
import { ageSeconds, remainingTtl } from '../entry.ts';
import type { Config } from '../env.ts';
import { configFor } from '../env.ts';
import { StrataError } from '../errors.ts';
import { isolateMetrics } from '../metrics/recorder.ts';
import { createPolicy } from '../policy/index.ts';
import { HotSet } from '../tiers/l0-hot-set.ts';
import { CacheApiTier } from '../tiers/l1-cache-api.ts';
import { ShardClient } from '../tiers/shard-client.ts';
import {
  parseCacheTags,
  parseContentType,
  parseCost,
  parseKey,
  parseNamespace,
  parsePriority,
  parseWriteCacheControl,
} from '../validation.ts';

export const cacheRoutes = new Hono<AppEnv>();

function cacheFor(c: Context<AppEnv>, config: Config): TieredCache {
  const l1 =
    config.l1MaxTtl > 0 ? new CacheApiTier(caches.default, systemClock, config.l1MaxTtl) : null;
  return new TieredCache(
    hotSetFor(c.env, config),
    l1,
    ShardClient.fromEnv(c.env, config),
    systemClock,
    (p) => c.executionCtx.waitUntil(p),
  );
}

/** One hot set per isolate (per `env`), when L0 is enabled. */
const hotSets = new WeakMap<object, HotSet>();

function hotSetFor(env: object, config: Config): HotSet | null {
  if (config.l0MaxBytes === 0) return null;
  let set = hotSets.get(env);
  if (!set) {
    set = new HotSet(
      createPolicy(config.l0Policy, { maxWeight: config.l0MaxBytes }),
      config.l0MaxTtl * 1000,
    );
    hotSets.set(env, set);
  }
  return set;
}

/** Namespace and key from the path, validated. */
function target(c: Context<AppEnv>): { namespace: string; key: string } {
  const namespace = parseNamespace(c.req.param('namespace') ?? '');
  let raw: string;
  try {
    raw = decodeURIComponent(c.req.param('key') ?? '');
  } catch {
    throw new StrataError('invalid-key', 'Key is not valid percent-encoded UTF-8.');
  }
  return { namespace, key: parseKey(raw) };
}

function recordL3(op: string, outcome: string): void {
  if (outcome === 'error') isolateMetrics.inc('strata_tier_errors_total', { tier: 'L3', op });
}

cacheRoutes.on(['GET', 'HEAD'], '/:namespace/:key{.+}', async (c) => {
  const { namespace, key } = target(c);
  authorize(c.get('principal'), 'read', namespace);
  const config = configFor(c.env);
  const result = await cacheFor(c, config).read(namespace, key);
  const now = Date.now();

  for (const tier of ['L0', 'L1', 'L2', 'L3'] as const) {
    if (tier === 'L0' && result.l0 === 'disabled') continue;
    if (tier === 'L1' && (result.l1 === 'disabled' || result.l1 === 'skipped')) continue;
    if (tier === 'L3' && result.l3 === 'skipped') continue;
    if (result.source === tier) {
      isolateMetrics.inc('strata_cache_lookups_total', { tier, result: 'hit' });
      break;
    }
    isolateMetrics.inc('strata_cache_lookups_total', { tier, result: 'miss' });
  }
  if (result.l1 === 'error')
    isolateMetrics.inc('strata_tier_errors_total', { tier: 'L1', op: 'read' });
  recordL3('read', result.l3);

  const headers = new Headers({ 'cache-status': formatCacheStatus(cacheStatusFor(result, now)) });
  const entry = result.entry;
  if (!entry) {
    throw new StrataError('not-found', `No entry for key in namespace "${namespace}".`, {
      headers: Object.fromEntries(headers),
    });
  }
  const etag = `"${entry.meta.version}"`;
  headers.set('etag', etag);
  headers.set('age', String(ageSeconds(entry.meta, now)));
  headers.set('cache-control', `private, max-age=${remainingTtl(entry.meta, now)}`);
  if (entry.meta.tags.length) headers.set('cache-tag', entry.meta.tags.join(','));
  if (matchesIfNoneMatch(c.req.header('if-none-match'), etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set('content-type', entry.meta.contentType);
  headers.set('content-length', String(entry.meta.size));
  return new Response(c.req.method === 'HEAD' ? null : entry.value, { status: 200, headers });
});

cacheRoutes.put('/:namespace/:key{.+}', async (c) => {
  const { namespace, key } = target(c);
  authorize(c.get('principal'), 'write', namespace);
  const config = configFor(c.env);
  // Validate every header before reading the body: a rejection stores nothing.
  const freshness = parseWriteCacheControl(c.req.header('cache-control'), config.defaultTtl);
  const tags = parseCacheTags(c.req.header('cache-tag'));
  const contentType = parseContentType(c.req.header('content-type'));
  const priority = parsePriority(c.req.header('cache-priority'));
  const cost = parseCost(c.req.header('cache-cost'));
  const value = await readBody(c.req.raw, config.maxValueBytes);

  const result = await cacheFor(c, config).write({
    namespace,
    key,
    value,
    contentType,
    tags,
    ttl: freshness.ttl,
    staleWhileRevalidate: freshness.staleWhileRevalidate,
    staleIfError: freshness.staleIfError,
    ...(priority !== undefined ? { priority } : {}),
    ...(cost !== undefined ? { cost } : {}),
  });
  isolateMetrics.inc('strata_cache_writes_total', { op: 'put' });
  recordL3('write', result.l3);
  return c.json(
    {
      namespace,
      key,
      version: result.meta.version,
      size: result.meta.size,
      expiresAt: new Date(result.meta.expiresAt).toISOString(),
      tags: result.meta.tags,
      tiers: { L2: result.storedInL2 ? 'stored' : 'not-kept', L3: l3Word(result.l3) },
    },
    201,
    { etag: `"${result.meta.version}"` },
  );
});

cacheRoutes.delete('/:namespace/:key{.+}', async (c) => {
  const { namespace, key } = target(c);
  authorize(c.get('principal'), 'write', namespace);
  const result = await cacheFor(c, configFor(c.env)).remove(namespace, key);
  isolateMetrics.inc('strata_cache_writes_total', { op: 'delete' });
  recordL3('delete', result.l3);
  return c.body(null, 204, { 'strata-l3': l3Word(result.l3) });
});

function l3Word(outcome: string): string {
  return outcome === 'ok' ? 'stored' : outcome === 'error' ? 'deferred' : 'not-configured';
}

/** Weak comparison of `If-None-Match` against our strong ETag (RFC 9110 §13.1.2). */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** Reads a request body of at most `limit` bytes; 413 past it, before buffering more than the limit. */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(limit: number): StrataError {
  return new StrataError('payload-too-large', `Values are limited to ${limit} bytes.`, {
    extensions: { limit },
  });
}

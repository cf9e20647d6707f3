/**
 * `PUT|GET|HEAD|DELETE /v1/cache/:namespace/:key` — the key API.
 *
 * Routes validate input, authorise, call `TieredCache`, and translate the
 * result into HTTP; they never touch a tier. A key may contain `/`: it is
 * everything after the namespace segment, percent-decoded once.
 */

import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ShardWrite, ShardWriteInput } from '../../durable-objects/shard.ts';
import type { AppEnv } from '../app-env.ts';
import { authorize } from '../auth/principal.ts';
import { base64ToBytes, bytesToBase64 } from '../base64.ts';
import { readUpTo } from '../body.ts';
import { cacheStatusFor, type ReadResult, TieredCache } from '../cache.ts';
import { formatCacheStatus } from '../cache-status.ts';
import { systemClock } from '../clock.ts';
import type { Entry, EntryMeta } from '../entry.ts';
import { ageSeconds, remainingTtl } from '../entry.ts';
import type { Config, Env } from '../env.ts';
import { configFor } from '../env.ts';
import { StrataError } from '../errors.ts';
import { shardFor } from '../hashing.ts';
import { isolateMetrics } from '../metrics/recorder.ts';
import { createPolicy } from '../policy/index.ts';
import { proxyConfigFor } from '../proxy/config.ts';
import { generationOf } from '../purge/generations.ts';
import {
  CONSISTENCY_HEADER,
  homeOf,
  parseConsistency,
  readLevel,
  writeLevel,
} from '../replication/consistency.ts';
import { forwardToHome, pushToQuorum } from '../replication/coordinator.ts';
import type { ReplicationEvent } from '../replication/events.ts';
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

export function cacheFor(c: Context<AppEnv>, config: Config): TieredCache {
  return tieredCache(c.env, (p) => c.executionCtx.waitUntil(p), config);
}

/** The tiers as this isolate sees them; `background` is `ctx.waitUntil`. */
export function tieredCache(
  env: Env,
  background: (work: Promise<unknown>) => void,
  config: Config,
): TieredCache {
  const l1 =
    config.l1MaxTtl > 0 ? new CacheApiTier(caches.default, systemClock, config.l1MaxTtl) : null;
  return new TieredCache(
    hotSetFor(env, config),
    l1,
    ShardClient.fromEnv(env, config),
    systemClock,
    background,
    (ns) => generationOf(env, config, ns),
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
  // Proxied responses live there: a key written through the API would be served to proxy clients.
  if (namespace === proxyConfigFor(c.env, configFor(c.env))?.namespace) {
    throw new StrataError(
      'forbidden',
      `Namespace "${namespace}" holds proxy mode's responses; the key API cannot read or write it (purge it with /v1/purge).`,
    );
  }
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
  const level = readLevel(config, namespace, parseConsistency(c.req.header(CONSISTENCY_HEADER)));
  const home = homeOf(config, namespace);
  const result =
    level !== 'strong'
      ? await cacheFor(c, config).read(namespace, key)
      : home === config.region
        ? await cacheFor(c, config).readShard(namespace, key)
        : readAnswer(
            await forwardToHome<StrongRead>(c.env, config, home, { op: 'read', namespace, key }),
          );
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

  const headers = new Headers({
    'cache-status': formatCacheStatus(cacheStatusFor(result, now)),
    'strata-consistency': level,
  });
  if (level === 'strong') headers.set('strata-home', home);
  const entry = result.entry;
  if (!entry) {
    throw new StrataError('not-found', `No entry for key in namespace "${namespace}".`, {
      headers: Object.fromEntries(headers),
    });
  }
  const etag = `"${entry.meta.version}"`;
  headers.set('etag', etag);
  headers.set('age', String(ageSeconds(entry.meta, now)));
  if (result.stale) {
    // Soft-purged: served stale; exactly one reader at a time is asked to refresh it (PUT).
    const left = Math.max(0, Math.floor((result.stale.until - now) / 1000));
    headers.set('cache-control', `private, max-age=0, stale-while-revalidate=${left}`);
    headers.set('strata-revalidate', result.stale.revalidate ? 'required' : 'in-progress');
  } else {
    headers.set('cache-control', `private, max-age=${remainingTtl(entry.meta, now)}`);
  }
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
  const level = writeLevel(config, namespace, parseConsistency(c.req.header(CONSISTENCY_HEADER)));
  const value = await readBody(c.req.raw, config.maxValueBytes);

  const input: ShardWriteInput = {
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
  };
  const cache = cacheFor(c, config);
  const headers: Record<string, string> = { 'strata-consistency': level };
  const home = homeOf(config, namespace);
  let result: ShardWrite;
  if (level === 'strong' && home !== config.region) {
    result = await forwardToHome<ShardWrite>(c.env, config, home, {
      op: 'write',
      input: { ...input, value: bytesToBase64(value) },
    });
    await cache.dropL1(namespace, key);
    headers['strata-home'] = home;
  } else {
    result = await cache.write(input);
    if (level === 'strong') headers['strata-home'] = home;
    if (level === 'quorum') {
      headers['strata-quorum'] = await awaitQuorum(c, config, {
        seq: 0,
        op: 'put',
        ns: namespace,
        key,
        version: result.meta.version,
        expiresAt: result.meta.expiresAt,
        meta: result.meta,
        value: bytesToBase64(value),
      });
    }
  }
  isolateMetrics.inc('strata_cache_writes_total', { op: 'put' });
  isolateMetrics.inc('strata_consistency_writes_total', { level, result: 'ok' });
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
    { ...headers, etag: `"${result.meta.version}"` },
  );
});

cacheRoutes.delete('/:namespace/:key{.+}', async (c) => {
  const { namespace, key } = target(c);
  authorize(c.get('principal'), 'write', namespace);
  const config = configFor(c.env);
  const level = writeLevel(config, namespace, parseConsistency(c.req.header(CONSISTENCY_HEADER)));
  const cache = cacheFor(c, config);
  const home = homeOf(config, namespace);
  const headers: Record<string, string> = { 'strata-consistency': level };
  let l3: string;
  if (level === 'strong' && home !== config.region) {
    const answer = await forwardToHome<{ l3: string }>(c.env, config, home, {
      op: 'delete',
      namespace,
      key,
    });
    l3 = answer.l3;
    await cache.dropL1(namespace, key);
    headers['strata-home'] = home;
  } else {
    const result = await cache.remove(namespace, key);
    l3 = result.l3;
    if (level === 'strong') headers['strata-home'] = home;
    if (level === 'quorum') {
      headers['strata-quorum'] = await awaitQuorum(c, config, {
        seq: 0,
        op: 'delete',
        ns: namespace,
        key,
        version: result.version,
        expiresAt: result.expiresAt,
      });
    }
  }
  isolateMetrics.inc('strata_cache_writes_total', { op: 'delete' });
  isolateMetrics.inc('strata_consistency_writes_total', { level, result: 'ok' });
  recordL3('delete', l3);
  return c.body(null, 204, { ...headers, 'strata-l3': l3Word(l3) });
});

/** What the home region answers to a forwarded `strong` read. */
export interface StrongRead {
  entry: { meta: EntryMeta; value: string } | null;
  l3: ReadResult['l3'];
  collapsed: boolean;
}

function readAnswer(answer: StrongRead): ReadResult {
  const entry: Entry | null = answer.entry
    ? { meta: answer.entry.meta, value: base64ToBytes(answer.entry.value) }
    : null;
  return {
    entry,
    source: entry ? 'L2' : null,
    l0: 'disabled',
    l1: 'skipped',
    l3: answer.l3,
    collapsed: answer.collapsed,
  };
}

/**
 * Pushes a write's event to the peers and waits for a majority of regions;
 * returns the `Strata-Quorum` header value (`acknowledged/regions`), or
 * throws 503 when the majority did not answer in time. The write is not
 * undone then: it stays stored here and reaches the others by the outbox.
 */
async function awaitQuorum(
  c: Context<AppEnv>,
  config: Config,
  event: ReplicationEvent,
): Promise<string> {
  const q = await pushToQuorum(c.env, config, shardFor(event.ns, event.key, config.shards), event);
  const header = `${q.acknowledged}/${q.regions}`;
  if (q.acknowledged < q.required) {
    isolateMetrics.inc('strata_consistency_writes_total', {
      level: 'quorum',
      result: 'quorum-not-reached',
    });
    throw new StrataError(
      'quorum-not-reached',
      `Only ${q.acknowledged} of ${q.regions} regions acknowledged the change in time (${q.required} needed). It is stored in this region and will still reach the others.`,
      {
        extensions: { acknowledged: q.acknowledged, required: q.required, failures: q.failures },
        headers: { 'strata-quorum': header },
      },
    );
  }
  return header;
}

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
  const bytes = await readUpTo(req.body, limit);
  if (bytes === null) throw tooLarge(limit);
  return bytes;
}

function tooLarge(limit: number): StrataError {
  return new StrataError('payload-too-large', `Values are limited to ${limit} bytes.`, {
    extensions: { limit },
  });
}

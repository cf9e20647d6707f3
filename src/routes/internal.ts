/**
 * `/internal/*`: region-to-region only. Every request carries a region token
 * (replication/signing.ts) bound to its body and to the route; API keys and
 * user JWTs are not accepted here, and a region without replication keys
 * answers 404 to everything under this prefix.
 *
 * - `POST /internal/replicate`  apply a batch of events to one shard
 * - `POST /internal/digest`     a shard's per-bucket version digests
 * - `POST /internal/versions`   a shard's key versions in some buckets
 * - `POST /internal/strong`     run a `strong` read, write or delete here, the home region
 * - `POST /internal/purge`      apply purges the sending region accepted
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import * as z from 'zod/mini';
import type { ShardWriteInput } from '../../durable-objects/shard.ts';
import type { AppEnv } from '../app-env.ts';
import { base64ToBytes, bytesToBase64 } from '../base64.ts';
import type { Config } from '../env.ts';
import { configFor } from '../env.ts';
import { StrataError } from '../errors.ts';
import { shardFor } from '../hashing.ts';
import { parseHlc } from '../hlc.ts';
import { LIMITS } from '../limits.ts';
import { isolateMetrics } from '../metrics/recorder.ts';
import { bumpGeneration } from '../purge/generations.ts';
import { parsePurgeRequest } from '../purge/request.ts';
import type { Purge } from '../purge/rules.ts';
import { PURGE_ID, purgeStub } from '../purge/submit.ts';
import { homeOf } from '../replication/consistency.ts';
import type { ReplicationEvent } from '../replication/events.ts';
import { MAX_BATCH_BYTES, replicationBatch } from '../replication/events.ts';
import type { InternalPurpose } from '../replication/peer-client.ts';
import { verifierFor } from '../replication/signing.ts';
import { ShardClient } from '../tiers/shard-client.ts';
import { parseKey, parseNamespace } from '../validation.ts';
import { cacheFor, readBody, type StrongRead } from './cache.ts';

export const internalRoutes = new Hono<AppEnv>();
const decoder = new TextDecoder();

/** Verifies the region token and parses the JSON body against `schema`. */
async function signedBody<T>(
  c: Context<AppEnv>,
  purpose: InternalPurpose,
  schema: z.ZodMiniType<T>,
): Promise<{ peer: string; body: T; config: Config }> {
  const verifier = verifierFor(c.env);
  if (!verifier) throw new StrataError('not-found', 'This region does not replicate.');
  const text = decoder.decode(await readBody(c.req.raw, MAX_BATCH_BYTES));
  const peer = await verifier.verify(c.req.header('authorization'), purpose, text);
  const config = configFor(c.env);
  if (!config.regions.includes(peer))
    throw new StrataError('forbidden', `Region "${peer}" is not a peer of this region.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StrataError('bad-request', 'The body is not JSON.');
  }
  const parsed = z.safeParse(schema, json);
  if (!parsed.success)
    throw new StrataError(
      'bad-request',
      `Invalid ${purpose} request: ${parsed.error.issues[0]?.message ?? 'bad shape'}.`,
    );
  return { peer, body: parsed.data, config };
}

/** The same SHARDS everywhere, or the shard indexes name different keys. */
function checkShard(config: Config, shard: number, shards: number): void {
  if (shards !== config.shards)
    throw new StrataError(
      'conflict',
      `SHARDS differs between regions (${shards} there, ${config.shards} here): keys would land on different shards.`,
    );
  if (shard >= config.shards) throw new StrataError('bad-request', `No shard ${shard}.`);
}

/** Rejects events that name a key the sender's shard does not own, or whose parts disagree. */
function checkEvent(config: Config, shard: number, e: ReplicationEvent): void {
  parseNamespace(e.ns);
  parseKey(e.key);
  if (!parseHlc(e.version))
    throw new StrataError('bad-request', 'An event has an invalid version.');
  if (shardFor(e.ns, e.key, config.shards) !== shard)
    throw new StrataError('bad-request', 'An event names a key of another shard.');
  if (e.meta) {
    const m = e.meta;
    if (
      m.namespace !== e.ns ||
      m.key !== e.key ||
      m.version !== e.version ||
      m.expiresAt !== e.expiresAt
    )
      throw new StrataError('bad-request', 'An event and its metadata disagree.');
    if (
      e.value === undefined ||
      m.size > LIMITS.hardMaxValueBytes ||
      decodedLength(e.value) !== m.size
    )
      throw new StrataError('bad-request', 'An event carries metadata without a valid value.');
    if (
      m.tags.length > LIMITS.maxTags ||
      m.tags.some((t) => t.length > LIMITS.maxTagBytes) ||
      m.contentType.length > LIMITS.maxContentTypeBytes
    )
      throw new StrataError('bad-request', 'An event’s metadata exceeds the documented limits.');
  } else if (e.value !== undefined) {
    throw new StrataError('bad-request', 'An event carries a value without metadata.');
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes a base64 text decodes to, or -1 when it is not base64: checked before a shard ever sees it. */
function decodedLength(text: string): number {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return -1;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

internalRoutes.post('/replicate', async (c) => {
  const { peer, body, config } = await signedBody(c, 'replicate', replicationBatch);
  if (body.origin !== peer)
    throw new StrataError('forbidden', 'A region may only send its own batches.');
  checkShard(config, body.shard, body.shards);
  for (const e of body.events) checkEvent(config, body.shard, e);
  const result = await ShardClient.fromEnv(c.env, config).applyRemote(
    body.shard,
    peer,
    body.direct,
    body.events,
  );
  // This data centre's L1 may hold the replaced versions; other data centres' copies age out within L1_MAX_TTL.
  if (result.changed.length > 0) {
    const cache = cacheFor(c, config);
    c.executionCtx.waitUntil(
      Promise.all(result.changed.map(({ ns, key }) => cache.dropL1(ns, key))).catch(() => {}),
    );
  }
  const now = Date.now();
  for (const e of body.events) {
    const wall = parseHlc(e.version)?.wall;
    if (!body.direct && wall !== undefined)
      isolateMetrics.observe(
        'strata_replication_apply_lag_seconds',
        { origin: peer },
        Math.max(0, now - wall) / 1000,
      );
  }
  isolateMetrics.inc(
    'strata_replication_received_total',
    { origin: peer, result: 'applied' },
    result.applied,
  );
  isolateMetrics.inc(
    'strata_replication_received_total',
    { origin: peer, result: 'stale' },
    result.stale,
  );
  isolateMetrics.inc(
    'strata_replication_received_total',
    { origin: peer, result: 'duplicate' },
    result.duplicate,
  );
  return c.json({
    hwm: result.hwm,
    applied: result.applied,
    stale: result.stale,
    duplicate: result.duplicate,
  });
});

const shardRef = {
  shard: z.number().check(z.int(), z.gte(0)),
  shards: z.number().check(z.int(), z.gte(1)),
};

internalRoutes.post('/digest', async (c) => {
  const { body, config } = await signedBody(
    c,
    'digest',
    z.object({ ...shardRef, asOf: z.number() }),
  );
  checkShard(config, body.shard, body.shards);
  const buckets = await ShardClient.fromEnv(c.env, config).digest(body.shard, body.asOf);
  return c.json({ buckets });
});

internalRoutes.post('/versions', async (c) => {
  const { body, config } = await signedBody(
    c,
    'versions',
    z.object({
      ...shardRef,
      asOf: z.number(),
      buckets: z.array(z.number().check(z.int(), z.gte(0), z.lt(256))).check(z.maxLength(256)),
      limit: z.number().check(z.int(), z.gte(1), z.lte(5000)),
      after: z.optional(z.object({ ns: z.string(), key: z.string() })),
    }),
  );
  checkShard(config, body.shard, body.shards);
  const rows = await ShardClient.fromEnv(c.env, config).listVersions(
    body.shard,
    body.buckets,
    body.asOf,
    body.limit,
    body.after,
  );
  return c.json({ rows });
});

const strongRequest = z.discriminatedUnion('op', [
  z.object({ op: z.literal('read'), namespace: z.string(), key: z.string() }),
  z.object({ op: z.literal('delete'), namespace: z.string(), key: z.string() }),
  z.object({
    op: z.literal('write'),
    input: z.object({
      namespace: z.string(),
      key: z.string(),
      value: z.string(),
      contentType: z.string(),
      tags: z.array(z.string()).check(z.maxLength(LIMITS.maxTags)),
      ttl: z.number().check(z.int(), z.gte(LIMITS.minTtl), z.lte(LIMITS.maxTtl)),
      staleWhileRevalidate: z.number().check(z.int(), z.gte(0), z.lte(LIMITS.maxStale)),
      staleIfError: z.number().check(z.int(), z.gte(0), z.lte(LIMITS.maxStale)),
      priority: z.optional(z.number().check(z.int(), z.gte(0), z.lte(3))),
      cost: z.optional(z.number().check(z.gte(0))),
    }),
  }),
]);

internalRoutes.post('/strong', async (c) => {
  const { body, config } = await signedBody(c, 'strong', strongRequest);
  const namespace = parseNamespace(body.op === 'write' ? body.input.namespace : body.namespace);
  const key = parseKey(body.op === 'write' ? body.input.key : body.key);
  if (homeOf(config, namespace) !== config.region)
    throw new StrataError('conflict', `This region is not the home of namespace "${namespace}".`);
  const cache = cacheFor(c, config);
  if (body.op === 'read') {
    const result = await cache.readShard(namespace, key);
    const answer: StrongRead = {
      entry: result.entry
        ? { meta: result.entry.meta, value: bytesToBase64(result.entry.value) }
        : null,
      l3: result.l3,
      collapsed: result.collapsed,
    };
    return c.json(answer);
  }
  if (body.op === 'delete') {
    const result = await cache.remove(namespace, key);
    return c.json({ existed: result.existed, l3: result.l3 });
  }
  const value = base64ToBytes(body.input.value);
  if (value.byteLength > config.maxValueBytes)
    throw new StrataError(
      'payload-too-large',
      `Values are limited to ${config.maxValueBytes} bytes.`,
    );
  const { value: _encoded, ...rest } = body.input;
  const input: ShardWriteInput = { ...rest, namespace, key, value };
  return c.json(await cache.write(input));
});

const purgeBatch = z.object({
  origin: z.string(),
  purges: z
    .array(
      z.object({
        id: z.string(),
        origin: z.string(),
        version: z.string(),
        at: z.number(),
        soft: z.boolean(),
        selectors: z.unknown(),
        source: z.string().check(z.maxLength(200)),
      }),
    )
    .check(z.maxLength(100)),
});

/** Applies purges a peer accepted to this region's shards; 503 until every shard has them (the peer retries). */
internalRoutes.post('/purge', async (c) => {
  const { peer, body, config } = await signedBody(c, 'purge', purgeBatch);
  if (body.origin !== peer)
    throw new StrataError('forbidden', 'A region may only send purges it accepted.');
  const purges: Purge[] = body.purges.map((p) => {
    if (p.origin !== peer || !PURGE_ID.test(p.id) || !p.id.endsWith(`_${peer}`))
      throw new StrataError('bad-request', 'A purge names another origin.');
    if (!parseHlc(p.version))
      throw new StrataError('bad-request', 'A purge has an invalid version.');
    // The same validation as a purge accepted here: selectors a region could not have accepted are refused.
    const { soft: _soft, ...selectors } = parsePurgeRequest({
      ...(p.selectors as object),
      soft: p.soft,
    });
    return { ...p, selectors };
  });
  const done = await purgeStub(c.env, config).applyRemote(purges);
  for (const p of purges) bumpGeneration(c.env, p.selectors.namespace, p.version);
  if (!done)
    throw new StrataError('tier-unavailable', 'Some shards have not applied the purges yet.', {
      headers: { 'retry-after': '1' },
    });
  return c.json({ applied: purges.length });
});

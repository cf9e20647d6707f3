/**
 * The Worker's handle on purges: every purge, from the API or a webhook,
 * is accepted by this region's PurgeDO (durable-objects/purge.ts), which
 * applies it here before answering and carries it everywhere else.
 */
import type {
  PurgeAccepted,
  PurgeDO,
  PurgeStatus,
  WebhookClaim,
} from '../../durable-objects/purge.ts';
import type { Config, Env } from '../env.ts';
import { isolateMetrics } from '../metrics/recorder.ts';
import { type ProxyConfig, proxyConfigFor } from '../proxy/config.ts';
import { bumpGeneration } from './generations.ts';
import type { PurgeRequest } from './request.ts';

export type { PurgeAccepted, PurgeStatus } from '../../durable-objects/purge.ts';

/** The region's purge coordinator. */
export function purgeStub(env: Env, config: Config): DurableObjectStub<PurgeDO> {
  const id = env.PURGE.idFromName(`purge:${config.region}`);
  const hint = config.locationHint;
  return hint ? env.PURGE.get(id, { locationHint: hint }) : env.PURGE.get(id);
}

/** Accepts a purge in this region; `source` is `api:<principal>`. */
export async function submitPurge(
  env: Env,
  config: Config,
  request: PurgeRequest,
  source: string,
): Promise<PurgeAccepted> {
  return (await accept(env, config, request, source)) as PurgeAccepted;
}

/**
 * Accepts a signed webhook's purge, recording its id with it; null when
 * the id was already accepted (a replay), having accepted nothing.
 */
export function submitWebhookPurge(
  env: Env,
  config: Config,
  request: PurgeRequest,
  claim: WebhookClaim,
): Promise<PurgeAccepted | null> {
  return accept(env, config, request, `webhook:${claim.endpoint}`, claim);
}

async function accept(
  env: Env,
  config: Config,
  request: PurgeRequest,
  source: string,
  claim?: WebhookClaim,
): Promise<PurgeAccepted | null> {
  const accepted = (await purgeStub(env, config).submit(
    withProxyVariants(request, proxyConfigFor(env, config)),
    source,
    claim,
  )) as PurgeAccepted | null;
  if (!accepted) return null;
  // This isolate stops using L0/L1 copies of the namespace at once; others within PURGE_FEED_MS.
  bumpGeneration(env, request.namespace, accepted.version);
  isolateMetrics.inc('strata_purges_total', {
    source: source.split(':')[0] as string,
    soft: String(request.soft),
  });
  return accepted;
}

/**
 * In the proxy namespace a key is a URL, and it covers every stored
 * variant of that URL (`<target>\n<variant>`, src/http/cache-key.ts): a
 * purge of the key also purges the prefix `<target>\n`, which matches
 * nothing else.
 */
function withProxyVariants(request: PurgeRequest, proxy: ProxyConfig | null): PurgeRequest {
  if (!proxy || request.namespace !== proxy.namespace || request.keys.length === 0) return request;
  const variants = request.keys.map((k) => `${k}\n`);
  return { ...request, prefixes: [...new Set([...request.prefixes, ...variants])] };
}

export function purgeStatus(env: Env, config: Config, id: string): Promise<PurgeStatus | null> {
  return purgeStub(env, config).status(id) as Promise<PurgeStatus | null>;
}

/** Purge ids as `submit` makes them: `pg_<24 hex>_<region>`. */
export const PURGE_ID = /^pg_[0-9a-f]{24}_[a-z0-9][a-z0-9-]{0,31}$/;

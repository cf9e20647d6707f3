/**
 * Proxy mode (README "Proxy mode"): with `ORIGIN_URL` set, every request
 * outside the API prefix is served as a shared HTTP cache in front of the
 * origin, on the same tiers, regions and purges as the key API.
 *
 *   GET, HEAD   L0 → L1 in this isolate and data centre; a fresh copy is the
 *               answer, and a hit-for-pass marker (the URL's last response
 *               forbade storing) sends the request straight to the origin. Otherwise the shard that owns the URL answers
 *               (durable-objects/shard-proxy.ts): L2, L3, the origin, with
 *               collapsing, revalidation and stale serving. What it stored
 *               is copied up into L0 and L1.
 *   Range       a single byte range is cut from the stored whole response;
 *               the shard fetches the whole response on a miss.
 *   other       streamed to and from the origin; a non-error answer to an
 *               unsafe method invalidates the URL, its `Location` and its
 *               `Content-Location` in every tier and region (RFC 9111 §4.4),
 *               through the purge machinery.
 *
 * No Strata credential is asked for: proxied traffic belongs to the origin,
 * which does its own authentication (and `Authorization` is honoured as
 * RFC 9111 §3.5 says). The proxy namespace is closed to the key API, so
 * nobody can write into what proxied clients are served.
 */
import type { ProxyPlan } from '../../durable-objects/shard-proxy.ts';
import { formatCacheStatus } from '../cache-status.ts';
import type { Config, Env } from '../env.ts';
import { problemResponse, StrataError } from '../errors.ts';
import { normaliseTarget, responseKey, variantKey } from '../http/cache-key.ts';
import { evaluate } from '../http/freshness.ts';
import { type HeaderMap, headerMap, stripHopByHop, withoutHopByHop } from '../http/headers.ts';
import { selectingValues, variantId, varyMatches } from '../http/vary.ts';
import { isolateMetrics } from '../metrics/recorder.ts';
import { submitPurge } from '../purge/submit.ts';
import { tieredCache } from '../routes/cache.ts';
import { ShardClient } from '../tiers/shard-client.ts';
import { originUrlFor, type ProxyConfig } from './config.ts';
import { type OriginFailure, originRequestHeaders, streamOrigin } from './origin.ts';
import { answerStatus, respondWith, upperHitStatus } from './respond.ts';
import { decodeStored, type StoredResponse } from './stored-response.ts';
import { TAG_FIELDS } from './tags.ts';

/** Longest request target (path and query, UTF-8) proxy mode accepts; longer is 414. */
export const MAX_TARGET_BYTES = 8192;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const encoder = new TextEncoder();

export async function handleProxy(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
  proxy: ProxyConfig,
): Promise<Response> {
  const method = request.method.toUpperCase();
  let outcome = 'error';
  try {
    const { response, result } = await proxied(request, method, env, ctx, config, proxy);
    outcome = result;
    return response;
  } catch (err) {
    const url = new URL(request.url);
    const res = problemResponse(err, url.pathname);
    if (!(err instanceof StrataError)) console.error('proxy error', method, err);
    // Every proxied response names what happened: an error without its own member gets one.
    if (!res.headers.has('cache-status'))
      res.headers.set('cache-status', formatCacheStatus([{ cache: 'strata', detail: 'error' }]));
    return res;
  } finally {
    isolateMetrics.inc('strata_proxy_requests_total', {
      method: metricMethod(method),
      result: outcome,
    });
  }
}

/** Methods as metric labels: the common ones by name, the rest as `other` (bounded cardinality). */
function metricMethod(method: string): string {
  return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(method)
    ? method
    : 'other';
}

async function proxied(
  request: Request,
  method: string,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
  proxy: ProxyConfig,
): Promise<{ response: Response; result: string }> {
  const target = normaliseTarget(new URL(request.url));
  if (encoder.encode(target).byteLength > MAX_TARGET_BYTES) {
    throw new StrataError('uri-too-long', `The request target is over ${MAX_TARGET_BYTES} bytes.`, {
      extensions: { limit: MAX_TARGET_BYTES },
    });
  }
  const headers = withoutHopByHop(headerMap(request.headers));
  const via = `1.1 strata-${config.region}`;
  if (method !== 'GET' && method !== 'HEAD') {
    const response = await passThrough(request, method, target, headers, via, proxy, 'method');
    if (!SAFE_METHODS.has(method) && response.status < 400)
      await invalidate(env, config, proxy, target, response.headers);
    return { response, result: 'method' };
  }
  const cache = tieredCache(env, (p) => ctx.waitUntil(p), config);
  const gen = await cache.generation(proxy.namespace);
  const now = Date.now();
  const upper = await upperCopy(cache, proxy.namespace, target, headers, gen, now);
  if (upper && 'pass' in upper) {
    const response = await passThrough(request, method, target, headers, via, proxy, 'pass');
    return { response, result: 'pass' };
  }
  if (upper) {
    const status = upperHitStatus(upper.tier, upper.stored, now);
    return {
      response: respondWith(upper.stored, { method, headers }, status, proxy.exposeTags, now),
      result: 'hit',
    };
  }

  const plan: ProxyPlan = {
    namespace: proxy.namespace,
    target,
    originUrl: originUrlFor(proxy, target),
    headers,
    via,
    timeoutMs: proxy.originTimeoutMs,
    maxBodyBytes: proxy.maxBodyBytes,
    keepStaleSeconds: proxy.keepStaleSeconds,
    passSeconds: proxy.passSeconds,
    rules: proxy.rules,
  };
  let answer: Awaited<ReturnType<ShardClient['proxyServe']>>;
  try {
    answer = await ShardClient.fromEnv(env, config).proxyServe(plan);
  } catch (err) {
    // The URL's shard is unreachable, the origin may not be: answer uncached rather than fail.
    console.error('proxy shard unavailable', err instanceof Error ? err.message : err);
    isolateMetrics.inc('strata_tier_errors_total', { tier: 'L2', op: 'proxy' });
    const response = await passThrough(
      request,
      method,
      target,
      headers,
      via,
      proxy,
      'shard-unavailable',
    );
    return { response, result: 'bypass' };
  }
  const answeredAt = Date.now();
  if (answer.failure === 'too-large') {
    const response = await passThrough(request, method, target, headers, via, proxy, 'too-large');
    return { response, result: 'too-large' };
  }
  if (answer.outcome === 'error' || !answer.response) {
    throw originError(answer.failure, proxy, formatCacheStatus([answerStatus(answer, answeredAt)]));
  }
  cache.keepUpper(answer.entries, gen);
  const status = answerStatus(answer, answeredAt);
  return {
    response: respondWith(
      answer.response,
      { method, headers },
      status,
      proxy.exposeTags,
      answeredAt,
    ),
    result: answer.outcome,
  };
}

/** The problem for a failed origin request (RFC 9110 §15.6.3, §15.6.5; RFC 9111 §5.2.1.7). */
function originError(
  failure: OriginFailure | 'only-if-cached' | undefined,
  proxy: ProxyConfig,
  cacheStatus: string,
): StrataError {
  const headers = { 'cache-status': cacheStatus };
  switch (failure) {
    case 'timeout':
      return new StrataError(
        'origin-timeout',
        `The origin did not answer within ${proxy.originTimeoutMs} ms.`,
        { headers },
      );
    case 'only-if-cached':
      return new StrataError(
        'not-cached',
        'The request asked for only-if-cached, and no stored response can answer it.',
        { headers },
      );
    case 'invalid':
      return new StrataError(
        'origin-unreachable',
        'The origin answered with a status no proxy can relay.',
        { headers },
      );
    default:
      return new StrataError('origin-unreachable', 'The origin could not be reached.', { headers });
  }
}

/** A fresh copy in L0 or L1 whose Vary selection matches, a hit-for-pass marker, or null. */
async function upperCopy(
  cache: ReturnType<typeof tieredCache>,
  namespace: string,
  target: string,
  headers: HeaderMap,
  gen: string | null,
  now: number,
): Promise<{ stored: StoredResponse; tier: 'L0' | 'L1' } | { pass: string } | null> {
  let copy = await cache.readUpper(namespace, responseKey(target), gen);
  let stored = copy ? decodeStored(copy.entry.value) : null;
  if (stored?.kind === 'pass') return { pass: stored.reason };
  if (stored?.kind === 'vary') {
    const key = variantKey(target, variantId(stored.names, selectingValues(stored.names, headers)));
    copy = await cache.readUpper(namespace, key, gen);
    stored = copy ? decodeStored(copy.entry.value) : null;
  }
  if (!copy || stored?.kind !== 'response') return null;
  if (stored.vary && !varyMatches(stored.vary.names, stored.vary.values, headers)) return null;
  const reuse = evaluate(stored.freshness, headers, now).reuse;
  return reuse === 'fresh' || reuse === 'stale-allowed' ? { stored, tier: copy.tier } : null;
}

/** Streams a request the cache does not answer to the origin and its response back. */
async function passThrough(
  request: Request,
  method: string,
  target: string,
  headers: HeaderMap,
  via: string,
  proxy: ProxyConfig,
  why: 'method' | 'too-large' | 'pass' | 'shard-unavailable',
): Promise<Response> {
  // A body on GET or HEAD is never forwarded (it is not part of the cache key).
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const got = await streamOrigin(
    originUrlFor(proxy, target),
    {
      method,
      headers: originRequestHeaders(headers, via),
      ...(hasBody ? { body: request.body } : {}),
    },
    proxy.originTimeoutMs,
  );
  const fwd = why === 'method' ? 'method' : why === 'too-large' ? 'uri-miss' : 'bypass';
  if (!got.ok) {
    const status = formatCacheStatus([{ cache: 'strata', fwd, detail: `origin-${got.failure}` }]);
    throw originError(got.failure, proxy, status);
  }
  const res = got.response;
  const out = stripHopByHop(new Headers(res.headers));
  if (!proxy.exposeTags) for (const name of TAG_FIELDS) out.delete(name);
  out.set(
    'cache-status',
    formatCacheStatus([
      {
        cache: 'strata',
        fwd,
        fwdStatus: res.status,
        ...(why === 'method' ? {} : { detail: why }),
      },
    ]),
  );
  return new Response(method === 'HEAD' ? null : res.body, { status: res.status, headers: out });
}

/**
 * RFC 9111 §4.4: after a non-error answer to an unsafe method, the target
 * URI and the URIs in `Location` and `Content-Location` (same origin only,
 * so a response cannot invalidate someone else's URLs) are purged, with
 * every variant, in every tier and region. Done before answering, so the
 * client's next read in this region sees the change.
 */
async function invalidate(
  env: Env,
  config: Config,
  proxy: ProxyConfig,
  target: string,
  response: Headers,
): Promise<void> {
  const targets = new Set([target]);
  const base = new URL(originUrlFor(proxy, target));
  for (const name of ['location', 'content-location']) {
    const value = response.get(name);
    if (!value) continue;
    let url: URL;
    try {
      url = new URL(value, base);
    } catch {
      continue;
    }
    const prefix = proxy.basePath;
    const inside =
      prefix === '' || url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
    if (url.origin !== proxy.origin.origin || !inside) continue;
    const inner = new URL(url.href);
    inner.pathname = url.pathname.slice(prefix.length) || '/';
    targets.add(normaliseTarget(inner));
  }
  const keys = [...targets];
  try {
    await submitPurge(
      env,
      config,
      { namespace: proxy.namespace, keys, prefixes: [], tags: [], all: false, soft: false },
      'proxy:invalidation',
    );
  } catch (err) {
    // The origin already acted; the copies still age out within their lifetime.
    console.error('proxy invalidation failed', err instanceof Error ? err.message : err);
    isolateMetrics.inc('strata_proxy_invalidation_failures_total', {});
  }
}

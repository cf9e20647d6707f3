/**
 * Turning what proxy mode found into the client's response: the stored (or
 * just fetched) response with `Age` and `Cache-Status`, a `304` when the
 * client's own conditionals match, no body for HEAD, and the tag fields
 * removed unless `PROXY_EXPOSE_TAGS` is set.
 *
 * `Cache-Status` (RFC 9211) has one member, `strata`, for the whole cache:
 *
 *   strata; hit; ttl=42; detail=l1                       fresh, from L1
 *   strata; hit; ttl=-3; detail="l2 stale-while-revalidate"   stale, refresh under way
 *   strata; fwd=uri-miss; fwd-status=200; stored; collapsed
 *   strata; fwd=vary-miss; fwd-status=200; detail=set-cookie   not stored, and why
 *   strata; fwd=stale; fwd-status=304; stored; ttl=60    revalidated
 *   strata; fwd=request; fwd-status=200; stored          the request asked for no-cache
 *   strata; fwd=stale; fwd-status=503; ttl=-9; detail=stale-if-error
 *   strata; fwd=method; fwd-status=201                   POST, PUT, DELETE…
 *   strata; fwd=uri-miss; detail=too-large            streamed, not stored
 *   strata; fwd=bypass; fwd-status=200; detail=pass  hit-for-pass: straight to the origin
 *
 * A single byte range of a stored 200 is answered here (`206`, or `416`
 * past the end; src/http/range.ts).
 */
import type { ProxyAnswer } from '../../durable-objects/shard-proxy.ts';
import { type CacheStatusMember, formatCacheStatus } from '../cache-status.ts';
import { notModified, notModifiedHeaders } from '../http/conditional.ts';
import { currentAge, freshnessLeft } from '../http/freshness.ts';
import { type HeaderMap, toHeaders } from '../http/headers.ts';
import { selectRange } from '../http/range.ts';
import type { StoredResponse } from './stored-response.ts';
import { withoutTagFields } from './tags.ts';

const NO_BODY = new Set([101, 204, 205, 304]);

/** The `strata` Cache-Status member for a shard's answer. */
export function answerStatus(answer: ProxyAnswer, now: number): CacheStatusMember {
  const m: CacheStatusMember = { cache: 'strata' };
  const f = answer.response?.freshness;
  const ttl = f ? Math.floor(freshnessLeft(f, now)) : undefined;
  const tier = (answer.tier ?? '').toLowerCase();
  switch (answer.outcome) {
    case 'hit':
      return {
        ...m,
        hit: true,
        ...(ttl !== undefined ? { ttl } : {}),
        ...(tier ? { detail: tier } : {}),
      };
    case 'stale-while-revalidate':
      return {
        ...m,
        hit: true,
        ...(ttl !== undefined ? { ttl } : {}),
        detail: `${tier} stale-while-revalidate`.trim(),
      };
    case 'stale-if-error':
      return {
        ...m,
        fwd: 'stale',
        ...(answer.fwdStatus !== undefined ? { fwdStatus: answer.fwdStatus } : {}),
        ...(ttl !== undefined ? { ttl } : {}),
        detail: answer.failure ? `stale-if-error origin-${answer.failure}` : 'stale-if-error',
      };
    case 'error':
      return {
        ...m,
        fwd: forwardReason(answer),
        detail: `origin-${answer.failure ?? 'unreachable'}`,
      };
    default:
      return {
        ...m,
        fwd: forwardReason(answer),
        ...(answer.fwdStatus !== undefined ? { fwdStatus: answer.fwdStatus } : {}),
        ...(answer.stored ? { stored: true, ...(ttl !== undefined ? { ttl } : {}) } : {}),
        ...(answer.collapsed ? { collapsed: true } : {}),
        ...(answer.notStored ? { detail: answer.notStored } : {}),
      };
  }
}

function forwardReason(answer: ProxyAnswer): NonNullable<CacheStatusMember['fwd']> {
  if (answer.lookup === 'miss') return 'uri-miss';
  if (answer.lookup === 'vary-miss') return 'vary-miss';
  return answer.because === 'request' ? 'request' : 'stale';
}

/** The member for a fresh hit in this isolate's L0 or the data centre's L1. */
export function upperHitStatus(
  tier: 'L0' | 'L1',
  stored: StoredResponse,
  now: number,
): CacheStatusMember {
  return {
    cache: 'strata',
    hit: true,
    ttl: Math.floor(freshnessLeft(stored.freshness, now)),
    detail: tier.toLowerCase(),
  };
}

/** The client's response for a stored (or just fetched) response. */
export function respondWith(
  stored: StoredResponse,
  request: { method: string; headers: HeaderMap },
  status: CacheStatusMember,
  exposeTags: boolean,
  now: number,
): Response {
  const fields = exposeTags ? { ...stored.headers } : withoutTagFields(stored.headers);
  const age = String(Math.floor(currentAge(stored.freshness, now)));
  const cacheStatus = formatCacheStatus([status]);
  if (stored.status === 200 && notModified(request.headers, stored.headers, request.method)) {
    const headers = toHeaders({ ...notModifiedHeaders(fields), age, 'cache-status': cacheStatus });
    return new Response(null, { status: 304, headers });
  }
  const headers = toHeaders({ ...fields, age, 'cache-status': cacheStatus });
  if (stored.status === 200 && request.method === 'GET') {
    const length = stored.body.byteLength;
    const choice = selectRange(
      request.headers.range,
      request.headers['if-range'],
      stored.headers,
      length,
    );
    if (choice.kind === 'unsatisfiable') {
      headers.delete('content-length');
      headers.set('content-range', `bytes */${length}`);
      return new Response(null, { status: 416, headers });
    }
    if (choice.kind === 'partial') {
      const part = stored.body.subarray(choice.start, choice.end + 1);
      headers.set('content-range', `bytes ${choice.start}-${choice.end}/${length}`);
      headers.set('content-length', String(part.byteLength));
      return new Response(part, { status: 206, headers });
    }
  }
  const body = request.method === 'HEAD' || NO_BODY.has(stored.status) ? null : stored.body;
  if (body !== null) headers.set('content-length', String(body.byteLength));
  return new Response(body, { status: stored.status, headers });
}

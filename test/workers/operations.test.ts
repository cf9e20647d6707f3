/** /healthz, /metrics and /v1/stats. */
import { describe, expect, it } from 'vitest';
import { call, freshNamespace, keyPath } from './helpers.ts';

describe('operational endpoints', () => {
  it('/healthz reports every tier', async () => {
    const res = await call('GET', '/healthz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      tiers: Record<string, { status: string }>;
    };
    expect(body.status).toBe('ok');
    expect(body.tiers.L1?.status).toBe('ok');
    expect(body.tiers.L2?.status).toBe('ok');
    expect(body.tiers.L3?.status).toBe('ok');
  });

  it('/healthz and /metrics need a credential', async () => {
    expect((await call('GET', '/healthz', { auth: null })).status).toBe(401);
    expect((await call('GET', '/metrics', { auth: null })).status).toBe(401);
  });

  it('/metrics counts requests by route and status, lookups per tier, and latency', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), { body: 'v' });
    await call('GET', keyPath(ns, 'k'));
    await call('GET', keyPath(ns, 'missing'));
    const res = await call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toContain('# TYPE strata_http_requests_total counter');
    expect(text).toMatch(
      /strata_http_requests_total\{method="PUT",route="\/v1\/cache\/:namespace\/:key",status="201"\} \d+/,
    );
    expect(text).toMatch(
      /strata_http_requests_total\{method="GET",route="\/v1\/cache\/:namespace\/:key",status="404"\} \d+/,
    );
    expect(text).toMatch(/strata_cache_lookups_total\{result="hit",tier="L2"\} \d+/);
    expect(text).toMatch(/strata_cache_lookups_total\{result="miss",tier="L3"\} \d+/);
    expect(text).toContain('# TYPE strata_http_request_duration_seconds histogram');
    expect(text).toMatch(
      /strata_http_request_duration_seconds_bucket\{route="[^"]+",le="\+Inf"\} \d+/,
    );
    expect(text).toMatch(/strata_purge_pending_local \d+/);
    expect(text).toMatch(/strata_purge_l3_jobs_pending \d+/);
    // Keys never become label values.
    expect(text).not.toContain(ns);
  });

  it('/v1/stats lists every shard', async () => {
    const res = await call('GET', '/v1/stats');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      shards: { shard: number; budget: number; purges: { rules: number } }[];
      purges: { recorded: number; pendingLocally: number };
    };
    expect(body.shards).toHaveLength(4);
    expect(body.shards[0]?.budget).toBe(65536);
    expect(body.shards[0]?.purges.rules).toBeGreaterThanOrEqual(0);
    expect(body.purges.pendingLocally).toBeGreaterThanOrEqual(0);
  });
});

/**
 * Purges in one region, real workerd: keys, prefixes, tags and whole
 * namespaces through every tier (L1 by generation, L2, L3 checked in redis
 * directly), soft purge with one refresh at a time, ordering against writes,
 * the status resource, and bad input.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, eventually, freshNamespace, hitTier, keyPath, l3 } from './helpers.ts';

async function put(ns: string, key: string, value: string, headers: Record<string, string> = {}) {
  const res = await call('PUT', keyPath(ns, key), { body: value, headers });
  expect(res.status).toBe(201);
  return (await res.json()) as { version: string };
}

async function purge(body: unknown): Promise<{ id: string; version: string; status: string }> {
  const res = await call('POST', '/v1/purge', {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as { id: string; version: string; status: string };
}

async function status(ns: string, key: string): Promise<number> {
  const res = await call('GET', keyPath(ns, key));
  await res.arrayBuffer();
  return res.status;
}

/** Reads until an L1 copy serves the key (the back-fill runs in the background). */
async function warmL1(ns: string, key: string): Promise<void> {
  await eventually(async () => {
    const res = await call('GET', keyPath(ns, key));
    await res.arrayBuffer();
    return hitTier(res) === 'L1';
  });
}

describe('POST /v1/purge', () => {
  it('purges by tag in L1, L2 and L3, leaving untagged entries alone', async () => {
    const ns = freshNamespace('ptag');
    await put(ns, 'a', 'A', { 'cache-tag': 'product-1,red' });
    await put(ns, 'b', 'B', { 'cache-tag': 'product-2,red' });
    await put(ns, 'c', 'C', { 'cache-tag': 'product-1' });
    await warmL1(ns, 'a');
    const accepted = await purge({ namespace: ns, tags: ['product-1'] });
    expect(accepted.id).toMatch(/^pg_[0-9a-f]{24}_test$/);
    expect(await status(ns, 'a')).toBe(404);
    expect(await status(ns, 'c')).toBe(404);
    expect(await status(ns, 'b')).toBe(200);
    await eventually(
      async () => (await l3().get(ns, 'a')) === null && (await l3().get(ns, 'c')) === null,
      5000,
    );
    expect(await l3().get(ns, 'b')).not.toBeNull();
  });

  it('purges by prefix and by key', async () => {
    const ns = freshNamespace('ppre');
    for (const k of ['blog/1', 'blog/2', 'blogger', 'news/1']) await put(ns, k, k);
    await purge({ namespace: ns, prefixes: ['blog/'], keys: ['news/1'] });
    expect(await status(ns, 'blog/1')).toBe(404);
    expect(await status(ns, 'blog/2')).toBe(404);
    expect(await status(ns, 'news/1')).toBe(404);
    expect(await status(ns, 'blogger')).toBe(200);
    await eventually(async () => (await l3().get(ns, 'blog/2')) === null, 5000);
    expect(await l3().get(ns, 'blogger')).not.toBeNull();
  });

  it('purges a whole namespace and no other', async () => {
    const ns = freshNamespace('pall');
    const other = freshNamespace('pother');
    for (let i = 0; i < 20; i++) await put(ns, `k${i}`, `v${i}`);
    await put(other, 'k0', 'kept');
    await warmL1(ns, 'k0');
    await purge({ namespace: ns, all: true });
    for (let i = 0; i < 20; i++) expect(await status(ns, `k${i}`)).toBe(404);
    expect(await status(other, 'k0')).toBe(200);
  });

  it('keeps a write made after the purge, in every tier', async () => {
    const ns = freshNamespace('porder');
    await put(ns, 'k', 'before', { 'cache-tag': 't' });
    await purge({ namespace: ns, tags: ['t'] });
    await put(ns, 'k', 'after', { 'cache-tag': 't' });
    const res = await call('GET', keyPath(ns, 'k'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('after');
    // L3's purge job runs after the write: it must not remove the newer version.
    await new Promise((r) => setTimeout(r, 500));
    const fromL3 = await l3().get(ns, 'k');
    expect(fromL3 && new TextDecoder().decode(fromL3.value)).toBe('after');
  });

  it('soft purge serves stale within stale-while-revalidate, asking one reader to refresh', async () => {
    const ns = freshNamespace('psoft');
    await put(ns, 'swr', 'old', { 'cache-control': 'max-age=600, stale-while-revalidate=60' });
    await put(ns, 'noswr', 'old', { 'cache-control': 'max-age=600' });
    await warmL1(ns, 'swr');
    await purge({ namespace: ns, keys: ['swr', 'noswr'], soft: true });

    const first = await call('GET', keyPath(ns, 'swr'));
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('old');
    expect(first.headers.get('strata-revalidate')).toBe('required');
    expect(first.headers.get('cache-status')).toMatch(
      /strata-l2; hit; ttl=-\d+; detail=stale-while-revalidate/,
    );
    const second = await call('GET', keyPath(ns, 'swr'));
    expect(second.headers.get('strata-revalidate')).toBe('in-progress');
    await second.arrayBuffer();
    // Without stale-while-revalidate a soft purge is a purge.
    expect(await status(ns, 'noswr')).toBe(404);

    // The refresh lands: fresh again, no stale markers.
    await put(ns, 'swr', 'new', { 'cache-control': 'max-age=600, stale-while-revalidate=60' });
    const after = await call('GET', keyPath(ns, 'swr'));
    expect(await after.text()).toBe('new');
    expect(after.headers.get('strata-revalidate')).toBeNull();
  });

  it('reports status per region and tier', async () => {
    const ns = freshNamespace('pstat');
    await put(ns, 'k', 'v', { 'cache-tag': 'x' });
    const accepted = await purge({ namespace: ns, tags: ['x'] });
    await eventually(async () => {
      const res = await call('GET', accepted.status);
      const body = (await res.json()) as { complete: boolean; l3: { state: string } };
      return res.status === 200 && body.l3.state === 'done';
    }, 5000);
    const res = await call('GET', accepted.status);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: accepted.id,
      namespace: ns,
      tags: ['x'],
      soft: false,
      origin: 'test',
      regions: { test: { state: 'done' } },
    });
    expect((await call('GET', '/v1/purge/pg_000000000000000000000000_test')).status).toBe(404);
    expect((await call('GET', '/v1/purge/nonsense')).status).toBe(404);
  });

  it('rejects bad purges with problem+json before doing anything', async () => {
    const cases: [unknown, number][] = [
      [{ namespace: 'Bad NS', keys: ['k'] }, 400],
      [{ namespace: 'ok' }, 400],
      [{ namespace: 'ok', tags: ['has space'] }, 400],
      [{ namespace: 'ok', keys: Array.from({ length: 101 }, (_, i) => `k${i}`) }, 400],
      [{ namespace: 'ok', keys: 'k' }, 400],
      ['not an object', 400],
    ];
    for (const [body, code] of cases) {
      const res = await call('POST', '/v1/purge', {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status, JSON.stringify(body)).toBe(code);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    const notJson = await call('POST', '/v1/purge', {
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    const noAuth = await call('POST', '/v1/purge', {
      auth: null,
      body: JSON.stringify({ namespace: 'ok', all: true }),
      headers: { 'content-type': 'application/json' },
    });
    expect(noAuth.status).toBe(401);
    const huge = await call('POST', '/v1/purge', {
      body: 'x'.repeat(70_000),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.status).toBe(413);
  });

  it('a purge older than a write arriving later still removes nothing newer (region clock observed)', async () => {
    const ns = freshNamespace('pclock');
    const accepted = await purge({ namespace: ns, all: true });
    const written = await put(ns, 'k', 'v');
    // The shard's clock moved past the purge: the write is stamped after it.
    const [pw, pc] = accepted.version.split('-').map(Number) as [number, number];
    const [ww, wc] = written.version.split('-').map(Number) as [number, number];
    expect(ww > pw || (ww === pw && wc > pc)).toBe(true);
    expect(await status(ns, 'k')).toBe(200);
    expect(env.REGION).toBe('test');
  });
});

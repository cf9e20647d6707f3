/** The key API end to end through the real Worker, shards and L3. */
import { describe, expect, it } from 'vitest';
import { call, eventually, freshNamespace, hitTier, keyPath } from './helpers.ts';

describe('PUT then GET', () => {
  it('round-trips every byte value exactly, with its content type', async () => {
    const ns = freshNamespace();
    const bytes = new Uint8Array(512).map((_, i) => i % 256);
    const put = await call('PUT', keyPath(ns, 'bin'), {
      body: bytes,
      headers: { 'content-type': 'image/x-test' },
    });
    expect(put.status).toBe(201);
    const written = (await put.json()) as {
      version: string;
      size: number;
      tiers: Record<string, string>;
    };
    expect(written.size).toBe(512);
    expect(written.tiers).toEqual({ L2: 'stored', L3: 'stored' });
    expect(put.headers.get('etag')).toBe(`"${written.version}"`);

    const get = await call('GET', keyPath(ns, 'bin'));
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('image/x-test');
    expect(get.headers.get('etag')).toBe(`"${written.version}"`);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes);
  });

  it('keeps unicode values and keys with slashes, spaces and emoji', async () => {
    const ns = freshNamespace();
    const key = 'users/42/profile name 🚀';
    const text = 'héllo wörld — 你好 👋🏽';
    await call('PUT', keyPath(ns, key), {
      body: text,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
    const get = await call('GET', keyPath(ns, key));
    expect(get.status).toBe(200);
    expect(await get.text()).toBe(text);
    expect(get.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('stores an empty value', async () => {
    const ns = freshNamespace();
    expect((await call('PUT', keyPath(ns, 'empty'), { body: new Uint8Array(0) })).status).toBe(201);
    const get = await call('GET', keyPath(ns, 'empty'));
    expect(get.status).toBe(200);
    expect(get.headers.get('content-length')).toBe('0');
    expect(get.headers.get('content-type')).toBe('application/octet-stream');
  });

  it('answers Age, ETag, Cache-Tag and a remaining max-age', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), {
      body: 'v',
      headers: { 'cache-control': 'max-age=120', 'cache-tag': 'a,b' },
    });
    const get = await call('GET', keyPath(ns, 'k'));
    expect(Number(get.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(Number(get.headers.get('age'))).toBeLessThan(5);
    expect(get.headers.get('cache-tag')).toBe('a,b');
    const maxAge = Number(/max-age=(\d+)/.exec(get.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(110);
    expect(maxAge).toBeLessThanOrEqual(120);
  });

  it('overwrites with a newer version', async () => {
    const ns = freshNamespace();
    const first = (await (await call('PUT', keyPath(ns, 'k'), { body: 'one' })).json()) as {
      version: string;
    };
    const second = (await (await call('PUT', keyPath(ns, 'k'), { body: 'two' })).json()) as {
      version: string;
    };
    expect(second.version).not.toBe(first.version);
    const get = await call('GET', keyPath(ns, 'k'));
    expect(await get.text()).toBe('two');
    expect(get.headers.get('etag')).toBe(`"${second.version}"`);
  });
});

describe('conditional and HEAD requests', () => {
  it('answers 304 to a matching If-None-Match, 200 otherwise', async () => {
    const ns = freshNamespace();
    const put = await call('PUT', keyPath(ns, 'k'), { body: 'v' });
    const etag = put.headers.get('etag') as string;
    const hit = await call('GET', keyPath(ns, 'k'), { headers: { 'if-none-match': etag } });
    expect(hit.status).toBe(304);
    expect(hit.headers.get('etag')).toBe(etag);
    expect(await hit.text()).toBe('');
    const weak = await call('GET', keyPath(ns, 'k'), {
      headers: { 'if-none-match': `"other", W/${etag}` },
    });
    expect(weak.status).toBe(304);
    const star = await call('GET', keyPath(ns, 'k'), { headers: { 'if-none-match': '*' } });
    expect(star.status).toBe(304);
    const miss = await call('GET', keyPath(ns, 'k'), { headers: { 'if-none-match': '"nope"' } });
    expect(miss.status).toBe(200);
  });

  it('HEAD returns the headers without a body', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), { body: 'twelve bytes' });
    const head = await call('HEAD', keyPath(ns, 'k'));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('12');
    expect(await head.text()).toBe('');
  });
});

describe('misses and deletes', () => {
  it('a miss is a 404 problem with Cache-Status naming every tier', async () => {
    const ns = freshNamespace();
    const res = await call('GET', keyPath(ns, 'absent'));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as { status: number; type: string };
    expect(problem.status).toBe(404);
    expect(problem.type).toBe('urn:strata:problem:not-found');
    expect(res.headers.get('cache-status')).toBe(
      'strata-l3; fwd=miss, strata-l2; fwd=miss, strata-l1; fwd=miss',
    );
    expect(hitTier(res)).toBeNull();
  });

  it('DELETE removes the entry from every tier', async () => {
    const ns = freshNamespace();
    await call('PUT', keyPath(ns, 'k'), { body: 'v' });
    // Wait until a read is served from L1, so the delete must clear L1 too.
    await eventually(async () => hitTier(await call('GET', keyPath(ns, 'k'))) === 'L1');
    const del = await call('DELETE', keyPath(ns, 'k'));
    expect(del.status).toBe(204);
    expect(del.headers.get('strata-l3')).toBe('stored');
    expect((await call('GET', keyPath(ns, 'k'))).status).toBe(404);
  });

  it('unknown routes are 404 problems', async () => {
    const res = await call('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

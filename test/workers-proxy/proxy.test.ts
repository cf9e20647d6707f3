/**
 * Proxy mode end to end in workerd: the Worker in front of the scriptable
 * origin, with real shards, L1 (Cache API) and L3 (redis-server).
 */
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ShardDO } from '../../durable-objects/shard.ts';
import { shardStub } from '../workers/helpers.ts';
import {
  fetchText,
  get,
  inL3,
  l2Keys,
  NS,
  originMode,
  originRequests,
  purge,
  script,
  sleep,
  uniquePath,
  waitForRequests,
} from './helpers.ts';

const cc = (value: string) => `h=cache-control:${encodeURIComponent(value)}`;

describe('freshness and Age', () => {
  it('stores a fresh response once and serves it from the cache with a growing Age', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}`;
    const first = await fetchText(url);
    expect(first.res.status).toBe(200);
    // ttl is whole seconds left; a slow machine may have spent one already.
    expect(first.status).toMatch(/^strata; fwd=uri-miss; fwd-status=200; ttl=5\d; stored$/);
    await sleep(1100);
    const second = await fetchText(url);
    expect(second.text).toBe(first.text);
    expect(second.status).toMatch(/^strata; hit; ttl=5\d; detail=l[12]$/);
    expect(Number(second.res.headers.get('age'))).toBeGreaterThanOrEqual(1);
    expect(await originRequests(path)).toHaveLength(1);
  });

  it('honours Age from upstream: a response older than its max-age is stale on arrival', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}&h=age:120`;
    await fetchText(url);
    const again = await fetchText(url);
    expect(again.status).toContain('fwd=uri-miss');
    expect(await originRequests(path)).toHaveLength(2);
  });

  it('uses Expires, and heuristic freshness from Last-Modified', async () => {
    const expires = new Date(Date.now() + 600_000).toUTCString();
    const a = uniquePath();
    await fetchText(`${a}?h=expires:${encodeURIComponent(expires)}`);
    expect((await fetchText(`${a}?h=expires:${encodeURIComponent(expires)}`)).status).toContain(
      'hit',
    );
    const b = uniquePath();
    const lm = new Date(Date.now() - 86_400_000).toUTCString();
    await fetchText(`${b}?h=last-modified:${encodeURIComponent(lm)}`);
    expect((await fetchText(`${b}?h=last-modified:${encodeURIComponent(lm)}`)).status).toContain(
      'hit',
    );
  });

  it('never stores no-store, in any tier', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('no-store, max-age=60')}`;
    const first = await fetchText(url);
    expect(first.status).toBe('strata; fwd=uri-miss; fwd-status=200; detail=no-store');
    await fetchText(url);
    expect(await originRequests(path)).toHaveLength(2);
    expect(await l2Keys(`${path}?${cc('no-store, max-age=60')}`)).toEqual([]);
    expect(await inL3(`${path}?${cc('no-store, max-age=60')}`)).toBe(false);
  });

  it('stores a cacheable one in L2 and L3', async () => {
    const path = uniquePath();
    const target = `${path}?${cc('max-age=60')}`;
    await fetchText(target);
    expect(await l2Keys(target)).toEqual([target]);
    expect(await inL3(target)).toBe(true);
  });

  it('answers only-if-cached with a 504 when nothing is stored', async () => {
    const res = await get(`${uniquePath()}?${cc('max-age=60')}`, {
      'cache-control': 'only-if-cached',
    });
    expect(res.status).toBe(504);
    expect((await res.json()) as { type: string }).toMatchObject({
      type: 'urn:strata:problem:not-cached',
    });
  });

  it('goes to the origin for a request no-cache, and says so', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}`;
    await fetchText(url);
    const again = await fetchText(url, { 'cache-control': 'no-cache' });
    expect(again.status).toMatch(/^strata; fwd=request; fwd-status=200; ttl=5\d; stored$/);
    expect(await originRequests(path)).toHaveLength(2);
  });
});

describe('Vary', () => {
  it('keeps one variant per selecting value, each served from the cache', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}&vary=accept-language`;
    const fr = await fetchText(url, { 'accept-language': 'fr' });
    const en = await fetchText(url, { 'accept-language': 'en' });
    expect(fr.text).toContain('accept-language=fr');
    expect(en.text).toContain('accept-language=en');
    expect(en.status).toContain('fwd=vary-miss');
    expect((await fetchText(url, { 'accept-language': 'fr' })).text).toBe(fr.text);
    expect((await fetchText(url, { 'accept-language': 'en' })).text).toBe(en.text);
    expect(await originRequests(path)).toHaveLength(2);
    // The marker at the URL's key and two variants, on one shard, in L2.
    expect(await l2Keys(url)).toHaveLength(3);
  });
});

describe('validation', () => {
  it('revalidates a stale response with If-None-Match and merges the 304 into it (RFC 9111 §4.3.4)', async () => {
    const path = uniquePath();
    await script(path, [
      {
        headers: {
          'cache-control': 'max-age=1',
          etag: '"v1"',
          'x-version': 'a',
          'content-type': 'text/plain',
        },
        body: 'body v1',
      },
      {
        status: 304,
        headers: { 'cache-control': 'max-age=60', etag: '"v1"', 'x-version': 'b', 'x-new': 'yes' },
      },
    ]);
    await fetchText(path);
    await sleep(2100);
    const second = await fetchText(path);
    expect(second.text).toBe('body v1');
    expect(second.res.headers.get('x-version')).toBe('b');
    expect(second.res.headers.get('x-new')).toBe('yes');
    expect(second.status).toMatch(/^strata; fwd=stale; fwd-status=304; ttl=\d+; stored$/);
    const seen = await originRequests(path);
    expect(seen[1]?.headers['if-none-match']).toBe('"v1"');
    // Fresh again for 60 s, from the refreshed fields.
    expect((await fetchText(path)).status).toContain('hit');
    expect(await originRequests(path)).toHaveLength(2);
  });

  it('answers a client conditional with a 304 from the cache', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}&etag=e1`;
    await fetchText(url);
    const res = await get(url, { 'if-none-match': '"e1"' });
    expect(res.status).toBe(304);
    expect(res.headers.get('cache-status')).toContain('hit');
    expect(await originRequests(path)).toHaveLength(1);
  });

  it('cuts a byte range from a stored response, and 416 past its end', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}&body=0123456789`;
    const part = await get(url, { range: 'bytes=2-4' });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('234');
    expect(part.headers.get('content-range')).toBe('bytes 2-4/10');
    expect((await get(url, { range: 'bytes=20-' })).status).toBe(416);
    // The origin was asked for the whole response, once.
    const seen = await originRequests(path);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.range).toBeUndefined();
  });
});

describe('serving stale', () => {
  it('stale-while-revalidate: serves stale at once, with exactly one background refresh', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=2, stale-while-revalidate=60')}`;
    await fetchText(url);
    await sleep(3100);
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetchText(url)));
    for (const a of answers) {
      expect(a.res.status).toBe(200);
      expect(a.text).toContain('#1');
    }
    expect(answers.some((a) => a.status.includes('stale-while-revalidate'))).toBe(true);
    const seen = await waitForRequests(path, 2);
    expect(seen).toHaveLength(2);
    await sleep(500);
    expect(await originRequests(path)).toHaveLength(2);
    expect((await fetchText(url)).text).toContain('#2');
  });

  it('stale-if-error: the stored response answers while the origin is down', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=1, stale-if-error=60')}`;
    const first = await fetchText(url);
    await sleep(2100);
    await originMode('down');
    try {
      const stale = await fetchText(url);
      expect(stale.res.status).toBe(200);
      expect(stale.text).toBe(first.text);
      expect(stale.status).toContain('detail="stale-if-error origin-unreachable"');
    } finally {
      await originMode('up');
    }
  });

  it('stale-if-error covers 5xx too; without it the error is a 502 problem', async () => {
    const withSie = uniquePath();
    const plain = uniquePath();
    await fetchText(`${withSie}?${cc('max-age=1, stale-if-error=60')}`);
    await fetchText(`${plain}?${cc('max-age=1')}`);
    await sleep(2100);
    await originMode('error');
    try {
      const stale = await fetchText(`${withSie}?${cc('max-age=1, stale-if-error=60')}`);
      expect(stale.res.status).toBe(200);
      expect(stale.status).toContain('fwd-status=503');
      const passed = await fetchText(`${plain}?${cc('max-age=1')}`);
      expect(passed.res.status).toBe(503);
    } finally {
      await originMode('up');
    }
    await originMode('down');
    try {
      const res = await get(`${plain}?${cc('max-age=1')}`);
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('cache-status')).toContain('detail=origin-unreachable');
    } finally {
      await originMode('up');
    }
  });

  it('a slow origin is a 504 problem', async () => {
    const res = await get(`${uniquePath()}?${cc('max-age=60')}&delay=2500`);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { type: string }).type).toBe('urn:strata:problem:origin-timeout');
  });
});

describe('request collapsing', () => {
  it('100 concurrent misses make one origin request, and all get its response', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}&delay=300`;
    const answers = await Promise.all(Array.from({ length: 100 }, () => fetchText(url)));
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers.every((a) => a.res.status === 200)).toBe(true);
    expect(answers.filter((a) => a.status.includes('collapsed')).length).toBeGreaterThan(0);
    expect(await originRequests(path)).toHaveLength(1);
  });

  it('does not share a response that may not be shared: each waiter asks for itself', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}&h=set-cookie:a%3D1&delay=200`;
    const answers = await Promise.all(Array.from({ length: 5 }, () => fetchText(url)));
    expect(new Set(answers.map((a) => a.text)).size).toBe(5);
    expect(answers.every((a) => a.status.includes('detail=set-cookie'))).toBe(true);
  });
});

describe('hit-for-pass', () => {
  it('sends an uncacheable URL straight to the origin for a while, past its shard', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('private, max-age=60')}`;
    const shardAsks = () =>
      runInDurableObject(
        shardStub(NS, url),
        (shard: ShardDO) =>
          (shard as unknown as { proxy: { originRequests: number } }).proxy.originRequests,
      );
    const before = await shardAsks();
    expect((await fetchText(url)).status).toBe(
      'strata; fwd=uri-miss; fwd-status=200; detail=private',
    );
    for (let i = 0; i < 3; i++) {
      const next = await fetchText(url);
      expect(next.status).toBe('strata; fwd=bypass; fwd-status=200; detail=pass');
      expect(next.text).toContain(`#${i + 2}`);
    }
    expect(await originRequests(path)).toHaveLength(4);
    // Only the first went through the URL's shard.
    expect((await shardAsks()) - before).toBe(1);
  });

  it('is not set by an error status or a request directive', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}&status=503`;
    await fetchText(url);
    expect((await fetchText(url)).status).not.toContain('detail=pass');
    const other = uniquePath();
    const plain = `${other}?${cc('max-age=60')}`;
    expect((await fetchText(plain, { 'cache-control': 'no-store' })).status).toContain(
      'detail=request-no-store',
    );
    expect((await fetchText(plain)).status).toMatch(
      /fwd=uri-miss; fwd-status=200; ttl=5\d; stored$/,
    );
  });
});

describe('when the shard fails', () => {
  it('answers from the origin, uncached, rather than fail', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}`;
    const stub = shardStub(NS, url);
    type Swappable = { proxy: unknown; savedProxy?: unknown };
    await runInDurableObject(stub, (shard: ShardDO) => {
      const s = shard as unknown as Swappable;
      s.savedProxy = s.proxy;
      s.proxy = { serve: () => Promise.reject(new Error('shard down')), raced: () => {} };
    });
    try {
      const res = await fetchText(url);
      expect(res.res.status).toBe(200);
      expect(res.status).toBe('strata; fwd=bypass; fwd-status=200; detail=shard-unavailable');
      expect(await originRequests(path)).toHaveLength(1);
    } finally {
      await runInDurableObject(stub, (shard: ShardDO) => {
        const s = shard as unknown as Swappable;
        s.proxy = s.savedProxy;
      });
    }
  });
});

describe('tags and purges', () => {
  it('purges proxied responses by Cache-Tag and Surrogate-Key, which clients do not see', async () => {
    const a = uniquePath();
    const b = uniquePath();
    const urlA = `${a}?${cc('max-age=600')}&h=cache-tag:news,sport`;
    const urlB = `${b}?${cc('max-age=600')}&h=surrogate-key:sport%20weather`;
    const first = await get(urlA);
    expect(first.headers.get('cache-tag')).toBeNull();
    await first.text();
    await fetchText(urlB);
    expect((await fetchText(urlA)).status).toContain('hit');
    expect((await purge({ tags: ['sport'] })).status).toBe(202);
    expect((await fetchText(urlA)).text).toContain('#2');
    expect((await fetchText(urlB)).text).toContain('#2');
  });

  it('a key purge of a URL takes all its variants', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=600')}&vary=accept-language`;
    await fetchText(url, { 'accept-language': 'fr' });
    await fetchText(url, { 'accept-language': 'en' });
    expect((await purge({ keys: [url] })).status).toBe(202);
    expect((await fetchText(url, { 'accept-language': 'fr' })).text).toContain('#3');
    expect((await fetchText(url, { 'accept-language': 'en' })).text).toContain('#4');
  });
});

describe('unsafe methods invalidate (RFC 9111 §4.4)', () => {
  it('a successful POST drops the stored response; a failed one does not', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=600')}`;
    await fetchText(url);
    const failed = await get(`${url}&status=500`, {}, 'POST', 'x');
    await failed.text();
    // A different query is a different URL: the 500 is about `${url}&status=500`.
    expect((await fetchText(url)).status).toContain('hit');
    const post = await get(url, {}, 'POST', 'x');
    expect(post.headers.get('cache-status')).toBe('strata; fwd=method; fwd-status=200');
    await post.text();
    expect((await fetchText(url)).status).toContain('fwd=uri-miss');
  });

  it('also invalidates the Location and Content-Location URLs of the same origin', async () => {
    const target = uniquePath('target');
    const other = uniquePath('other');
    const action = uniquePath('action');
    await fetchText(`${target}?${cc('max-age=600')}`);
    await fetchText(`${other}?${cc('max-age=600')}`);
    await script(action, [
      {
        status: 201,
        headers: {
          location: `${target}?${cc('max-age=600')}`,
          'content-location': `http://elsewhere.example${other}?${cc('max-age=600')}`,
        },
      },
    ]);
    const res = await get(action, {}, 'PUT', 'x');
    expect(res.status).toBe(201);
    await res.text();
    expect((await fetchText(`${target}?${cc('max-age=600')}`)).status).toContain('fwd=uri-miss');
    // Another origin's URL is never invalidated by a response.
    expect((await fetchText(`${other}?${cc('max-age=600')}`)).status).toContain('hit');
  });
});

describe('safety', () => {
  it('never forwards unkeyed fields, so they cannot change what others get', async () => {
    const path = uniquePath();
    const url = `${path}?${cc('max-age=60')}`;
    const poisoned = await fetchText(url, {
      'x-forwarded-host': 'evil.example',
      'x-original-url': '/admin',
      'x-http-method-override': 'DELETE',
      forwarded: 'host=evil.example',
    });
    const seen = await originRequests(path);
    expect(seen[0]?.headers['x-forwarded-host']).toBeUndefined();
    expect(seen[0]?.headers['x-original-url']).toBeUndefined();
    expect(seen[0]?.headers['x-http-method-override']).toBeUndefined();
    expect(seen[0]?.headers.forwarded).toBeUndefined();
    expect(seen[0]?.headers.via).toBe('1.1 strata-test');
    expect((await fetchText(url)).text).toBe(poisoned.text);
  });

  it('keys and fetches the same normalised path', async () => {
    const path = uniquePath();
    const a = await fetchText(`${path}/x/../page?${cc('max-age=60')}`);
    const b = await fetchText(`${path}/%70age?${cc('max-age=60')}`);
    expect(b.text).toBe(a.text);
    expect(b.status).toContain('hit');
    const seen = await originRequests(`${path}/page`);
    expect(seen).toHaveLength(1);
  });

  it('never stores an error an odd request provoked (400), nor a 5xx, for everyone', async () => {
    for (const status of [400, 431, 500, 503]) {
      const path = uniquePath();
      const url = `${path}?${cc('max-age=600')}&status=${status}`;
      await fetchText(url);
      await fetchText(url);
      expect(await originRequests(path)).toHaveLength(2);
    }
  });

  it('drops hop-by-hop fields both ways', async () => {
    const path = uniquePath();
    const res = await get(`${path}?${cc('max-age=60')}&h=x-hop:1&h=connection:x-hop`, {
      connection: 'x-secret',
      'x-secret': 'token',
    });
    await res.text();
    expect(res.headers.get('x-hop')).toBeNull();
    const seen = await originRequests(path);
    expect(seen[0]?.headers['x-secret']).toBeUndefined();
  });

  it('closes the proxy namespace to the key API', async () => {
    const res = await get(
      '/v1/cache/proxy/anything',
      { authorization: 'Bearer test-admin-key' },
      'PUT',
      'poison',
    );
    expect(res.status).toBe(403);
  });

  it('streams a response too large to store, without storing it', async () => {
    const path = uniquePath();
    const big = 'x'.repeat(70_000);
    await script(path, [
      {
        headers: { 'cache-control': 'max-age=60', 'content-length': String(big.length) },
        body: big,
      },
      {
        headers: { 'cache-control': 'max-age=60', 'content-length': String(big.length) },
        body: big,
      },
    ]);
    const res = await fetchText(path);
    expect(res.text).toHaveLength(70_000);
    expect(res.status).toContain('detail=too-large');
    expect(await l2Keys(path)).toEqual([]);
  });
});

/**
 * `authenticate()` and the admin routes on a small Hono app in node, with an
 * in-memory stand-in for KeysDO's RPC surface (the real object runs in the
 * workers project).
 */
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppEnv } from '../../src/app-env.ts';
import {
  generateApiKey,
  hashSecret,
  type KeyRecord,
  type KeySummary,
} from '../../src/auth/api-keys.ts';
import { authenticate, readCredential } from '../../src/auth/middleware.ts';
import { authorize, type Scope } from '../../src/auth/principal.ts';
import { ManualClock } from '../../src/clock.ts';
import type { Env } from '../../src/env.ts';
import { problemResponse } from '../../src/errors.ts';
import { adminRoutes } from '../../src/routes/admin.ts';

const ADMIN = 'test-admin-key';
const ISS = 'https://issuer.test';
const AUD = 'strata-test';
const JWT_SECRET = 'a-test-secret-of-at-least-32-bytes!!';

/** KeysDO's RPC methods over a Map. */
class MemoryKeys {
  readonly rows = new Map<string, KeyRecord>();
  lookups = 0;
  async create(input: { name?: string; namespaces: string[]; scopes: Scope[] }) {
    const { id, secret } = generateApiKey();
    const record: KeyRecord = {
      id,
      name: input.name ?? null,
      hash: await hashSecret(secret),
      namespaces: input.namespaces,
      scopes: input.scopes,
      createdAt: 1_700_000_000_000,
      revokedAt: null,
    };
    this.rows.set(id, record);
    const { hash: _hash, ...summary } = record;
    return { id, secret, record: summary };
  }
  async lookup(id: string) {
    this.lookups++;
    return this.rows.get(id) ?? null;
  }
  async revoke(id: string) {
    const row = this.rows.get(id);
    if (!row) return false;
    row.revokedAt ??= 1_700_000_001_000;
    return true;
  }
  async list(): Promise<KeySummary[]> {
    return [...this.rows.values()].map(({ hash: _hash, ...summary }) => summary);
  }
}

function setup(options: { jwt?: boolean } = {}) {
  const keys = new MemoryKeys();
  const env = {
    KEYS: { getByName: () => keys },
    STRATA_ADMIN_KEY: ADMIN,
    ...(options.jwt === false ? {} : { JWT_ISSUER: ISS, JWT_AUDIENCE: AUD, JWT_SECRET }),
  } as unknown as Env;
  const clock = new ManualClock(1_800_000_000_000);
  const app = new Hono<AppEnv>();
  app.use('/v1/*', authenticate({ clock }));
  app.get('/v1/cache/:ns/:key', (c) => {
    authorize(c.get('principal'), 'read', c.req.param('ns'));
    return c.json({ principal: c.get('principal').id });
  });
  app.put('/v1/cache/:ns/:key', (c) => {
    authorize(c.get('principal'), 'write', c.req.param('ns'));
    return c.body(null, 201);
  });
  app.route('/v1/admin', adminRoutes);
  app.onError((err, c) => problemResponse(err, c.req.path));
  const call = (method: string, path: string, auth: string | null, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (auth !== null) headers.set('authorization', `Bearer ${auth}`);
    return app.request(path, { ...init, method, headers }, env);
  };
  const createKey = async (body: unknown, auth = ADMIN) =>
    call('POST', '/v1/admin/keys', auth, {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  return { app, env, keys, clock, call, createKey };
}

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as { status: number; detail: string; errors?: { path: string }[] };
}

afterEach(() => vi.restoreAllMocks());

describe('readCredential', () => {
  it.each([
    [{ authorization: 'Bearer abc' }, 'abc'],
    [{ authorization: 'bearer   abc  ' }, 'abc'],
    [{ 'x-api-key': 'abc' }, 'abc'],
    [{ authorization: 'Bearer abc', 'x-api-key': 'abc' }, 'abc'],
    [{}, null],
  ])('%j → %j', (headers, expected) => {
    expect(readCredential(new Headers(headers))).toBe(expected);
  });

  it.each([
    [{ authorization: 'Basic dXNlcjpwYXNz' }, /Bearer <token>/],
    [{ authorization: 'Bearer' }, /Bearer <token>/],
    [{ authorization: 'Bearer a b' }, /Bearer <token>/],
    [{ authorization: 'Bearer abc', 'x-api-key': 'def' }, /one credential/],
    [{ 'x-api-key': 'x'.repeat(8193) }, /longer than/],
  ])('refuses %j', (headers, detail) => {
    expect(() => readCredential(new Headers(headers))).toThrow(detail);
  });
});

describe('authenticate()', () => {
  it('answers 401 problem+json with a Bearer challenge when no credential is sent', async () => {
    const { call } = setup();
    const res = await call('GET', '/v1/cache/a/k', null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="strata"');
    expect((await problem(res)).status).toBe(401);
  });

  it('marks a rejected credential with error="invalid_token" and never echoes it', async () => {
    const { call } = setup();
    for (const bad of [
      'nonsense',
      `strata_0123456789abcdef_${'A'.repeat(43)}`,
      'strata_short',
      'aaaa.bbbb.cccc',
    ]) {
      const res = await call('GET', '/v1/cache/a/k', bad);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        'Bearer realm="strata", error="invalid_token"',
      );
      expect(JSON.stringify(await problem(res))).not.toContain(bad);
    }
  });

  it('accepts the bootstrap admin key, by header or X-Api-Key', async () => {
    const { call } = setup();
    const res = await call('GET', '/v1/cache/any/k', ADMIN);
    expect(await res.json()).toEqual({ principal: 'admin:bootstrap' });
    const viaHeader = await call('GET', '/v1/cache/any/k', null, {
      headers: { 'x-api-key': ADMIN },
    });
    expect(viaHeader.status).toBe(200);
  });

  it('scopes an API key to its namespaces and scopes', async () => {
    const { call, createKey } = setup();
    const { key } = (await (
      await createKey({ namespaces: ['a'], scopes: ['read', 'write'] })
    ).json()) as { key: string };
    expect((await call('PUT', '/v1/cache/a/k', key)).status).toBe(201);
    expect(await (await call('GET', '/v1/cache/a/k', key)).json()).toMatchObject({
      principal: expect.stringMatching(/^key:[0-9a-f]{16}$/),
    });
    expect((await call('GET', '/v1/cache/b/k', key)).status).toBe(403);
    const ro = (
      (await (await createKey({ namespaces: ['a'], scopes: ['read'] })).json()) as { key: string }
    ).key;
    expect((await call('GET', '/v1/cache/a/k', ro)).status).toBe(200);
    expect((await call('PUT', '/v1/cache/a/k', ro)).status).toBe(403);
  });

  it('looks a key up once per AUTH_CACHE_TTL, and forgets it on revocation here', async () => {
    const { call, createKey, keys, clock } = setup();
    const { id, key } = (await (
      await createKey({ namespaces: ['a'], scopes: ['read'] })
    ).json()) as { id: string; key: string };
    await call('GET', '/v1/cache/a/k', key);
    await call('GET', '/v1/cache/a/k', key);
    expect(keys.lookups).toBe(1);
    clock.advance(10_000);
    await call('GET', '/v1/cache/a/k', key);
    expect(keys.lookups).toBe(2);
    expect((await call('DELETE', `/v1/admin/keys/${id}`, ADMIN)).status).toBe(204);
    expect((await call('GET', '/v1/cache/a/k', key)).status).toBe(401);
  });

  it('verifies JWTs when configured', async () => {
    const { call, clock } = setup();
    const now = Math.floor(clock.now() / 1000);
    const token = await new SignJWT({ namespaces: ['a'], scope: 'read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('svc')
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect(await (await call('GET', '/v1/cache/a/k', token)).json()).toEqual({
      principal: 'jwt:svc',
    });
    expect((await call('PUT', '/v1/cache/a/k', token)).status).toBe(403);
    clock.advance(66_000);
    const expired = await call('GET', '/v1/cache/a/k', token);
    expect(expired.status).toBe(401);
    expect((await problem(expired)).detail).toMatch(/expired/);
  });

  it('explains that JWT is not configured', async () => {
    const { call } = setup({ jwt: false });
    const res = await call('GET', '/v1/cache/a/k', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln');
    expect(res.status).toBe(401);
    expect((await problem(res)).detail).toMatch(/not configured/);
  });

  it('logs nothing, so no credential reaches the logs', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m),
    );
    const { call } = setup();
    await call('GET', '/v1/cache/a/k', 'strata_0123456789abcdef_bad');
    await call('GET', '/v1/cache/a/k', ADMIN);
    await call('GET', '/v1/cache/a/k', 'aaaa.bbbb.cccc');
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('validates its options once, at construction', () => {
    expect(() => authenticate({ clock: {} as ManualClock })).toThrow(TypeError);
  });
});

describe('admin routes', () => {
  it('creates a key and shows the secret once, with no-store', async () => {
    const { createKey, call } = setup();
    const res = await createKey({
      name: 'ci',
      namespaces: ['a', 'team-*'],
      scopes: ['write', 'read', 'read'],
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'ci', namespaces: ['a', 'team-*'] });
    expect(body.key).toMatch(new RegExp(`^strata_${body.id}_[A-Za-z0-9_-]{43}$`));
    expect(new Date(body.createdAt as string).toISOString()).toBe(body.createdAt);
    const list = await call('GET', '/v1/admin/keys', ADMIN);
    expect(list.headers.get('cache-control')).toBe('no-store');
    const text = await list.text();
    // The secret is the 43 characters after `strata_<id>_` (it may itself contain `_`).
    expect(text).not.toContain((body.key as string).slice(`strata_${body.id}_`.length));
    expect(text).not.toContain('hash');
    expect(JSON.parse(text)).toEqual({
      keys: [
        {
          id: body.id,
          name: 'ci',
          namespaces: ['a', 'team-*'],
          scopes: ['write', 'read', 'read'],
          createdAt: body.createdAt,
          revokedAt: null,
        },
      ],
    });
  });

  it('revokes: 204, then the list shows revokedAt; unknown ids are 404', async () => {
    const { createKey, call } = setup();
    const { id } = (await (await createKey({ namespaces: ['*'], scopes: ['read'] })).json()) as {
      id: string;
    };
    expect((await call('DELETE', `/v1/admin/keys/${id}`, ADMIN)).status).toBe(204);
    const { keys } = (await (await call('GET', '/v1/admin/keys', ADMIN)).json()) as {
      keys: { revokedAt: string }[];
    };
    expect(keys[0]?.revokedAt).toMatch(/^\d{4}-/);
    for (const unknown of ['ffffffffffffffff', 'not-an-id']) {
      const res = await call('DELETE', `/v1/admin/keys/${unknown}`, ADMIN);
      expect(res.status).toBe(404);
      await problem(res);
    }
  });

  it('needs the admin scope on every namespace', async () => {
    const { createKey, call } = setup();
    const make = async (namespaces: string[], scopes: Scope[]) =>
      ((await (await createKey({ namespaces, scopes })).json()) as { key: string }).key;
    for (const key of [await make(['*'], ['read', 'write']), await make(['a'], ['admin'])]) {
      expect((await call('GET', '/v1/admin/keys', key)).status).toBe(403);
      expect((await createKey({ namespaces: ['*'], scopes: ['admin'] }, key)).status).toBe(403);
    }
    const admin = await make(['*'], ['admin']);
    expect((await call('GET', '/v1/admin/keys', admin)).status).toBe(200);
  });

  it.each([
    ['namespaces missing', { scopes: ['read'] }, 'namespaces'],
    ['namespaces empty', { namespaces: [], scopes: ['read'] }, 'namespaces'],
    ['a bad pattern', { namespaces: ['Bad Name'], scopes: ['read'] }, 'namespaces.0'],
    ['a star inside', { namespaces: ['a*b'], scopes: ['read'] }, 'namespaces.0'],
    [
      '101 patterns',
      { namespaces: Array.from({ length: 101 }, (_, i) => `n${i}`), scopes: ['read'] },
      'namespaces',
    ],
    ['scopes empty', { namespaces: ['a'], scopes: [] }, 'scopes'],
    ['an unknown scope', { namespaces: ['a'], scopes: ['read', 'delete'] }, 'scopes.1'],
    ['an unknown field', { namespaces: ['a'], scopes: ['read'], scope: 'admin' }, '(body)'],
    ['an empty name', { name: '', namespaces: ['a'], scopes: ['read'] }, 'name'],
    ['not an object', ['a'], '(body)'],
  ])('answers 400 for %s', async (_name, body, path) => {
    const { createKey } = setup();
    const res = await createKey(body);
    expect(res.status).toBe(400);
    expect((await problem(res)).errors?.map((e) => e.path)).toContain(path);
  });

  it('answers 400 for a body that is not JSON or not sent as JSON, 413 for a huge one', async () => {
    const { call } = setup();
    const post = (body: string, type: string) =>
      call('POST', '/v1/admin/keys', ADMIN, { body, headers: { 'content-type': type } });
    const notJson = await post('{"namespaces":', 'application/json');
    expect(notJson.status).toBe(400);
    expect((await problem(notJson)).detail).toMatch(/not valid JSON/);
    const wrongType = await post('{"namespaces":["a"],"scopes":["read"]}', 'text/plain');
    expect(wrongType.status).toBe(400);
    expect((await problem(wrongType)).detail).toMatch(/application\/json/);
    expect(
      (await post('{"namespaces":["a"],"scopes":["read"]}', 'application/json; charset=utf-8'))
        .status,
    ).toBe(201);
    expect((await post(`{"name":"${'x'.repeat(20_000)}"}`, 'application/json')).status).toBe(413);
  });
});

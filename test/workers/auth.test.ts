/**
 * Authentication and key management end to end in workerd: the real KeysDO,
 * the full app through `SELF.fetch`, and JWTs checked against the JWK Set
 * served by test/helpers/jwks-global-setup.ts.
 */
import { env, evictDurableObject, runInDurableObject, SELF } from 'cloudflare:test';
import { importPKCS8, SignJWT } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import type { KeysDO } from '../../durable-objects/keys.ts';
import { hashSecret, parseApiKey } from '../../src/auth/api-keys.ts';
import type { Scope } from '../../src/auth/principal.ts';

const ADMIN_KEY = 'test-admin-key';
const BASE = 'https://strata.test';

function request(
  method: string,
  path: string,
  auth: string | null,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (auth !== null) headers.set('authorization', `Bearer ${auth}`);
  return SELF.fetch(`${BASE}${path}`, { ...init, method, headers });
}

function createKey(body: unknown, auth = ADMIN_KEY): Promise<Response> {
  return request('POST', '/v1/admin/keys', auth, {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

async function newKey(namespaces: string[], scopes: Scope[]): Promise<{ id: string; key: string }> {
  const res = await createKey({ namespaces, scopes });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

/** A namespace of this test only (L3 is shared across runs). */
function ns(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

async function expectProblem(res: Response, status: number): Promise<{ detail: string }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as { detail: string };
}

async function jwt(claims: Record<string, unknown>, expiresIn = 300): Promise<string> {
  const key = await importPKCS8(inject('jwtPrivateKey'), 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'strata-test-rs256' })
    .setIssuer('https://issuer.test')
    .setAudience('strata-test')
    .setSubject('svc-test')
    .setIssuedAt(now - 600)
    .setExpirationTime(now + expiresIn)
    .sign(key);
}

describe('KeysDO', () => {
  const keys = () => env.KEYS.getByName('keys');

  it('stores the hash of the secret, never the secret', async () => {
    const created = await keys().create({
      name: 'do-test',
      namespaces: ['a', 'team-*'],
      scopes: ['read', 'write'],
    });
    expect(created.id).toMatch(/^[0-9a-f]{16}$/);
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.record).not.toHaveProperty('hash');

    const record = await keys().lookup(created.id);
    expect(record).toMatchObject({
      id: created.id,
      name: 'do-test',
      namespaces: ['a', 'team-*'],
      scopes: ['read', 'write'],
      revokedAt: null,
    });
    expect(record?.hash).toBe(await hashSecret(created.secret));

    const rows = await runInDurableObject(keys(), (_instance, state) =>
      state.storage.sql.exec('SELECT * FROM api_keys').toArray(),
    );
    expect(JSON.stringify(rows)).not.toContain(created.secret);
  });

  it('revokes known keys only, and lists without hashes', async () => {
    const created = await keys().create({ namespaces: ['*'], scopes: ['admin'] });
    expect(await keys().revoke('ffffffffffffffff')).toBe(false);
    expect(await keys().revoke(created.id)).toBe(true);
    expect(await keys().revoke(created.id)).toBe(true);
    expect((await keys().lookup(created.id))?.revokedAt).toBeTypeOf('number');
    expect(await keys().lookup('ffffffffffffffff')).toBeNull();
    const listed = await keys().list();
    expect(listed.find((k) => k.id === created.id)?.revokedAt).toBeTypeOf('number');
    for (const k of listed) expect(k).not.toHaveProperty('hash');
  });

  it('checks its input even behind the admin route', async () => {
    // Called on the instance: a rejecting RPC through a stub leaks an extra
    // unhandled rejection in the vitest pool (cloudflare/workers-sdk#14736).
    await runInDurableObject(keys(), async (instance: KeysDO) => {
      await expect(instance.create({ namespaces: [], scopes: ['read'] })).rejects.toThrow(
        /namespaces/,
      );
      await expect(
        instance.create({ namespaces: ['a'], scopes: ['root' as Scope] }),
      ).rejects.toThrow(/scopes/);
    });
  });

  it('keeps its keys across a restart', async () => {
    const created = await keys().create({ namespaces: ['a'], scopes: ['read'] });
    await evictDurableObject(keys());
    expect((await keys().lookup(created.id))?.id).toBe(created.id);
  });
});

describe('authentication through the app', () => {
  it('answers 401 problem+json with a Bearer challenge without a credential', async () => {
    const res = await request('GET', `/v1/cache/${ns('a')}/k`, null);
    await expectProblem(res, 401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="strata"/);
  });

  it('answers 401 to an unknown or malformed key, without echoing it', async () => {
    for (const bad of [
      `strata_0123456789abcdef_${'A'.repeat(43)}`,
      'strata_nope',
      'just-a-string',
    ]) {
      const res = await request('GET', `/v1/cache/${ns('a')}/k`, bad);
      const body = await expectProblem(res, 401);
      expect(JSON.stringify(body)).not.toContain(bad);
    }
  });

  it('lets a key use exactly its namespaces and scopes, and stops it once revoked', async () => {
    const a = ns('a');
    const b = ns('b');
    const rw = await newKey([a], ['read', 'write']);
    expect((await request('PUT', `/v1/cache/${a}/k`, rw.key, { body: 'v' })).status).toBe(201);
    const get = await request('GET', `/v1/cache/${a}/k`, rw.key);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('v');
    await expectProblem(await request('GET', `/v1/cache/${b}/k`, rw.key), 403);
    await expectProblem(await request('PUT', `/v1/cache/${b}/k`, rw.key, { body: 'v' }), 403);

    const ro = await newKey([a], ['read']);
    expect((await request('GET', `/v1/cache/${a}/k`, ro.key)).status).toBe(200);
    await expectProblem(await request('PUT', `/v1/cache/${a}/k`, ro.key, { body: 'w' }), 403);

    expect((await request('DELETE', `/v1/admin/keys/${rw.id}`, ADMIN_KEY)).status).toBe(204);
    // This isolate revoked it, so it forgets the cached record at once.
    await expectProblem(await request('GET', `/v1/cache/${a}/k`, rw.key), 401);
    await expectProblem(await request('DELETE', '/v1/admin/keys/ffffffffffffffff', ADMIN_KEY), 404);
  });

  it('accepts the key in X-Api-Key too', async () => {
    const a = ns('a');
    const { key } = await newKey([a], ['read']);
    const res = await SELF.fetch(`${BASE}/v1/cache/${a}/missing`, {
      headers: { 'x-api-key': key },
    });
    expect(res.status).toBe(404);
  });

  it('accepts a JWT signed by a key of the JWK Set, within its claims', async () => {
    const a = ns('a');
    expect(
      (await request('PUT', `/v1/cache/${a}/k`, ADMIN_KEY, { body: 'from-admin' })).status,
    ).toBe(201);
    const token = await jwt({ namespaces: [a], scope: 'read' });
    const get = await request('GET', `/v1/cache/${a}/k`, token);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('from-admin');
    await expectProblem(await request('PUT', `/v1/cache/${a}/k`, token, { body: 'x' }), 403);
    await expectProblem(await request('GET', `/v1/cache/${ns('b')}/k`, token), 403);
  });

  it('rejects an expired JWT, and one without Strata claims', async () => {
    const a = ns('a');
    const expired = await expectProblem(
      await request('GET', `/v1/cache/${a}/k`, await jwt({ namespaces: [a], scope: 'read' }, -60)),
      401,
    );
    expect(expired.detail).toMatch(/expired/);
    const noScope = await expectProblem(
      await request('GET', `/v1/cache/${a}/k`, await jwt({ namespaces: [a] })),
      401,
    );
    expect(noScope.detail).toMatch(/"scope"/);
  });
});

describe('/v1/admin/keys through the app', () => {
  it('answers 403 to a key without admin on every namespace', async () => {
    const a = ns('a');
    for (const { key } of [await newKey(['*'], ['read', 'write']), await newKey([a], ['admin'])]) {
      await expectProblem(await request('GET', '/v1/admin/keys', key), 403);
      await expectProblem(await createKey({ namespaces: ['*'], scopes: ['admin'] }, key), 403);
    }
    const token = await jwt({ namespaces: [a], scope: 'admin' });
    await expectProblem(await request('GET', '/v1/admin/keys', token), 403);
  });

  it('shows the key once; the list never holds secrets or hashes', async () => {
    const created = await createKey({ name: 'list-test', namespaces: ['a'], scopes: ['read'] });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const body = (await created.json()) as { id: string; key: string; createdAt: string };
    const parts = parseApiKey(body.key);
    expect(parts?.id).toBe(body.id);

    const admin = await newKey(['*'], ['admin']);
    const list = await request('GET', '/v1/admin/keys', admin.key);
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toBe('no-store');
    const text = await list.text();
    expect(text).not.toContain(parts?.secret);
    expect(text).not.toContain(await hashSecret(parts?.secret ?? ''));
    expect(text).not.toMatch(/"(key|hash|secret)"/);
    const { keys } = JSON.parse(text) as { keys: { id: string; name: string | null }[] };
    expect(keys.find((k) => k.id === body.id)).toMatchObject({
      name: 'list-test',
      namespaces: ['a'],
      scopes: ['read'],
      revokedAt: null,
    });
  });

  it.each([
    ['no namespaces', { scopes: ['read'] }],
    ['a bad namespace pattern', { namespaces: ['Not Valid'], scopes: ['read'] }],
    ['no scopes', { namespaces: ['a'], scopes: [] }],
    ['an unknown scope', { namespaces: ['a'], scopes: ['superuser'] }],
    ['an unknown field', { namespaces: ['a'], scopes: ['read'], expires: 1 }],
  ])('answers 400 to a body with %s', async (_name, body) => {
    await expectProblem(await createKey(body), 400);
  });

  it('answers 400 to a body that is not JSON or not declared as JSON', async () => {
    const post = (body: string, type: string) =>
      request('POST', '/v1/admin/keys', ADMIN_KEY, { body, headers: { 'content-type': type } });
    await expectProblem(await post('{', 'application/json'), 400);
    await expectProblem(await post('{"namespaces":["a"],"scopes":["read"]}', 'text/plain'), 400);
  });
});

/**
 * Signed invalidation webhooks in workerd: POST /v1/webhooks/invalidate[/:endpoint]
 * with Standard Webhooks headers, against the real PurgeDO and shards.
 *
 * Endpoints (vitest.config.ts): `default` with two secrets (a rotation in
 * progress, STRATA_WEBHOOK_SECRET), `cms` limited to the namespace `wh-cms`,
 * and `paused` with no secrets.
 */
import { env, SELF } from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseSecret, signWebhook } from '../../src/webhooks/standard-webhooks.ts';
import { BASE, call, eventually, freshNamespace, keyPath } from './helpers.ts';

const [OLD_SECRET, NEW_SECRET] = (env.STRATA_WEBHOOK_SECRET as string).split(' ') as [
  string,
  string,
];
const CMS_SECRET = (
  JSON.parse(env.WEBHOOK_ENDPOINTS as string) as Record<string, { secrets: string[] }>
).cms?.secrets[0] as string;
const CMS_NAMESPACE = 'wh-cms';

interface Delivery {
  path?: string;
  secret?: string;
  id?: string;
  /** Unix seconds; now by default. */
  timestamp?: number;
  /** The whole `webhook-signature` value, instead of signing. */
  signature?: string;
  headers?: Record<string, string>;
}

function event(data: unknown, type = 'cache.invalidate'): string {
  return JSON.stringify({ type, timestamp: new Date().toISOString(), data });
}

function newId(): string {
  return `msg_${crypto.randomUUID()}`;
}

/** Posts `body` signed with the standardwebhooks package (not the code under test). */
async function deliver(body: string, d: Delivery = {}): Promise<Response> {
  const id = d.id ?? newId();
  const timestamp = d.timestamp ?? Math.floor(Date.now() / 1000);
  const signature =
    d.signature ?? new Webhook(d.secret ?? NEW_SECRET).sign(id, new Date(timestamp * 1000), body);
  return SELF.fetch(`${BASE}${d.path ?? '/v1/webhooks/invalidate'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
      ...d.headers,
    },
    body,
  });
}

async function problem(res: Response): Promise<{ type: string; detail: string }> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as { type: string; detail: string };
}

describe('accepted deliveries', () => {
  it('202 with the purge, whose status the admin key can read', async () => {
    const ns = freshNamespace('wh');
    const res = await deliver(event({ namespace: ns, keys: ['a'] }));
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { id: string; version: string; status: string };
    expect(accepted.status).toBe(`/v1/purge/${accepted.id}`);
    expect(accepted.version).toMatch(/\S/);
    const status = await call('GET', accepted.status);
    expect(status.status).toBe(200);
  });

  it('needs no API key, and ignores one that is wrong', async () => {
    const ns = freshNamespace('wh');
    const res = await deliver(event({ namespace: ns, all: true }), {
      headers: { authorization: 'Bearer not-a-key' },
    });
    expect(res.status).toBe(202);
  });

  it('purges a tagged entry', async () => {
    const ns = freshNamespace('wh');
    const put = await call('PUT', keyPath(ns, 'page'), {
      body: 'v1',
      headers: { 'cache-tag': 't1', 'cache-control': 'max-age=600' },
    });
    expect(put.status).toBe(201);
    expect((await call('GET', keyPath(ns, 'page'))).status).toBe(200);
    const res = await deliver(event({ namespace: ns, tags: ['t1'] }));
    expect(res.status).toBe(202);
    await eventually(async () => (await call('GET', keyPath(ns, 'page'))).status === 404, 10_000);
  });

  it('rotation: both configured secrets sign for "default"', async () => {
    const ns = freshNamespace('wh');
    for (const secret of [OLD_SECRET, NEW_SECRET])
      expect((await deliver(event({ namespace: ns, all: true }), { secret })).status).toBe(202);
  });

  it('a header listing a stale signature and a good one passes', async () => {
    const ns = freshNamespace('wh');
    const body = event({ namespace: ns, all: true });
    const id = newId();
    const ts = Math.floor(Date.now() / 1000);
    const stale = await signWebhook(parseSecret(CMS_SECRET), id, ts, body);
    const good = await signWebhook(parseSecret(OLD_SECRET), id, ts, body);
    const res = await deliver(body, { id, timestamp: ts, signature: `${stale} ${good}` });
    expect(res.status).toBe(202);
  });

  it('a named endpoint purges its own namespace', async () => {
    const res = await deliver(event({ namespace: CMS_NAMESPACE, keys: [crypto.randomUUID()] }), {
      path: '/v1/webhooks/invalidate/cms',
      secret: CMS_SECRET,
    });
    expect(res.status).toBe(202);
  });
});

describe('refused deliveries', () => {
  it('401 for a signature by a secret the endpoint does not have', async () => {
    const res = await deliver(event({ namespace: freshNamespace('wh'), all: true }), {
      secret: CMS_SECRET,
    });
    expect(res.status).toBe(401);
    const body = await problem(res);
    expect(body.type).toBe('urn:strata:problem:invalid-signature');
    // Nothing of the signature comes back.
    expect(JSON.stringify(body)).not.toMatch(/v1,/);
  });

  it('401 for a tampered body', async () => {
    const ns = freshNamespace('wh');
    const id = newId();
    const ts = Math.floor(Date.now() / 1000);
    const signed = event({ namespace: ns, keys: ['a'] });
    const signature = new Webhook(NEW_SECRET).sign(id, new Date(ts * 1000), signed);
    const res = await deliver(signed.replace('"a"', '"b"'), { id, timestamp: ts, signature });
    expect(res.status).toBe(401);
  });

  it('401 without a signature; 400 without an id or with a malformed timestamp', async () => {
    const body = event({ namespace: freshNamespace('wh'), all: true });
    const post = (headers: Record<string, string>) =>
      SELF.fetch(`${BASE}/v1/webhooks/invalidate`, { method: 'POST', headers, body });
    const ts = String(Math.floor(Date.now() / 1000));
    expect((await post({ 'webhook-id': 'm1', 'webhook-timestamp': ts })).status).toBe(401);
    expect((await post({ 'webhook-timestamp': ts, 'webhook-signature': 'v1,x' })).status).toBe(400);
    const ms = { 'webhook-id': 'm1', 'webhook-timestamp': `${ts}000`, 'webhook-signature': 'v1,x' };
    const res = await post(ms);
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toBe('urn:strata:problem:bad-request');
  });

  it('401 for a timestamp more than 5 minutes away, either way', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 301 - 5, now + 301 + 5]) {
      const res = await deliver(event({ namespace: freshNamespace('wh'), all: true }), {
        timestamp,
      });
      expect(res.status).toBe(401);
      expect((await problem(res)).detail).toMatch(/at most 300 s/);
    }
  });

  it('409 for a replayed webhook-id, even re-signed; the id is per endpoint', async () => {
    const ns = freshNamespace('wh');
    const id = newId();
    const body = event({ namespace: ns, all: true });
    expect((await deliver(body, { id })).status).toBe(202);
    const again = await deliver(body, { id });
    expect(again.status).toBe(409);
    const p = await problem(again);
    expect(p.type).toBe('urn:strata:problem:conflict');
    expect(p.detail).toMatch(/replay/);
    // Re-signed with the other secret and another timestamp: still the same delivery.
    const resigned = await deliver(body, {
      id,
      secret: OLD_SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 10,
    });
    expect(resigned.status).toBe(409);
    // Another endpoint keeps its own ids.
    const cms = await deliver(event({ namespace: CMS_NAMESPACE, all: true }), {
      id,
      path: '/v1/webhooks/invalidate/cms',
      secret: CMS_SECRET,
    });
    expect(cms.status).toBe(202);
  });

  it('a refused delivery does not use up its id', async () => {
    const ns = freshNamespace('wh');
    const id = newId();
    const body = event({ namespace: ns, all: true });
    expect((await deliver(body, { id, secret: CMS_SECRET })).status).toBe(401);
    expect((await deliver(body, { id })).status).toBe(202);
  });

  it('403 for a namespace outside the endpoint’s list', async () => {
    const res = await deliver(event({ namespace: freshNamespace('wh'), all: true }), {
      path: '/v1/webhooks/invalidate/cms',
      secret: CMS_SECRET,
    });
    expect(res.status).toBe(403);
    expect((await problem(res)).type).toBe('urn:strata:problem:forbidden');
  });

  it('404 alike for an unknown endpoint, one without secrets and an invalid name', async () => {
    const body = event({ namespace: CMS_NAMESPACE, all: true });
    const details = new Set<string>();
    for (const path of ['unknown', 'paused', 'CMS', 'x'.repeat(65)]) {
      const res = await deliver(body, {
        path: `/v1/webhooks/invalidate/${path}`,
        secret: CMS_SECRET,
      });
      expect(res.status).toBe(404);
      details.add((await problem(res)).detail);
    }
    expect(details.size).toBe(1);
  });

  it('413 for a body over 64 KiB, before the signature is checked', async () => {
    const body = event({ namespace: 'pages', keys: ['a'], padding: 'x'.repeat(64 * 1024) });
    const res = await deliver(body, { signature: 'v1,unchecked' });
    expect(res.status).toBe(413);
    expect((await problem(res)).type).toBe('urn:strata:problem:payload-too-large');
  });

  it('400 for another event type, invalid data, or a body that is not JSON', async () => {
    const ns = freshNamespace('wh');
    const cases: [string, string][] = [
      [event({ namespace: ns, all: true }, 'cache.updated'), 'invalid-purge'],
      [event({ namespace: ns }), 'invalid-purge'],
      [event({ namespace: ns, keys: 'a' }), 'invalid-purge'],
      [event({ namespace: 'Not A Namespace', all: true }), 'invalid-namespace'],
      [JSON.stringify({ type: 'cache.invalidate' }), 'invalid-purge'],
      ['not json', 'bad-request'],
      ['[]', 'bad-request'],
    ];
    for (const [body, code] of cases) {
      const res = await deliver(body);
      expect(res.status, body).toBe(400);
      expect((await problem(res)).type, body).toBe(`urn:strata:problem:${code}`);
    }
  });

  it('the auth exclusion covers webhooks only', async () => {
    const ns = freshNamespace('wh');
    expect((await call('GET', keyPath(ns, 'k'), { auth: null })).status).toBe(401);
    expect((await call('POST', '/v1/purge', { auth: null, body: '{}' })).status).toBe(401);
    // Other methods on webhook paths: no route, and no credential asked for.
    expect((await call('GET', '/v1/webhooks/invalidate', { auth: null })).status).toBe(404);
  });
});

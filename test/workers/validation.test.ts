/**
 * Every class of bad input is rejected with the right status as RFC 9457
 * problem+json, and stores nothing.
 */
import { describe, expect, it } from 'vitest';
import { call, freshNamespace, keyPath } from './helpers.ts';

interface Case {
  name: string;
  path: (ns: string) => string;
  headers?: Record<string, string>;
  body?: BodyInit;
  status: number;
  type: string;
}

const big = () => new Uint8Array(512 * 1024 + 1);

const cases: Case[] = [
  {
    name: 'upper-case namespace',
    path: () => keyPath('Bad', 'k'),
    status: 400,
    type: 'invalid-namespace',
  },
  {
    name: 'namespace of 65 chars',
    path: () => keyPath('a'.repeat(65), 'k'),
    status: 400,
    type: 'invalid-namespace',
  },
  {
    name: 'namespace with a dot',
    path: () => keyPath('a.b', 'k'),
    status: 400,
    type: 'invalid-namespace',
  },
  {
    name: 'key of 513 bytes',
    path: (ns) => keyPath(ns, `${'é'.repeat(256)}x`),
    status: 400,
    type: 'invalid-key',
  },
  {
    name: 'key with a NUL',
    path: (ns) => keyPath(ns, 'a\u0000b'),
    status: 400,
    type: 'invalid-key',
  },
  {
    name: 'key with bad percent-encoding',
    path: (ns) => `/v1/cache/${ns}/%E0%A4%A`,
    status: 400,
    type: 'invalid-key',
  },
  {
    name: 'max-age not a number',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-control': 'max-age=abc' },
    status: 400,
    type: 'invalid-cache-control',
  },
  {
    name: 'max-age zero',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-control': 'max-age=0' },
    status: 400,
    type: 'invalid-cache-control',
  },
  {
    name: 'max-age over 30 days',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-control': 'max-age=2592001' },
    status: 400,
    type: 'invalid-cache-control',
  },
  {
    name: 'stale-while-revalidate over a day',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-control': 'max-age=60, stale-while-revalidate=86401' },
    status: 400,
    type: 'invalid-cache-control',
  },
  {
    name: 'no-store on a write',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-control': 'no-store' },
    status: 400,
    type: 'invalid-cache-control',
  },
  {
    name: 'tag with a space',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-tag': 'a b' },
    status: 400,
    type: 'invalid-tag',
  },
  {
    name: '33 tags',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-tag': Array.from({ length: 33 }, (_, i) => `t${i}`).join(',') },
    status: 400,
    type: 'invalid-tag',
  },
  {
    name: 'tag of 129 bytes',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'cache-tag': 't'.repeat(129) },
    status: 400,
    type: 'invalid-tag',
  },
  {
    name: 'content type without a slash',
    path: (ns) => keyPath(ns, 'k'),
    headers: { 'content-type': 'nonsense' },
    status: 400,
    type: 'invalid-content-type',
  },
  {
    name: 'value one byte over the limit',
    path: (ns) => keyPath(ns, 'k'),
    body: big(),
    status: 413,
    type: 'payload-too-large',
  },
];

describe('bad input on PUT', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.type}, nothing stored`, async () => {
      const ns = freshNamespace();
      const path = c.path(ns);
      const res = await call('PUT', path, { body: c.body ?? 'value', headers: c.headers });
      expect(res.status).toBe(c.status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await res.json()) as Record<string, unknown>;
      expect(problem.type).toBe(`urn:strata:problem:${c.type}`);
      expect(problem.status).toBe(c.status);
      expect(typeof problem.title).toBe('string');
      expect(typeof problem.detail).toBe('string');
      // Nothing stored: the same path (where it is a valid one) still misses.
      if (c.status === 413 || c.type.startsWith('invalid-c') || c.type === 'invalid-tag') {
        expect((await call('GET', path)).status).toBe(404);
      }
    });
  }

  it('a streamed body past the limit (no Content-Length) is 413 and stores nothing', async () => {
    const ns = freshNamespace();
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 600 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await call('PUT', keyPath(ns, 'k'), { body: stream });
    expect(res.status).toBe(413);
    expect((await call('GET', keyPath(ns, 'k'))).status).toBe(404);
  });

  it('a value exactly at the limit is accepted', async () => {
    const ns = freshNamespace();
    const res = await call('PUT', keyPath(ns, 'k'), { body: new Uint8Array(512 * 1024) });
    expect(res.status).toBe(201);
  });

  it('bad input on GET and DELETE is rejected the same way', async () => {
    expect((await call('GET', keyPath('Bad', 'k'))).status).toBe(400);
    expect((await call('DELETE', keyPath('ok', 'a\u0001'))).status).toBe(400);
  });

  it('unsupported methods on a key are 404/405 problems, never 500', async () => {
    const res = await call('POST', keyPath('ok', 'k'), { body: 'x' });
    expect([404, 405]).toContain(res.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

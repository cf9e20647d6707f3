/** Proxy mode's configuration (src/proxy/config.ts). */
import { describe, expect, it } from 'vitest';
import { configFor, type Env } from '../../src/env.ts';
import { isApiPath, originUrlFor, proxyConfigFor } from '../../src/proxy/config.ts';

const env = (vars: Partial<Env>): Env => vars as Env;
const proxy = (vars: Partial<Env>) => {
  const e = env(vars);
  return proxyConfigFor(e, configFor(e));
};

describe('proxyConfigFor', () => {
  it('is off without ORIGIN_URL', () => {
    expect(proxy({})).toBeNull();
  });

  it('reads the defaults', () => {
    const p = proxy({ ORIGIN_URL: 'https://api.example.com/base/' });
    expect(p).toMatchObject({
      basePath: '/base',
      apiPrefix: '/v1',
      namespace: 'proxy',
      originTimeoutMs: 10_000,
      maxBodyBytes: 512 * 1024,
      keepStaleSeconds: 86_400,
      exposeTags: false,
    });
    expect(originUrlFor(p as NonNullable<typeof p>, '/a?b=1')).toBe(
      'https://api.example.com/base/a?b=1',
    );
    expect(
      originUrlFor(proxy({ ORIGIN_URL: 'http://127.0.0.1:8080' }) as NonNullable<typeof p>, '/x'),
    ).toBe('http://127.0.0.1:8080/x');
  });

  it('keeps the API, /internal/, /healthz and /metrics out of the proxy', () => {
    const p = proxy({ ORIGIN_URL: 'https://o', API_PREFIX: '/_strata' }) as NonNullable<
      ReturnType<typeof proxy>
    >;
    for (const path of [
      '/_strata',
      '/_strata/cache/a/b',
      '/internal/replicate',
      '/healthz',
      '/metrics',
    ])
      expect(isApiPath(p, path)).toBe(true);
    for (const path of ['/', '/v1/cache/a/b', '/_strataX', '/metrics/x', '/healthz2'])
      expect(isApiPath(p, path)).toBe(false);
  });

  it.each<[Partial<Env>, RegExp]>([
    [{ ORIGIN_URL: 'not a url' }, /absolute http\(s\) URL/],
    [{ ORIGIN_URL: 'ftp://o' }, /http or https/],
    [{ ORIGIN_URL: 'https://o/?q=1' }, /no query/],
    [{ ORIGIN_URL: 'https://u:p@o' }, /credentials/],
    [{ ORIGIN_URL: 'https://o', API_PREFIX: 'v1' }, /API_PREFIX/],
    [{ ORIGIN_URL: 'https://o', PROXY_NAMESPACE: 'Bad Name' }, /PROXY_NAMESPACE/],
    [{ ORIGIN_URL: 'https://o', PROXY_EXPOSE_TAGS: 'yes' }, /PROXY_EXPOSE_TAGS/],
    [{ ORIGIN_URL: 'https://o', PROXY_ORIGIN_TIMEOUT_MS: '5' }, /PROXY_ORIGIN_TIMEOUT_MS/],
  ])('refuses %j', (vars, message) => {
    expect(() => proxy(vars)).toThrow(message);
  });
});

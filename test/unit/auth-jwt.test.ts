/** `verifyJwt` and `createJwtConfig` with keys jose generates in the test (node). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJwtConfig,
  isCompactJwt,
  type JwtConfig,
  type JwtSettings,
  verifyJwt,
} from '../../src/auth/jwt.ts';
import { ManualClock } from '../../src/clock.ts';
import { StrataError } from '../../src/errors.ts';

const ISS = 'https://issuer.test';
const AUD = 'strata-test';
const NOW = 1_800_000_000; // seconds
const clock = new ManualClock(NOW * 1000);
const SECRET = 'an-hs256-secret-of-at-least-32-bytes!';

type Claims = Record<string, unknown>;

function claims(overrides: Claims = {}): Claims {
  const all: Claims = {
    iss: ISS,
    aud: AUD,
    sub: 'svc-1',
    iat: NOW,
    exp: NOW + 300,
    namespaces: ['a', 'team-*'],
    scope: 'read write',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

function sign(
  c: Claims,
  key: CryptoKey | Uint8Array,
  alg: string,
  header: Record<string, unknown> = {},
) {
  return new SignJWT(c).setProtectedHeader({ ...header, alg }).sign(key);
}

const hsKey = new TextEncoder().encode(SECRET);
const hsConfig = createJwtConfig({ issuer: ISS, audience: AUD, secret: SECRET });

/** Expects a 401 whose detail matches `detail` and never contains the token. */
async function rejects(
  token: string,
  config: JwtConfig,
  detail: RegExp,
  status = 401,
): Promise<StrataError> {
  let err: unknown;
  try {
    await verifyJwt(token, config, clock);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StrataError);
  const e = err as StrataError;
  expect(e.status).toBe(status);
  expect(e.message).toMatch(detail);
  for (const part of token.split('.').filter((p) => p.length > 8))
    expect(e.message).not.toContain(part);
  if (status === 401)
    expect(e.headers['WWW-Authenticate']).toBe('Bearer realm="strata", error="invalid_token"');
  return e;
}

describe('verifyJwt with HS256 (JWT_SECRET)', () => {
  it('accepts a valid token and maps its claims to a principal', async () => {
    const p = await verifyJwt(await sign(claims(), hsKey, 'HS256'), hsConfig, clock);
    expect(p.id).toBe('jwt:svc-1');
    expect(p.kind).toBe('jwt');
    expect([...p.scopes].sort()).toEqual(['read', 'write']);
    expect(p.namespaces).toEqual(['a', 'team-*']);
  });

  it.each([
    ['wrong iss', { iss: 'https://evil.test' }, /"iss"/],
    ['wrong aud', { aud: 'someone-else' }, /"aud"/],
    ['aud list without us', { aud: ['x', 'y'] }, /"aud"/],
    ['missing iss', { iss: undefined }, /lacks the required "iss"/],
    ['missing aud', { aud: undefined }, /lacks the required "aud"/],
    ['missing exp', { exp: undefined }, /lacks the required "exp"/],
    ['missing sub', { sub: undefined }, /lacks the required "sub"/],
    ['expired beyond the tolerance', { exp: NOW - 6 }, /expired/],
    ['exp not a number', { exp: String(NOW + 60) }, /"exp"/],
    ['nbf beyond the tolerance', { nbf: NOW + 6 }, /not valid yet/],
    ['empty sub', { sub: '' }, /"sub"/],
    ['sub with a control character', { sub: 'a\nb' }, /"sub"/],
    ['missing namespaces', { namespaces: undefined }, /lacks the required "namespaces"/],
    ['namespaces not an array', { namespaces: 'a' }, /"namespaces" claim must be/],
    ['empty namespaces', { namespaces: [] }, /"namespaces" claim must be/],
    ['bad namespace pattern', { namespaces: ['A B'] }, /"namespaces" claim must be/],
    ['non-string namespace', { namespaces: ['a', 5] }, /"namespaces" claim must be/],
    [
      '101 namespaces',
      { namespaces: Array.from({ length: 101 }, (_, i) => `n${i}`) },
      /"namespaces" claim must be/,
    ],
    ['missing scope', { scope: undefined }, /lacks the required "scope"/],
    ['empty scope', { scope: '' }, /"scope" claim must be/],
    ['unknown scope', { scope: 'read delete' }, /"scope" claim must be/],
    ['scope as an array', { scope: ['read'] }, /"scope" claim must be/],
    ['upper-case scope', { scope: 'READ' }, /"scope" claim must be/],
  ])('rejects %s', async (_name, overrides, detail) => {
    await rejects(await sign(claims(overrides), hsKey, 'HS256'), hsConfig, detail);
  });

  it('tolerates 5 s of clock skew on exp and nbf', async () => {
    await expect(
      verifyJwt(await sign(claims({ exp: NOW - 4 }), hsKey, 'HS256'), hsConfig, clock),
    ).resolves.toBeDefined();
    await expect(
      verifyJwt(await sign(claims({ nbf: NOW + 5 }), hsKey, 'HS256'), hsConfig, clock),
    ).resolves.toBeDefined();
  });

  it('rejects a bad signature', async () => {
    const other = new TextEncoder().encode('another-secret-that-is-long-enough-too');
    await rejects(await sign(claims(), other, 'HS256'), hsConfig, /signature does not verify/);
  });

  it('rejects an algorithm outside the allow-list', async () => {
    await rejects(await sign(claims(), hsKey, 'HS512'), hsConfig, /algorithm is not accepted/);
  });

  it('rejects alg "none" before jose sees it', async () => {
    const token = new UnsecuredJWT(claims()).encode();
    await rejects(token, hsConfig, /not a well-formed compact JWT/);
  });

  it('rejects non-canonical base64url that jose alone would decode', async () => {
    const token = await sign(claims(), hsKey, 'HS256');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // A 32-byte MAC is 43 characters: the last one carries 2 unused bits.
    const last = alphabet.indexOf(token.at(-1) as string);
    const tampered = token.slice(0, -1) + alphabet[last ^ 1];
    expect(isCompactJwt(token)).toBe(true);
    expect(isCompactJwt(tampered)).toBe(false);
    await rejects(tampered, hsConfig, /not a well-formed compact JWT/);
  });

  it.each([
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['empty signature', 'eyJhbGciOiJIUzI1NiJ9.e30.'],
    ['padding', 'eyJhbGciOiJIUzI1NiJ9.e30=.c2ln'],
    ['standard base64', 'eyJhbGciOiJIUzI1NiJ9.e3+.c2ln'],
  ])('rejects a malformed token: %s', async (_name, token) => {
    await rejects(token, hsConfig, /not a well-formed/);
  });

  it('rejects a token longer than 8 KiB', async () => {
    const token = await sign(claims({ pad: 'x'.repeat(9000) }), hsKey, 'HS256');
    await rejects(token, hsConfig, /longer than 8192/);
  });
});

describe('verifyJwt with public keys (JWT_PUBLIC_KEY)', () => {
  let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
  let ec: { publicKey: CryptoKey; privateKey: CryptoKey };
  let ed: { publicKey: CryptoKey; privateKey: CryptoKey };
  let rsaJwk: JWK;
  let ecJwk: JWK;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    ed = await generateKeyPair('EdDSA', { extractable: true });
    rsaJwk = await exportJWK(rsa.publicKey);
    ecJwk = await exportJWK(ec.publicKey);
  });

  const config = (publicKey: string, algorithms?: string[]) =>
    createJwtConfig({
      issuer: ISS,
      audience: AUD,
      publicKey,
      ...(algorithms ? { algorithms } : {}),
    });

  it('accepts RS256 with a JWK and with a PEM', async () => {
    const token = await sign(claims(), rsa.privateKey, 'RS256');
    expect((await verifyJwt(token, config(JSON.stringify(rsaJwk)), clock)).id).toBe('jwt:svc-1');
    expect((await verifyJwt(token, config(await exportSPKI(rsa.publicKey)), clock)).id).toBe(
      'jwt:svc-1',
    );
  });

  it('accepts ES256 with a JWK and with a PEM', async () => {
    const token = await sign(claims(), ec.privateKey, 'ES256');
    expect((await verifyJwt(token, config(JSON.stringify(ecJwk)), clock)).id).toBe('jwt:svc-1');
    expect((await verifyJwt(token, config(await exportSPKI(ec.publicKey)), clock)).id).toBe(
      'jwt:svc-1',
    );
  });

  it('accepts EdDSA with a PEM', async () => {
    const token = await sign(claims(), ed.privateKey, 'EdDSA');
    expect((await verifyJwt(token, config(await exportSPKI(ed.publicKey)), clock)).id).toBe(
      'jwt:svc-1',
    );
  });

  it('rejects a signature by another key', async () => {
    const other = await generateKeyPair('RS256');
    const token = await sign(claims(), other.privateKey, 'RS256');
    await rejects(token, config(JSON.stringify(rsaJwk)), /signature does not verify/);
    await rejects(token, config(await exportSPKI(rsa.publicKey)), /signature does not verify/);
  });

  it('rejects an algorithm the allow-list leaves out', async () => {
    const token = await sign(claims(), ec.privateKey, 'ES256');
    await rejects(
      token,
      config(await exportSPKI(ec.publicKey), ['RS256']),
      /algorithm is not accepted/,
    );
  });

  it('rejects an allowed algorithm that does not fit the key', async () => {
    const token = await sign(claims(), ec.privateKey, 'ES256');
    await rejects(
      token,
      config(await exportSPKI(rsa.publicKey)),
      /does not fit the configured key/,
    );
    await rejects(token, config(JSON.stringify(rsaJwk)), /No single trusted key/);
  });

  it('refuses HMAC with the public key as secret (algorithm confusion, RFC 8725 §2.1)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const token = await sign(claims(), new TextEncoder().encode(pem), 'HS256');
    await rejects(token, config(pem), /algorithm is not accepted/);
    await rejects(token, config(JSON.stringify(rsaJwk)), /algorithm is not accepted/);
  });

  it('pins the algorithm a JWK names', async () => {
    const token = await sign(claims(), rsa.privateKey, 'RS256');
    const psKey = (await importJWK(await exportJWK(rsa.privateKey), 'PS256')) as CryptoKey;
    const ps = await sign(claims(), psKey, 'PS256');
    const pinned = config(JSON.stringify({ ...rsaJwk, alg: 'RS256' }), ['RS256', 'PS256']);
    expect(pinned.algorithms).toEqual(['RS256']);
    await expect(verifyJwt(token, pinned, clock)).resolves.toBeDefined();
    await rejects(ps, pinned, /algorithm is not accepted/);
  });

  it('matches kid when the configured JWK has one, ignores it otherwise', async () => {
    const withKid = config(JSON.stringify({ ...rsaJwk, kid: 'k1' }));
    await expect(
      verifyJwt(await sign(claims(), rsa.privateKey, 'RS256', { kid: 'k1' }), withKid, clock),
    ).resolves.toBeDefined();
    await rejects(
      await sign(claims(), rsa.privateKey, 'RS256', { kid: 'k2' }),
      withKid,
      /No single trusted key/,
    );
    const noKid = config(JSON.stringify(rsaJwk));
    await expect(
      verifyJwt(await sign(claims(), rsa.privateKey, 'RS256', { kid: 'any' }), noKid, clock),
    ).resolves.toBeDefined();
  });
});

describe('verifyJwt with a JWK Set URL (JWT_JWKS_URL)', () => {
  let server: Server;
  let base: string;
  let keys: { publicKey: CryptoKey; privateKey: CryptoKey };
  let status = 200;

  beforeAll(async () => {
    keys = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'rot-1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? JSON.stringify({ keys: [jwk] }) : '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches the key set and verifies by kid', async () => {
    status = 200;
    const config = createJwtConfig({ issuer: ISS, audience: AUD, jwksUrl: `${base}/jwks.json` });
    const token = await sign(claims(), keys.privateKey, 'RS256', { kid: 'rot-1' });
    expect((await verifyJwt(token, config, clock)).id).toBe('jwt:svc-1');
    await rejects(
      await sign(claims(), keys.privateKey, 'RS256', { kid: 'rot-2' }),
      config,
      /No single trusted key/,
    );
  });

  it('answers 503, not 401, when the key set cannot be fetched', async () => {
    status = 500;
    const config = createJwtConfig({ issuer: ISS, audience: AUD, jwksUrl: `${base}/jwks.json` });
    const token = await sign(claims(), keys.privateKey, 'RS256', { kid: 'rot-1' });
    const err = await rejects(token, config, /key set could not be fetched/, 503);
    expect(err.code).toBe('tier-unavailable');
  });
});

describe('createJwtConfig', () => {
  const base = { issuer: ISS, audience: AUD };
  it.each<[string, JwtSettings, RegExp]>([
    ['no issuer', { ...base, issuer: '', secret: SECRET }, /JWT_ISSUER/],
    ['no audience', { ...base, audience: ' ', secret: SECRET }, /JWT_AUDIENCE/],
    ['no key source', { ...base }, /exactly one/],
    [
      'two key sources',
      { ...base, secret: SECRET, jwksUrl: 'https://id.test/jwks' },
      /exactly one/,
    ],
    ['short secret', { ...base, secret: 'short' }, /at least 32 bytes/],
    ['RS256 with a secret', { ...base, secret: SECRET, algorithms: ['RS256'] }, /JWT_ALGORITHMS/],
    [
      'HS256 with a public key',
      { ...base, publicKey: '{"kty":"EC","crv":"P-256","x":"x","y":"y"}', algorithms: ['HS256'] },
      /JWT_ALGORITHMS/,
    ],
    ['none', { ...base, jwksUrl: 'https://id.test/jwks', algorithms: ['none'] }, /JWT_ALGORITHMS/],
    ['unparsable JWK', { ...base, publicKey: '{kty' }, /does not parse/],
    ['a JWK set instead of a JWK', { ...base, publicKey: '{"keys":[]}' }, /RSA, EC or OKP/],
    ['a symmetric JWK', { ...base, publicKey: '{"kty":"oct","k":"AAAA"}' }, /RSA, EC or OKP/],
    [
      'a private JWK',
      { ...base, publicKey: '{"kty":"EC","crv":"P-256","x":"x","y":"y","d":"d"}' },
      /private key/,
    ],
    [
      'an encryption JWK',
      { ...base, publicKey: '{"kty":"RSA","n":"n","e":"AQAB","use":"enc"}' },
      /"use"/,
    ],
    [
      'a JWK without verify',
      { ...base, publicKey: '{"kty":"RSA","n":"n","e":"AQAB","key_ops":["encrypt"]}' },
      /"key_ops"/,
    ],
    [
      'a JWK with a disallowed alg',
      { ...base, publicKey: '{"kty":"RSA","n":"n","e":"AQAB","alg":"RS512"}' },
      /does not allow/,
    ],
    [
      'a private PEM',
      { ...base, publicKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' },
      /PEM/,
    ],
    ['plain http JWKS', { ...base, jwksUrl: 'http://id.test/jwks' }, /https/],
    ['not a URL', { ...base, jwksUrl: 'jwks' }, /not a valid URL/],
  ])('refuses %s', (_name, settings, message) => {
    expect(() => createJwtConfig(settings)).toThrow(message);
  });

  it('never puts the secret in an error message', () => {
    const secret = 'hunter2-hunter2';
    try {
      createJwtConfig({ ...base, secret });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(secret);
    }
  });

  it('defaults the algorithms by key source', () => {
    expect(createJwtConfig({ ...base, secret: SECRET }).algorithms).toEqual(['HS256']);
    expect(createJwtConfig({ ...base, jwksUrl: 'https://id.test/jwks' }).algorithms).toEqual([
      'RS256',
      'ES256',
      'EdDSA',
    ]);
    expect(createJwtConfig({ ...base, jwksUrl: 'http://127.0.0.1:1/jwks' }).source).toBe('jwks');
  });
});

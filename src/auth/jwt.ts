/**
 * JWT bearer tokens (RFC 7519), verified with jose along the lines of
 * RFC 8725: an explicit algorithm allow-list per key type (no `none`, no
 * HMAC with a public key), `iss` and `aud` must match, `exp` is required,
 * `nbf` is honoured, with a clock tolerance of 5 seconds either way
 * (`JWT_CLOCK_TOLERANCE_SECONDS`) for skew between the issuer and the edge.
 *
 * Strata claims: `sub` (the principal is `jwt:<sub>`), `namespaces` (an array
 * of 1–100 patterns: `*`, `name` or `prefix*`) and `scope` (a space-separated
 * subset of `read write admin`). All three are required.
 *
 * Key sources (exactly one): `JWT_SECRET` (HS256, at least 32 bytes),
 * `JWT_PUBLIC_KEY` (a public JWK as JSON, or a PEM SPKI) or `JWT_JWKS_URL`
 * (https, or http on loopback for tests). `JWT_ALGORITHMS` narrows the
 * allow-list (default `RS256,ES256,EdDSA` for public keys, `HS256` for a secret).
 *
 * `verifyJwt(token, config)` needs no `env`, so node unit tests call it with
 * `createJwtConfig({...})`; the Worker uses `jwtConfigFor(env)`, cached per
 * `env` in a WeakMap. Remote key sets come from jose's `createRemoteJWKSet`,
 * which on Workers does not share an in-flight JWKS fetch between requests and
 * keeps only the resolved key set.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importSPKI,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import { type Clock, systemClock } from '../clock.ts';
import type { Env } from '../env.ts';
import { StrataError } from '../errors.ts';
import { isNamespacePattern, isScope, MAX_NAMESPACE_PATTERNS, unauthorized } from './api-keys.ts';
import type { Principal, Scope } from './principal.ts';

/** Seconds of clock skew tolerated on `exp` and `nbf`. */
export const JWT_CLOCK_TOLERANCE_SECONDS = 5;

/** Allow-list for public keys when `JWT_ALGORITHMS` is not set. */
export const DEFAULT_PUBLIC_KEY_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA'];

/** Longest token accepted, in characters; real tokens are far smaller. */
export const MAX_JWT_CHARS = 8192;

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const PUBLIC_KEY_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
const MIN_SECRET_BYTES = 32; // RFC 7518 §3.2: at least the hash output size
const MAX_SUB_CHARS = 256;
const encoder = new TextEncoder();

/** Raw JWT settings, as an operator writes them (see `jwtConfigFor` for the env names). */
export interface JwtSettings {
  issuer: string;
  audience: string;
  /** HMAC key: a string is taken as UTF-8. */
  secret?: string | Uint8Array;
  /** A public JWK as JSON text, or a PEM `-----BEGIN PUBLIC KEY-----` (SPKI). */
  publicKey?: string;
  /** URL of a JWK Set (RFC 7517 §5). */
  jwksUrl?: string;
  /** Accepted `alg` values; defaults depend on the key source. */
  algorithms?: readonly string[];
}

/** Validated JWT configuration, ready for `verifyJwt`. */
export interface JwtConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly source: 'secret' | 'public-key' | 'jwks';
  readonly key: Uint8Array | JWTVerifyGetKey;
}

/**
 * Validates settings and prepares the key. Throws `TypeError` on a
 * configuration mistake (a deploy error, not a request error); the message
 * never contains key material.
 * @example createJwtConfig({ issuer: 'https://id.example', audience: 'strata', jwksUrl: 'https://id.example/jwks.json' })
 */
export function createJwtConfig(settings: JwtSettings): JwtConfig {
  const issuer = settings.issuer?.trim() ?? '';
  const audience = settings.audience?.trim() ?? '';
  if (!issuer) throw new TypeError('JWT_ISSUER must be set when JWT verification is enabled.');
  if (!audience) throw new TypeError('JWT_AUDIENCE must be set when JWT verification is enabled.');
  const sources = [settings.secret, settings.publicKey, settings.jwksUrl].filter(
    (s) => s !== undefined && s !== '',
  );
  if (sources.length !== 1) {
    throw new TypeError('Set exactly one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL.');
  }
  const requested = settings.algorithms?.length ? [...new Set(settings.algorithms)] : undefined;

  if (settings.secret !== undefined && settings.secret !== '') {
    const secret =
      typeof settings.secret === 'string' ? encoder.encode(settings.secret) : settings.secret;
    if (secret.byteLength < MIN_SECRET_BYTES) {
      throw new TypeError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes.`);
    }
    const algorithms = checkAlgorithms(requested ?? ['HS256'], HMAC_ALGORITHMS, 'JWT_SECRET');
    return { issuer, audience, algorithms, source: 'secret', key: new Uint8Array(secret) };
  }

  if (settings.publicKey !== undefined && settings.publicKey !== '') {
    const text = settings.publicKey.trim();
    const allowed = checkAlgorithms(
      requested ?? DEFAULT_PUBLIC_KEY_ALGORITHMS,
      PUBLIC_KEY_ALGORITHMS,
      'JWT_PUBLIC_KEY',
    );
    if (text.startsWith('{')) return jwkConfig(issuer, audience, text, allowed);
    if (text.startsWith('-----BEGIN PUBLIC KEY-----')) {
      return { issuer, audience, algorithms: allowed, source: 'public-key', key: spkiKey(text) };
    }
    throw new TypeError(
      'JWT_PUBLIC_KEY must be a public JWK (JSON) or a PEM "BEGIN PUBLIC KEY" block.',
    );
  }

  const url = parseJwksUrl(settings.jwksUrl as string);
  const algorithms = checkAlgorithms(
    requested ?? DEFAULT_PUBLIC_KEY_ALGORITHMS,
    PUBLIC_KEY_ALGORITHMS,
    'JWT_JWKS_URL',
  );
  // jose caches the resolved key set (10 min) and refetches on an unknown kid
  // at most every 30 s; on Workers it never shares a pending fetch.
  const key = createRemoteJWKSet(url, { timeoutDuration: 5000 });
  return { issuer, audience, algorithms, source: 'jwks', key };
}

const envConfigs = new WeakMap<object, JwtConfig | null>();

/**
 * The JWT configuration of this deployment, or `null` if no key source is
 * set (JWT disabled). Cached per `env`. Reads `JWT_ISSUER`, `JWT_AUDIENCE`,
 * `JWT_SECRET` | `JWT_PUBLIC_KEY` | `JWT_JWKS_URL` and `JWT_ALGORITHMS`.
 * @example const config = jwtConfigFor(c.env); if (config) await verifyJwt(token, config)
 */
export function jwtConfigFor(env: Env): JwtConfig | null {
  if (envConfigs.has(env)) return envConfigs.get(env) ?? null;
  const enabled = Boolean(env.JWT_SECRET || env.JWT_PUBLIC_KEY || env.JWT_JWKS_URL);
  const config = enabled
    ? createJwtConfig({
        issuer: env.JWT_ISSUER ?? '',
        audience: env.JWT_AUDIENCE ?? '',
        ...(env.JWT_SECRET ? { secret: env.JWT_SECRET } : {}),
        ...(env.JWT_PUBLIC_KEY ? { publicKey: env.JWT_PUBLIC_KEY } : {}),
        ...(env.JWT_JWKS_URL ? { jwksUrl: env.JWT_JWKS_URL } : {}),
        ...(env.JWT_ALGORITHMS
          ? {
              algorithms: env.JWT_ALGORITHMS.split(',')
                .map((a) => a.trim())
                .filter(Boolean),
            }
          : {}),
      })
    : null;
  envConfigs.set(env, config);
  return config;
}

/**
 * True if `token` is three dot-separated segments of canonical unpadded
 * base64url (RFC 7515 §7.1; jose alone tolerates some non-canonical forms).
 * @example isCompactJwt('eyJ...e30.c2ln') // true
 */
export function isCompactJwt(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every(isCanonicalBase64url);
}

/**
 * Verifies a bearer JWT and returns its principal, or throws a 401
 * `StrataError` whose detail names the problem (never the token). A key set
 * that cannot be fetched is a 503. `clock` drives the `exp`/`nbf` checks.
 * @example const principal = await verifyJwt(token, createJwtConfig({ issuer, audience, secret }))
 */
export async function verifyJwt(
  token: string,
  config: JwtConfig,
  clock: Clock = systemClock,
): Promise<Principal> {
  if (token.length > MAX_JWT_CHARS) {
    throw unauthorized(`The token is longer than ${MAX_JWT_CHARS} characters.`, {
      presented: true,
    });
  }
  if (!isCompactJwt(token)) {
    throw unauthorized(
      'The token is not a well-formed compact JWT (three canonical base64url parts).',
      {
        presented: true,
      },
    );
  }
  const options: JWTVerifyOptions = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: [...config.algorithms],
    clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp', 'sub'],
    currentDate: new Date(clock.now()),
  };
  let payload: JWTPayload;
  try {
    const result =
      typeof config.key === 'function'
        ? await jwtVerify(token, config.key, options)
        : await jwtVerify(token, config.key, options);
    payload = result.payload;
  } catch (err) {
    throw verificationError(err, config);
  }
  return principalFromClaims(payload);
}

/**
 * Builds the principal from verified claims, or throws 401 naming the bad claim.
 * @example principalFromClaims({ sub: 'svc', namespaces: ['a'], scope: 'read' }).id // 'jwt:svc'
 */
export function principalFromClaims(claims: JWTPayload): Principal {
  const { sub } = claims;
  if (
    typeof sub !== 'string' ||
    sub.length === 0 ||
    sub.length > MAX_SUB_CHARS ||
    /\p{Cc}/u.test(sub)
  ) {
    throw claimError(
      `The token's "sub" claim must be a string of 1-${MAX_SUB_CHARS} printable characters.`,
    );
  }
  const namespaces = claims.namespaces;
  if (namespaces === undefined)
    throw claimError('The token lacks the required "namespaces" claim.');
  if (
    !Array.isArray(namespaces) ||
    namespaces.length === 0 ||
    namespaces.length > MAX_NAMESPACE_PATTERNS ||
    !namespaces.every((p) => typeof p === 'string' && isNamespacePattern(p))
  ) {
    throw claimError(
      `The token's "namespaces" claim must be an array of 1-${MAX_NAMESPACE_PATTERNS} namespace patterns ("*", "name" or "prefix*").`,
    );
  }
  const scope = claims.scope;
  if (scope === undefined) throw claimError('The token lacks the required "scope" claim.');
  const scopes = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
  if (scopes.length === 0 || !scopes.every(isScope)) {
    throw claimError(
      'The token\'s "scope" claim must be a space-separated subset of "read write admin".',
    );
  }
  return {
    id: `jwt:${sub}`,
    kind: 'jwt',
    scopes: new Set<Scope>(scopes as Scope[]),
    namespaces: Object.freeze([...new Set(namespaces as string[])]),
  };
}

function claimError(detail: string): StrataError {
  return unauthorized(detail, { presented: true });
}

/** Maps a jose failure to a problem; never echoes the token or jose's message. */
function verificationError(err: unknown, config: JwtConfig): StrataError | unknown {
  if (err instanceof StrataError) return err;
  const fail = (detail: string) => unauthorized(detail, { presented: true, cause: err });
  if (err instanceof errors.JWTExpired) return fail('The token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return fail(`The token lacks the required "${err.claim}" claim.`);
    switch (err.claim) {
      case 'iss':
        return fail('The token\'s "iss" claim does not name the trusted issuer.');
      case 'aud':
        return fail('The token\'s "aud" claim does not name this service.');
      case 'nbf':
        return fail('The token is not valid yet ("nbf" is in the future).');
      default:
        return fail(`The token's "${err.claim}" claim is invalid.`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return fail(
      `The token's signing algorithm is not accepted (allowed: ${config.algorithms.join(', ')}).`,
    );
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return fail('The token signature does not verify.');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return fail('No single trusted key matches the token\'s "kid" and "alg".');
  }
  if (err instanceof errors.JOSENotSupported)
    return fail('The token uses an unsupported algorithm or key type.');
  if (err instanceof errors.JWTInvalid) return fail('The token payload is not a JSON claims set.');
  if (err instanceof errors.JWSInvalid) return fail('The token is not a well-formed JWS.');
  if (config.source === 'jwks') {
    // Timeouts, non-200 answers, unparsable key sets and network errors.
    return new StrataError(
      'tier-unavailable',
      'The JWT key set could not be fetched; try again later.',
      {
        cause: err,
        headers: { 'Retry-After': '5' },
      },
    );
  }
  return err;
}

function checkAlgorithms(
  requested: readonly string[],
  allowed: readonly string[],
  source: string,
): string[] {
  const bad = requested.filter((a) => !allowed.includes(a));
  if (bad.length > 0 || requested.length === 0) {
    throw new TypeError(
      `JWT_ALGORITHMS for ${source} may only name ${allowed.join(', ')}; got ${bad.join(', ')}.`,
    );
  }
  return [...requested];
}

function jwkConfig(issuer: string, audience: string, text: string, allowed: string[]): JwtConfig {
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new TypeError('JWT_PUBLIC_KEY looks like JSON but does not parse.');
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new TypeError('JWT_PUBLIC_KEY must be a single JWK object.');
  }
  if (!['RSA', 'EC', 'OKP'].includes(String(jwk.kty))) {
    throw new TypeError(
      'JWT_PUBLIC_KEY must be an RSA, EC or OKP public JWK (use JWT_SECRET for HMAC).',
    );
  }
  if ('d' in jwk)
    throw new TypeError('JWT_PUBLIC_KEY holds a private key; configure the public half only.');
  if (jwk.use !== undefined && jwk.use !== 'sig')
    throw new TypeError('JWT_PUBLIC_KEY has "use" other than "sig".');
  if (
    jwk.key_ops !== undefined &&
    !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))
  ) {
    throw new TypeError('JWT_PUBLIC_KEY has "key_ops" without "verify".');
  }
  let algorithms = allowed;
  if (jwk.alg !== undefined) {
    if (!allowed.includes(jwk.alg)) {
      throw new TypeError(
        `JWT_PUBLIC_KEY has "alg" ${jwk.alg}, which JWT_ALGORITHMS does not allow.`,
      );
    }
    algorithms = [jwk.alg];
  }
  // A one-key set gives jose's key selection (kty/crv/alg/use/key_ops checks).
  const set = createLocalJWKSet({ keys: [jwk] });
  const hasKid = jwk.kid !== undefined;
  const key: JWTVerifyGetKey = (header, token) =>
    // Without a configured kid, the token's kid cannot select anything.
    set(hasKid ? header : { ...header, kid: undefined }, token);
  return { issuer, audience, algorithms, source: 'public-key', key };
}

/**
 * A key resolver for a PEM SPKI public key. The CryptoKey depends on the
 * algorithm, so it is imported per `alg` on first use; only the resolved key
 * is kept (a per-config cache, never a shared pending promise).
 */
function spkiKey(pem: string): JWTVerifyGetKey {
  const keys = new Map<string, CryptoKey | null>();
  return async (header) => {
    const alg = header.alg;
    const cached = keys.get(alg);
    if (cached) return cached;
    if (cached === null)
      throw unauthorized('The token algorithm does not fit the configured key.', {
        presented: true,
      });
    try {
      const key = await importSPKI(pem, alg);
      keys.set(alg, key);
      return key;
    } catch (cause) {
      keys.set(alg, null);
      throw unauthorized('The token algorithm does not fit the configured key.', {
        presented: true,
        cause,
      });
    }
  };
}

function parseJwksUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('JWT_JWKS_URL is not a valid URL.');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError('JWT_JWKS_URL must use https (http is allowed only on loopback).');
  }
  return url;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SEGMENT = /^[A-Za-z0-9_-]+$/;

function isCanonicalBase64url(s: string): boolean {
  if (!SEGMENT.test(s)) return false;
  const rem = s.length % 4;
  if (rem === 1) return false;
  if (rem === 0) return true;
  // The last character's unused low bits must be zero (RFC 4648 §3.5).
  const last = BASE64URL.indexOf(s[s.length - 1] as string);
  return (last & (rem === 2 ? 0x0f : 0x03)) === 0;
}

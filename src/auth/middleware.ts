/**
 * The authentication middleware: turns the request's credential into a
 * `Principal` (`c.get('principal')`) or answers 401.
 *
 * The credential comes from `Authorization: Bearer <token>` or
 * `X-Api-Key: <token>` (one of them, not both) and is classified by shape:
 * the bootstrap admin key (`STRATA_ADMIN_KEY`, compared as SHA-256 digests in
 * constant time), an API key (`strata_…`), a JWT (three dot-separated parts)
 * or nothing Strata accepts. Credentials are never logged and never echoed.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { type Clock, systemClock } from '../clock.ts';
import { configFor, type Env } from '../env.ts';
import {
  API_KEY_PREFIX,
  BOOTSTRAP_PRINCIPAL,
  isBootstrapKey,
  type KeyLookup,
  KeyRecordCache,
  sha256,
  unauthorized,
  verifyApiKey,
} from './api-keys.ts';
import { jwtConfigFor, MAX_JWT_CHARS, verifyJwt } from './jwt.ts';
import type { Principal } from './principal.ts';

/** Options for `authenticate`. */
export interface AuthenticateOptions {
  /** Time source for the key cache and JWT `exp`/`nbf` checks (tests inject one). */
  clock?: Clock;
  /** Where API key records come from; defaults to the region's `KeysDO`. */
  keyLookup?: (env: Env) => KeyLookup;
}

/** Name of the region's `KeysDO` instance. */
export const KEYS_OBJECT_NAME = 'keys';

// Longest credential read at all; JWTs are the long ones.
const MAX_CREDENTIAL_CHARS = MAX_JWT_CHARS;
const BEARER = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i;

/**
 * The API key lookup through the region's `KeysDO`.
 * @example const lookup = keysObjectLookup(env); await lookup(id)
 */
export function keysObjectLookup(env: Env): KeyLookup {
  return (id) => env.KEYS.getByName(KEYS_OBJECT_NAME).lookup(id);
}

const recordCaches = new WeakMap<object, KeyRecordCache>();

/**
 * This isolate's key record cache for `env` (TTL `AUTH_CACHE_TTL`). Call
 * `.delete(id)` after revoking a key so this isolate stops accepting it at once.
 * @example keyRecordCacheFor(c.env).delete(id)
 */
export function keyRecordCacheFor(env: Env): KeyRecordCache {
  let cache = recordCaches.get(env);
  if (!cache) {
    cache = new KeyRecordCache(configFor(env).authCacheTtl);
    recordCaches.set(env, cache);
  }
  return cache;
}

const adminDigests = new WeakMap<object, Uint8Array | null>();

async function adminKeyDigest(env: Env): Promise<Uint8Array | null> {
  const cached = adminDigests.get(env);
  if (cached !== undefined) return cached;
  // Only the resolved digest is kept, never a pending promise.
  const digest = env.STRATA_ADMIN_KEY ? await sha256(env.STRATA_ADMIN_KEY) : null;
  adminDigests.set(env, digest);
  return digest;
}

/**
 * Reads the credential from the headers: the Bearer token or the
 * `X-Api-Key` value; `null` if there is none. Throws 401 on a malformed
 * `Authorization` header or on two different credentials.
 * @example readCredential(new Headers({ authorization: 'Bearer abc' })) // 'abc'
 */
export function readCredential(headers: Headers): string | null {
  const authorization = headers.get('authorization');
  const apiKey = headers.get('x-api-key')?.trim() || null;
  let bearer: string | null = null;
  if (authorization !== null) {
    const m = BEARER.exec(authorization.trim());
    if (!m) {
      throw unauthorized('The Authorization header must be "Bearer <token>".', { presented: true });
    }
    bearer = m[1] as string;
  }
  if (bearer !== null && apiKey !== null && bearer !== apiKey) {
    throw unauthorized('Send one credential: Authorization or X-Api-Key, not both.', {
      presented: true,
    });
  }
  const credential = bearer ?? apiKey;
  if (credential !== null && credential.length > MAX_CREDENTIAL_CHARS) {
    throw unauthorized(`The credential is longer than ${MAX_CREDENTIAL_CHARS} characters.`, {
      presented: true,
    });
  }
  return credential;
}

/**
 * Resolves a credential to a principal, or throws 401 (503 if a JWT key set
 * cannot be fetched). Usable outside Hono, e.g. in library mode.
 * @example const principal = await principalFor(token, env)
 */
export async function principalFor(
  credential: string,
  env: Env,
  deps: { clock?: Clock; keyLookup?: (env: Env) => KeyLookup } = {},
): Promise<Principal> {
  const clock = deps.clock ?? systemClock;
  const digest = await adminKeyDigest(env);
  // Always hash and compare when a bootstrap key is set, so timing does not
  // reveal which branch a credential took.
  if (digest !== null && (await isBootstrapKey(credential, digest))) return BOOTSTRAP_PRINCIPAL;
  if (credential.startsWith(API_KEY_PREFIX)) {
    const lookup = (deps.keyLookup ?? keysObjectLookup)(env);
    return verifyApiKey(credential, { lookup, cache: keyRecordCacheFor(env), now: clock.now() });
  }
  if (credential.split('.').length === 3) {
    const config = jwtConfigFor(env);
    if (!config) {
      throw unauthorized(
        'The credential looks like a JWT, but JWT authentication is not configured here.',
        {
          presented: true,
        },
      );
    }
    return verifyJwt(credential, config, clock);
  }
  throw unauthorized('The credential is neither an API key (strata_…) nor a JWT.', {
    presented: true,
  });
}

/**
 * Hono middleware factory: authenticates every request it runs on and sets
 * `c.get('principal')`; routes then call `authorize`.
 * @example app.use('/v1/*', authenticate())
 */
export function authenticate(options: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function')
    throw new TypeError('authenticate: options.clock must have now().');
  if (options.keyLookup !== undefined && typeof options.keyLookup !== 'function') {
    throw new TypeError('authenticate: options.keyLookup must be a function.');
  }
  const deps = { clock, keyLookup: options.keyLookup ?? keysObjectLookup };

  return async function authenticateRequest(c, next) {
    const credential = readCredential(c.req.raw.headers);
    if (credential === null) {
      throw unauthorized(
        'This endpoint needs a credential: "Authorization: Bearer <token>" or "X-Api-Key".',
      );
    }
    c.set('principal', await principalFor(credential, c.env, deps));
    await next();
  };
}

/**
 * Region-to-region authentication for `/internal/*`: short-lived ES256 JWTs
 * (jose), one signing key per region, every region's public keys in a shared
 * JWK Set.
 *
 * A token says who sends (`iss` = the sending region), to whom (`aud` = the
 * receiving region) and for what (`sub` = the internal route), lives
 * `TOKEN_LIFETIME_SECONDS`, and is bound to the exact request body by `bh`,
 * the base64url SHA-256 of the body: a captured token cannot carry another
 * payload, and replaying the same payload is harmless because every internal
 * operation is idempotent.
 *
 * Key ids read `<region>/<label>`; a key only vouches for the region its id
 * names, so one region's key cannot speak for another. Rotation without
 * downtime: publish the new public key to every region's
 * REPLICATION_PUBLIC_KEYS, then switch the region's REPLICATION_PRIVATE_KEY
 * and REPLICATION_KEY_ID, then drop the old public key (README "Regions").
 */
import {
  createLocalJWKSet,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Env } from '../env.ts';
import { configFor } from '../env.ts';
import { StrataError } from '../errors.ts';

export const TOKEN_LIFETIME_SECONDS = 60;
/** Clock skew tolerated between regions. */
const CLOCK_TOLERANCE_SECONDS = 30;
const ALG = 'ES256';
const encoder = new TextEncoder();

export interface Signer {
  region: string;
  /** An `Authorization` header value for a request of `body` to `audience`'s `purpose`. */
  sign(audience: string, purpose: string, body: string): Promise<string>;
}

export interface Verifier {
  /** The sending region, when the token is valid for this body and purpose; throws 401 otherwise. */
  verify(authorization: string | undefined, purpose: string, body: string): Promise<string>;
}

export async function bodyHash(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(body)));
  let bin = '';
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function createSigner(
  region: string,
  keyId: string,
  privateJwk: JWK,
): Promise<Signer> {
  if (privateJwk.kid !== undefined && privateJwk.kid !== keyId)
    throw new Error('REPLICATION_PRIVATE_KEY kid does not match REPLICATION_KEY_ID');
  if (!keyId.startsWith(`${region}/`))
    throw new Error(`REPLICATION_KEY_ID must read "${region}/<label>"`);
  const key = await importJWK({ ...privateJwk, alg: ALG }, ALG);
  return {
    region,
    async sign(audience, purpose, body) {
      const token = await new SignJWT({ bh: await bodyHash(body) })
        .setProtectedHeader({ alg: ALG, kid: keyId, typ: 'JWT' })
        .setIssuer(region)
        .setAudience(audience)
        .setSubject(purpose)
        .setIssuedAt()
        .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
        .setJti(crypto.randomUUID())
        .sign(key);
      return `Bearer ${token}`;
    },
  };
}

export function createVerifier(region: string, publicKeys: JSONWebKeySet): Verifier {
  const keySet: JWTVerifyGetKey = createLocalJWKSet(publicKeys);
  return {
    async verify(authorization, purpose, body) {
      const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(authorization ?? '');
      if (!match) throw denied('A region token is required.');
      let payload: Record<string, unknown>;
      let kid: string | undefined;
      try {
        const verified = await jwtVerify(match[1] as string, keySet, {
          algorithms: [ALG],
          audience: region,
          subject: purpose,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          maxTokenAge: `${TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS}s`,
          requiredClaims: ['iss', 'exp', 'iat', 'bh'],
        });
        payload = verified.payload as Record<string, unknown>;
        kid = verified.protectedHeader.kid;
      } catch {
        throw denied('The region token is not valid.');
      }
      const issuer = payload.iss as string;
      if (!kid?.startsWith(`${issuer}/`)) throw denied('The key does not belong to the issuer.');
      if (payload.bh !== (await bodyHash(body)))
        throw denied('The region token was issued for another body.');
      return issuer;
    },
  };
}

function denied(detail: string): StrataError {
  return new StrataError('unauthorized', detail, {
    headers: { 'www-authenticate': 'Bearer realm="strata-internal"' },
  });
}

const signers = new WeakMap<object, Promise<Signer | null>>();
const verifiers = new WeakMap<object, Verifier | null>();

/** This region's signer, or null when replication keys are not configured (a single region). */
export function signerFor(env: Env): Promise<Signer | null> {
  let signer = signers.get(env);
  if (!signer) {
    const { REPLICATION_KEY_ID: kid, REPLICATION_PRIVATE_KEY: raw } = env;
    signer =
      kid && raw
        ? createSigner(configFor(env).region, kid, JSON.parse(raw) as JWK)
        : Promise.resolve(null);
    signers.set(env, signer);
  }
  return signer;
}

/** This region's verifier of peers' tokens, or null when no public keys are configured. */
export function verifierFor(env: Env): Verifier | null {
  if (verifiers.has(env)) return verifiers.get(env) ?? null;
  const raw = env.REPLICATION_PUBLIC_KEYS;
  const verifier = raw
    ? createVerifier(configFor(env).region, JSON.parse(raw) as JSONWebKeySet)
    : null;
  verifiers.set(env, verifier);
  return verifier;
}

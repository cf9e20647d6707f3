/**
 * ES256 key pairs for region-to-region replication (`/internal/*` JWTs).
 *
 * Each region signs with its own private key, kid `<region>/<label>`; every
 * region verifies with the shared JWKS of all regions' public keys. The local
 * stack and the test cluster generate a fresh set per start (kept in memory);
 * `npm run deploy -- --generate-keys` prints one for production.
 *
 * The Worker reads, per region:
 *   REPLICATION_KEY_ID        the kid, e.g. `us-east/2026-11`
 *   REPLICATION_PRIVATE_KEY   the private JWK as JSON (a secret in production)
 *   REPLICATION_PUBLIC_KEYS   `{"keys":[...]}` with every region's public JWK
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export const REGION_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** The part of a kid after `<region>/`: no slash, no whitespace. */
export const KEY_LABEL_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** One region's key pair; both JWKs carry `kid` and `alg: "ES256"`. */
export interface RegionKey {
  region: string;
  /** `<region>/<label>` */
  kid: string;
  /** Private JWK (`kty`, `crv`, `x`, `y`, `d`, `kid`, `alg`, `use`). */
  privateJwk: JWK;
  /** Public JWK (`kty`, `crv`, `x`, `y`, `kid`, `alg`, `use`). */
  publicJwk: JWK;
}

/** Keys by region name, in the order the regions were given. */
export type RegionKeySet = Record<string, RegionKey>;

/**
 * A fresh ES256 key pair per region.
 *
 * @example
 * const keys = await generateRegionKeys(['us-east', 'eu-west']);
 * keys['us-east'].kid; // 'us-east/dev'
 */
export async function generateRegionKeys(regions: string[], label = 'dev'): Promise<RegionKeySet> {
  if (!KEY_LABEL_PATTERN.test(label)) {
    throw new Error(`key label must match ${KEY_LABEL_PATTERN}, got ${JSON.stringify(label)}`);
  }
  const seen = new Set<string>();
  for (const region of regions) {
    if (!REGION_PATTERN.test(region)) {
      throw new Error(`region must match ${REGION_PATTERN}, got ${JSON.stringify(region)}`);
    }
    if (seen.has(region)) throw new Error(`region ${region} is listed twice`);
    seen.add(region);
  }
  const pairs = await Promise.all(
    regions.map(async (region): Promise<RegionKey> => {
      const kid = `${region}/${label}`;
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const meta = { kid, alg: 'ES256', use: 'sig' };
      return {
        region,
        kid,
        privateJwk: { ...(await exportJWK(privateKey)), ...meta },
        publicJwk: { ...(await exportJWK(publicKey)), ...meta },
      };
    }),
  );
  return Object.fromEntries(pairs.map((k) => [k.region, k]));
}

/**
 * The shared JWKS of every key's public half (plus `extra` public JWKs, e.g.
 * the next keys during a rotation).
 *
 * @example
 * publicJwks(keys); // { keys: [{ kid: 'us-east/dev', ... }, ...] }
 */
export function publicJwks(keys: RegionKeySet | RegionKey[], extra: JWK[] = []): { keys: JWK[] } {
  const list = Array.isArray(keys) ? keys : Object.values(keys);
  return { keys: [...list.map((k) => k.publicJwk), ...extra] };
}

/** `publicJwks` as the JSON string the Worker's `REPLICATION_PUBLIC_KEYS` takes. */
export function publicJwksJson(keys: RegionKeySet | RegionKey[], extra: JWK[] = []): string {
  return JSON.stringify(publicJwks(keys, extra));
}

/**
 * The three replication variables for one region.
 *
 * @example
 * replicationVars(keys, 'eu-west');
 * // { REPLICATION_KEY_ID: 'eu-west/dev', REPLICATION_PRIVATE_KEY: '{...}', REPLICATION_PUBLIC_KEYS: '{"keys":[...]}' }
 */
export function replicationVars(keys: RegionKeySet, region: string): Record<string, string> {
  const own = keys[region];
  if (!own) throw new Error(`no replication key for region ${region}`);
  return {
    REPLICATION_KEY_ID: own.kid,
    REPLICATION_PRIVATE_KEY: JSON.stringify(own.privateJwk),
    REPLICATION_PUBLIC_KEYS: publicJwksJson(keys),
  };
}

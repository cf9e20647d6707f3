/**
 * Wycheproof JSON Web Signature vectors (/work/shared/vectors/wycheproof,
 * C2SP/wycheproof dac1dd4, Apache-2.0) through `verifyJwt` (node).
 *
 * The vectors sign arbitrary payloads ("foo"), not JWT claims sets, so no
 * vector can yield a principal. What they do show is how far a token gets:
 * a valid vector must pass the signature and fail only on its claims set
 * (jose's `JWTInvalid`, raised after verification), and an invalid one must
 * be stopped before that: by our compact-form check, by configuration, or by
 * jose's header, algorithm, key or signature checks. Each key is configured
 * the way an operator would: `JWT_PUBLIC_KEY` (the JWK as JSON) or
 * `JWT_SECRET` (the HMAC key's bytes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { errors, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtConfig, verifyJwt } from '../../src/auth/jwt.ts';
import { ManualClock } from '../../src/clock.ts';

const FILE = '/work/shared/vectors/wycheproof/json_web_signature_test.json';

interface Vector {
  tcId: number;
  comment: string;
  jws: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}
interface Group {
  comment: string;
  public?: JWK;
  private?: JWK;
  tests: Vector[];
}

/**
 * Vectors where Strata's answer differs from the label, each for a stated reason.
 * Everything not listed must match its label.
 */
const EMPTY_PAYLOAD =
  'empty payload: a JWT needs a claims set, so the compact-form check refuses an empty segment';
const MISLABELLED = 'the vectors README flags it as mislabelled upstream';
const EXPECTED_DIFFERENCES: Record<number, string> = {
  259: EMPTY_PAYLOAD,
  264: EMPTY_PAYLOAD,
  268: EMPTY_PAYLOAD,
  272: EMPTY_PAYLOAD,
  320: EMPTY_PAYLOAD,
  325: EMPTY_PAYLOAD,
  346: 'the JWK pins alg PS256 and the token is PS384: a key is for the alg it names (RFC 7517 §4.4), so it is refused',
  350: 'the JWK pins alg PS256 and the token is PS384: a key is for the alg it names (RFC 7517 §4.4), so it is refused',
  347: 'the JWK names alg "ES521", not a JOSE algorithm (RFC 7518 calls P-521 ES512): configuration refuses the key',
  351: 'the JWK names alg "ES521", not a JOSE algorithm (RFC 7518 calls P-521 ES512): configuration refuses the key',
  367: `labelled invalid, but the token is byte-for-byte tc 357 (valid); ${MISLABELLED}`,
  370: `labelled invalid, but the token is byte-for-byte tc 357 (valid); ${MISLABELLED}`,
  372: `labelled valid, but "?" is not base64url and the compact-form check refuses it; ${MISLABELLED}`,
  373: `labelled valid, but "?" is not base64url and the compact-form check refuses it; ${MISLABELLED}`,
};

type Outcome = 'signature-ok' | 'rejected';

async function outcome(group: Group, vector: Vector): Promise<Outcome> {
  let config: ReturnType<typeof createJwtConfig>;
  try {
    config = group.public
      ? createJwtConfig({
          issuer: 'i',
          audience: 'a',
          publicKey: JSON.stringify(group.public),
          algorithms: [String(group.public.alg ?? 'RS256')],
        })
      : createJwtConfig({
          issuer: 'i',
          audience: 'a',
          secret: Buffer.from(String(group.private?.k), 'base64url'),
          algorithms: [String(group.private?.alg ?? 'HS256')],
        });
  } catch {
    return 'rejected'; // the key itself is unfit for signature verification
  }
  try {
    await verifyJwt(vector.jws, config, new ManualClock(0));
    throw new Error('a vector payload is never a Strata claims set');
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof errors.JWTInvalid ? 'signature-ok' : 'rejected';
  }
}

const groups: Group[] = existsSync(FILE)
  ? (JSON.parse(readFileSync(FILE, 'utf8')) as { testGroups: Group[] }).testGroups
  : [];

describe.skipIf(groups.length === 0)('Wycheproof JWS vectors through verifyJwt', () => {
  const cases = groups.flatMap((g) => g.tests.map((t) => [t.tcId, t.comment, g, t] as const));

  it('covers the whole file', () => {
    expect(cases.length).toBe(401);
  });

  it('tc 367 and 370 are the very token of tc 357', () => {
    const jws = (id: number) => cases.find(([tcId]) => tcId === id)?.[3].jws;
    expect(jws(367)).toBe(jws(357));
    expect(jws(370)).toBe(jws(357));
  });

  it.each(cases)('tc %i %s', async (tcId, _comment, group, vector) => {
    const expected: Outcome = vector.result === 'valid' ? 'signature-ok' : 'rejected';
    const got = await outcome(group, vector);
    if (tcId in EXPECTED_DIFFERENCES) {
      expect(got, EXPECTED_DIFFERENCES[tcId]).not.toBe(expected);
    } else {
      expect(got).toBe(expected);
    }
  });
});

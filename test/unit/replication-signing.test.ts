/**
 * Region tokens (src/replication/signing.ts): what a peer accepts and the
 * ways a token must fail — wrong audience, route, body, key, issuer, age.
 */
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../../src/errors.ts';
import {
  bodyHash,
  createSigner,
  createVerifier,
  type Signer,
  type Verifier,
} from '../../src/replication/signing.ts';

interface RegionKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

async function regionKey(kid: string): Promise<RegionKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' },
  };
}

let us: RegionKey;
let usNext: RegionKey;
let eu: RegionKey;
let usSigner: Signer;
let euVerifier: Verifier;

beforeAll(async () => {
  [us, usNext, eu] = await Promise.all([
    regionKey('us-east/1'),
    regionKey('us-east/2'),
    regionKey('eu-west/1'),
  ]);
  usSigner = await createSigner('us-east', us.kid, us.privateJwk);
  euVerifier = createVerifier('eu-west', { keys: [us.publicJwk, usNext.publicJwk, eu.publicJwk] });
});

async function rejects(p: Promise<unknown>): Promise<StrataError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StrataError);
  expect((err as StrataError).status).toBe(401);
  return err as StrataError;
}

describe('region tokens', () => {
  it('a token for this region, route and body names the sender', async () => {
    const body = '{"events":[]}';
    const auth = await usSigner.sign('eu-west', 'replicate', body);
    expect(await euVerifier.verify(auth, 'replicate', body)).toBe('us-east');
  });

  it('is refused for another body, route or audience', async () => {
    const auth = await usSigner.sign('eu-west', 'replicate', 'a');
    await rejects(euVerifier.verify(auth, 'replicate', 'b'));
    await rejects(euVerifier.verify(auth, 'strong', 'a'));
    const forAp = await usSigner.sign('ap-southeast', 'replicate', 'a');
    await rejects(euVerifier.verify(forAp, 'replicate', 'a'));
  });

  it('is refused when missing, malformed or signed by an unknown key', async () => {
    await rejects(euVerifier.verify(undefined, 'replicate', ''));
    await rejects(euVerifier.verify('Bearer not.a.jwt', 'replicate', ''));
    const stranger = await regionKey('us-east/unknown');
    const signer = await createSigner('us-east', stranger.kid, stranger.privateJwk);
    await rejects(
      euVerifier.verify(await signer.sign('eu-west', 'replicate', ''), 'replicate', ''),
    );
  });

  it('a region’s key cannot speak for another region', async () => {
    // Signed with eu-west's key but claiming to be us-east.
    const token = await new SignJWT({ bh: await bodyHash('') })
      .setProtectedHeader({ alg: 'ES256', kid: eu.kid })
      .setIssuer('us-east')
      .setAudience('eu-west')
      .setSubject('replicate')
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(await importPrivate(eu));
    await rejects(euVerifier.verify(`Bearer ${token}`, 'replicate', ''));
  });

  it('is refused once expired, and with a lifetime longer than allowed', async () => {
    const key = await importPrivate(us);
    const old = Math.floor(Date.now() / 1000) - 600;
    const expired = await new SignJWT({ bh: await bodyHash('') })
      .setProtectedHeader({ alg: 'ES256', kid: us.kid })
      .setIssuer('us-east')
      .setAudience('eu-west')
      .setSubject('replicate')
      .setIssuedAt(old)
      .setExpirationTime(old + 60)
      .sign(key);
    await rejects(euVerifier.verify(`Bearer ${expired}`, 'replicate', ''));
    const longLived = await new SignJWT({ bh: await bodyHash('') })
      .setProtectedHeader({ alg: 'ES256', kid: us.kid })
      .setIssuer('us-east')
      .setAudience('eu-west')
      .setSubject('replicate')
      .setIssuedAt(old)
      .setExpirationTime('1h')
      .sign(key);
    await rejects(euVerifier.verify(`Bearer ${longLived}`, 'replicate', ''));
  });

  it('rotation: both the current and the next key verify while both are published', async () => {
    const next = await createSigner('us-east', usNext.kid, usNext.privateJwk);
    expect(await euVerifier.verify(await next.sign('eu-west', 'digest', 'x'), 'digest', 'x')).toBe(
      'us-east',
    );
    const afterRotation = createVerifier('eu-west', { keys: [usNext.publicJwk] });
    await rejects(
      afterRotation.verify(await usSigner.sign('eu-west', 'digest', 'x'), 'digest', 'x'),
    );
  });

  it('a signer refuses a key id that names another region or disagrees with its key', async () => {
    await expect(
      createSigner('us-east', 'eu-west/1', { ...us.privateJwk, kid: 'eu-west/1' }),
    ).rejects.toThrow(/REPLICATION_KEY_ID/);
    await expect(createSigner('us-east', 'us-east/9', us.privateJwk)).rejects.toThrow(/kid/);
  });
});

async function importPrivate(k: RegionKey) {
  const { importJWK } = await import('jose');
  return importJWK(k.privateJwk, 'ES256');
}

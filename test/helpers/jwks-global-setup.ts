/**
 * Vitest globalSetup: an RS256 key pair and a JWK Set server for it on
 * 127.0.0.1 (a free port), so workerd tests exercise `JWT_JWKS_URL` against a
 * real HTTP endpoint. Tests read `inject('jwksUrl')` and sign tokens with
 * `inject('jwtPrivateKey')` (PKCS#8 PEM, alg RS256, kid `strata-test-rs256`); the
 * server stops on teardown.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the JWK Set (`http://127.0.0.1:<port>/.well-known/jwks.json`). */
    jwksUrl: string;
    /** The RS256 private key as PKCS#8 PEM; its public half is the set's only key. */
    jwtPrivateKey: string;
  }
}

const KID = 'strata-test-rs256';

/**
 * Serves the key set as `{ keys: [{ kty: 'RSA', kid: 'strata-test-rs256', alg: 'RS256', use: 'sig', … }] }`.
 * @example
 * // in a workers test
 * const key = await importPKCS8(inject('jwtPrivateKey'), 'RS256');
 * const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'strata-test-rs256' }).sign(key);
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const body = JSON.stringify({ keys: [jwk] });

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      res.writeHead(200, {
        'content-type': 'application/jwk-set+json',
        'cache-control': 'max-age=60',
      });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  project.provide('jwksUrl', `http://127.0.0.1:${port}/.well-known/jwks.json`);
  project.provide('jwtPrivateKey', await exportPKCS8(privateKey));

  return async function teardown() {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

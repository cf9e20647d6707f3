/**
 * Vitest globalSetup: a real redis-server and the L3 server in front of it,
 * on free ports with a random token, for one test project. Tests read the
 * endpoints with `inject('l3Url')`, `inject('l3Token')` and `inject('redisUrl')`;
 * both processes are stopped on teardown.
 */
import type { TestProject } from 'vitest/node';
import { randomToken, startL3Server } from '../../scripts/l3-server.ts';
import { findRedisServer, startRedis } from '../../scripts/lib/redis-process.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the Upstash-compatible L3 server. */
    l3Url: string;
    /** Its Bearer token. */
    l3Token: string;
    /** `redis://127.0.0.1:<port>` of the redis-server behind it. */
    redisUrl: string;
  }
}

/**
 * @example
 * // vitest.config.ts
 * test: { globalSetup: ['test/helpers/l3-global-setup.ts'] }
 * // in a test
 * const redis = new Redis({ url: inject('l3Url'), token: inject('l3Token') });
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!findRedisServer()) {
    throw new Error(
      'The L3 tests need a real redis-server on PATH, and none was found. ' +
        'Install it with `apt-get install redis-server` (Debian/Ubuntu) and run the tests again.',
    );
  }
  const redis = await startRedis({});
  const token = randomToken();
  let l3: Awaited<ReturnType<typeof startL3Server>>;
  try {
    l3 = await startL3Server({ redisUrl: redis.url, token });
  } catch (error) {
    await redis.stop();
    throw error;
  }
  project.provide('l3Url', l3.url);
  project.provide('l3Token', token);
  project.provide('redisUrl', redis.url);
  return async function teardown() {
    await l3.close();
    await redis.stop();
  };
}

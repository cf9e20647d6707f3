/**
 * Vitest globalSetup: the local stand-in for Cloudflare's zone purge API
 * (scripts/lib/zone-api-stand-in.ts) on 127.0.0.1 and a free port, with a
 * random zone id and token. The workers project binds them as `CF_API_BASE`,
 * `CF_ZONE_ID` and `CF_API_TOKEN`; tests read them with `inject('zoneApiUrl')`,
 * `inject('zoneId')`, `inject('zoneApiToken')`, and drive the stand-in through
 * its control API at `inject('zoneApiOrigin')` (`/__calls`, `/__fault`,
 * `/__reset`). The default zone gets the enterprise plan's rate limit, so
 * suites that purge through the Worker are not slowed; tests of the limit
 * register their own zone with a small one. The server stops on teardown.
 */
import type { TestProject } from 'vitest/node';
import { start } from '../../scripts/lib/zone-api-stand-in.ts';
import { ZONE_PLAN_LIMITS } from '../../src/purge/zone-limits.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The API base, `http://127.0.0.1:<port>/client/v4`. */
    zoneApiUrl: string;
    /** `http://127.0.0.1:<port>`: the control API (`/__calls`, `/__fault`, `/__reset`). */
    zoneApiOrigin: string;
    /** The zone id the stand-in serves by default (32 hex digits). */
    zoneId: string;
    /** The Bearer token it accepts. */
    zoneApiToken: string;
  }
}

/**
 * @example
 * // vitest.config.ts, workers project
 * globalSetup: ['test/helpers/zone-global-setup.ts'],
 * bindings: { CF_ZONE_ID: inject('zoneId'), CF_API_TOKEN: inject('zoneApiToken'), CF_API_BASE: inject('zoneApiUrl') }
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const api = await start({ rateLimit: ZONE_PLAN_LIMITS.enterprise });
  project.provide('zoneApiUrl', api.url);
  project.provide('zoneApiOrigin', api.origin);
  project.provide('zoneId', api.zoneId);
  project.provide('zoneApiToken', api.token);
  return async function teardown() {
    await api.close();
  };
}

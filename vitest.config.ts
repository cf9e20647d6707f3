/**
 * Three test projects (see README "Tests"):
 *   unit     node, pure modules
 *   workers  real workerd through @cloudflare/vitest-plugin, real Durable
 *            Objects, L3 = a real redis-server behind scripts/l3-server.ts
 *   workers-proxy  the same, in proxy mode in front of a scriptable origin
 *   sim      node, real redis-server and L3 server (the L3 contract suite,
 *            later several regions and faults)
 */
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/** What both workerd projects bind: one test region on the real L3 of `l3-global-setup.ts`. */
function workerBindings(inject: <T>(key: 'l3Url' | 'l3Token') => T): Record<string, string> {
  return {
    REGION: 'test',
    SHARDS: '4',
    UPSTASH_REDIS_REST_URL: inject<string>('l3Url'),
    UPSTASH_REDIS_REST_TOKEN: inject<string>('l3Token'),
    STRATA_ADMIN_KEY: 'test-admin-key',
    L3_TIMEOUT_MS: '2000',
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Exhaustive and trace-replay tests are compute, not waiting: allow for a busy 2-core machine.
          testTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ...workerBindings(inject),
                JWT_ISSUER: 'https://issuer.test',
                JWT_AUDIENCE: 'strata-test',
                JWT_JWKS_URL: inject<string>('jwksUrl'),
                // Cloudflare zone purge against the local API stand-in (test/helpers/zone-global-setup.ts).
                CF_ZONE_ID: inject<string>('zoneId'),
                CF_API_TOKEN: inject<string>('zoneApiToken'),
                CF_API_BASE: inject<string>('zoneApiUrl'),
                SHARD_BYTE_BUDGET: '65536',
                // Policies are configured per exact namespace name; the "lru-*" ones
                // belong to tests of LRU's order (the default policy is adaptive).
                NAMESPACE_POLICIES: JSON.stringify({
                  'priority-test': 'priority',
                  'lru-budget': 'lru',
                  'lru-restart-checkpoint': 'lru',
                  'lru-restart-control': 'lru',
                  'lru-model-output': 'lru',
                }),
                NAMESPACE_PRIORITIES: '{"priority-test":1}',
                // Webhooks (test/workers/webhooks.test.ts): "default" mid-rotation, "cms" limited to one namespace.
                STRATA_WEBHOOK_SECRET:
                  'whsec_cIAQfim4lzkMyXIPeirDhtQN73afpOm2 whsec_uHvf+dfDKkes9dTpzNR+Efa96BoF3zqa',
                WEBHOOK_ENDPOINTS:
                  '{"cms":{"secrets":["whsec_FqJIlAyugu0RXXAu88wX3AeNtrMvaN6BvqeS2lIwDnE="],"namespaces":["wh-cms"]},"paused":{"secrets":[]}}',
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          globalSetup: [
            'test/helpers/l3-global-setup.ts',
            'test/helpers/jwks-global-setup.ts',
            'test/helpers/zone-global-setup.ts',
          ],
          testTimeout: 30_000,
        },
      },
      {
        // Proxy mode (README "Proxy mode"): the same Worker with ORIGIN_URL set, in
        // front of the scriptable origin; its own project because every path
        // outside /v1 is then proxied.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ...workerBindings(inject),
                ORIGIN_URL: inject<string>('originUrl'),
                PROXY_ORIGIN_TIMEOUT_MS: '1500',
                PROXY_MAX_BODY_BYTES: '65536',
              },
            },
          })),
        ],
        test: {
          name: 'workers-proxy',
          include: ['test/workers-proxy/**/*.test.ts'],
          globalSetup: ['test/helpers/l3-global-setup.ts', 'test/helpers/origin-global-setup.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'sim',
          include: ['test/sim/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/l3-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

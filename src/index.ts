/**
 * Worker entry point: the HTTP app, proxy mode in front of it, and the
 * Durable Object classes the runtime must find exported from the main module.
 *
 * With `ORIGIN_URL` set, paths outside the API prefix (and the reserved
 * `/internal/`, `/healthz`, `/metrics`) go to proxy mode; an `API_PREFIX`
 * other than `/v1` is mapped onto the app's `/v1` routes.
 */
import { createApp } from './app.ts';
import { configFor, type Env } from './env.ts';
import { problemResponse } from './errors.ts';
import { isApiPath, proxyConfigFor } from './proxy/config.ts';
import { handleProxy } from './proxy/proxy.ts';

export { KeysDO } from '../durable-objects/keys.ts';
export { MetricsDO } from '../durable-objects/metrics.ts';
export { PurgeDO } from '../durable-objects/purge.ts';
export { ShardDO } from '../durable-objects/shard.ts';

const app = createApp();

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    let proxy: ReturnType<typeof proxyConfigFor>;
    let config: ReturnType<typeof configFor>;
    try {
      config = configFor(env);
      proxy = proxyConfigFor(env, config);
    } catch (err) {
      console.error('configuration error', err instanceof Error ? err.message : err);
      return problemResponse(err);
    }
    if (!proxy) return app.fetch(request, env, ctx);
    const url = new URL(request.url);
    if (!isApiPath(proxy, url.pathname)) return handleProxy(request, env, ctx, config, proxy);
    if (proxy.apiPrefix !== '/v1' && url.pathname.startsWith(proxy.apiPrefix)) {
      url.pathname = `/v1${url.pathname.slice(proxy.apiPrefix.length)}`;
      return app.fetch(new Request(url, request), env, ctx);
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

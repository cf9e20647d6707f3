/**
 * The Strata HTTP app: middleware order, route mounting and the one place
 * errors become RFC 9457 problem responses.
 */
import { Hono } from 'hono';
import { except } from 'hono/combine';
import { routePath } from 'hono/route';
import type { AppEnv } from './app-env.ts';
import { authenticate } from './auth/middleware.ts';
import { problemResponse, StrataError } from './errors.ts';
import { isolateMetrics, maybeFlush } from './metrics/recorder.ts';
import { adminRoutes } from './routes/admin.ts';
import { cacheRoutes } from './routes/cache.ts';
import { internalRoutes } from './routes/internal.ts';
import { purgeRoutes } from './routes/purge.ts';
import { systemRoutes } from './routes/system.ts';
import { webhookRoutes } from './routes/webhooks.ts';

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use('*', async function recordRequest(c, next) {
    const started = performance.now();
    await next();
    // Label by route pattern, never by raw path: keys must not become label values.
    const route = c.req.matchedRoutes.some((r) => r.method !== 'ALL')
      ? routePath(c, -1).replace(/\{[^}]*\}/g, '')
      : 'unmatched';
    isolateMetrics.inc('strata_http_requests_total', {
      route,
      method: c.req.method,
      status: String(c.res.status),
    });
    isolateMetrics.observe(
      'strata_http_request_duration_seconds',
      { route },
      (performance.now() - started) / 1000,
    );
    c.executionCtx.waitUntil(maybeFlush(c.env));
  });

  const auth = authenticate();
  // Webhooks carry a Standard Webhooks signature instead of an API key: see routes/webhooks.ts.
  app.use('/v1/*', except('/v1/webhooks/*', auth));
  app.use('/healthz', auth);
  app.use('/metrics', auth);

  app.route('/', systemRoutes);
  app.route('/v1/cache', cacheRoutes);
  app.route('/v1/admin', adminRoutes);
  app.route('/v1/purge', purgeRoutes);
  app.route('/v1/webhooks', webhookRoutes);
  // Region tokens, not API keys: see routes/internal.ts.
  app.route('/internal', internalRoutes);

  app.notFound((c) =>
    problemResponse(new StrataError('not-found', `No route for ${c.req.method} ${c.req.path}.`)),
  );
  app.onError((err, c) => {
    if (!(err instanceof StrataError))
      console.error('unhandled error', c.req.method, routePath(c), err);
    return problemResponse(err, c.req.path);
  });
  return app;
}

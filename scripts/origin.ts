/**
 * `npm run origin`: the scriptable origin (scripts/lib/scripted-origin.ts)
 * on 127.0.0.1, for trying proxy mode locally:
 *
 *   npm run origin                                   # http://127.0.0.1:8080
 *   ORIGIN_URL=http://127.0.0.1:8080 npm start       # in another terminal
 *
 * ORIGIN_PORT picks the port (default 8080). Ctrl-C stops it.
 */
import { startScriptedOrigin } from './lib/scripted-origin.ts';

const port = Number(process.env.ORIGIN_PORT || 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `ORIGIN_PORT must be a port number, got ${JSON.stringify(process.env.ORIGIN_PORT)}`,
  );
  process.exit(2);
}
const origin = await startScriptedOrigin(port);
console.log(`[origin] listening on ${origin.url}
[origin] try, with ORIGIN_URL=${origin.url} npm start in another terminal:
  curl -i 'http://127.0.0.1:8787/news?h=cache-control:max-age%3D60&h=cache-tag:news'
  curl -i 'http://127.0.0.1:8787/news?h=cache-control:max-age%3D60&h=cache-tag:news'   # strata; hit
[origin] requests it receives are listed at ${origin.url}/__origin/requests?path=/news`);
const stop = () => {
  void origin.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

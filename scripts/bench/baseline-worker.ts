/**
 * The bench's baseline: a bare Worker exposing, one route each, the platform
 * primitives Strata's tiers rest on, with nothing else on the path (no
 * router, no auth, no metrics). `npm run bench` measures every Strata
 * scenario beside the primitive it is built on, so a ratio shows what Strata
 * adds on top of the primitive rather than what the local runtime costs.
 *
 *   GET /const                 a constant: the floor (runtime + HTTP)
 *   PUT /cache-fill?key=K      caches.default.put of the body under K
 *   GET /cache-match?key=K     one caches.default.match, body returned  (L1)
 *   PUT /do-write?key=K        one DO RPC: INSERT OR REPLACE one row     (L2)
 *   GET /do-read?key=K         one DO RPC: SELECT one row                (L2)
 *   PUT /redis-set?key=K       one Upstash SET                           (L3)
 *   GET /redis-get?key=K       one Upstash GET                           (L3)
 *
 * Keys are spread over `SHARDS` Durable Objects (as Strata spreads keys over
 * its shards), and the Redis client is built by Strata's own `createRedis`,
 * so both use the same client options.
 */
import { DurableObject } from 'cloudflare:workers';
import { createRedis } from '../../src/tiers/l3-redis.ts';

export interface BaselineEnv {
  PRIMITIVE: DurableObjectNamespace<PrimitiveDO>;
  SHARDS?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
}

/** A SQLite-backed object holding one table of (key, value) rows. */
export class PrimitiveDO extends DurableObject<BaselineEnv> {
  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB NOT NULL)');
  }

  read(key: string): ArrayBuffer | null {
    const row = this.ctx.storage.sql
      .exec<{ v: ArrayBuffer }>('SELECT v FROM kv WHERE k = ?', key)
      .toArray()[0];
    return row ? row.v : null;
  }

  write(key: string, value: ArrayBuffer): void {
    this.ctx.storage.sql.exec('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', key, value);
  }
}

type Redis = ReturnType<typeof createRedis>;
const clients = new WeakMap<object, Redis>();

function redisFor(env: BaselineEnv): Redis {
  let client = clients.get(env);
  if (!client) {
    const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env;
    if (!url || !token) throw new Error('UPSTASH_REDIS_REST_URL and _TOKEN must be set');
    client = createRedis(url, token);
    clients.set(env, client);
  }
  return client;
}

/** A cheap, stable string hash (FNV-1a): which object holds `key`. */
function objectFor(env: BaselineEnv, key: string): DurableObjectStub<PrimitiveDO> {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  const shards = Number(env.SHARDS ?? '8') || 8;
  return env.PRIMITIVE.getByName(`p${(h >>> 0) % shards}`);
}

const cacheUrl = (key: string) => `https://baseline.bench.invalid/${encodeURIComponent(key)}`;
const redisKey = (key: string) => `bench:baseline:${key}`;
const TTL_MS = 3600_000;

export default {
  async fetch(request: Request, env: BaselineEnv): Promise<Response> {
    const url = new URL(request.url);
    const key = url.searchParams.get('key') ?? 'k';
    switch (`${request.method} ${url.pathname}`) {
      case 'GET /const':
        return new Response('ok');
      case 'PUT /cache-fill':
        await caches.default.put(
          cacheUrl(key),
          new Response(await request.arrayBuffer(), {
            headers: { 'cache-control': 'max-age=3600' },
          }),
        );
        return new Response(null, { status: 204 });
      case 'GET /cache-match': {
        const hit = await caches.default.match(cacheUrl(key));
        // Buffered, as Strata's L1 tier buffers it to check the size.
        return hit ? new Response(await hit.arrayBuffer()) : new Response(null, { status: 404 });
      }
      case 'PUT /do-write':
        await objectFor(env, key).write(key, await request.arrayBuffer());
        return new Response(null, { status: 204 });
      case 'GET /do-read': {
        const value = await objectFor(env, key).read(key);
        return value ? new Response(value) : new Response(null, { status: 404 });
      }
      case 'PUT /redis-set':
        await redisFor(env).set(redisKey(key), await request.text(), {
          pxat: Date.now() + TTL_MS,
        });
        return new Response(null, { status: 204 });
      case 'GET /redis-get': {
        const value = await redisFor(env).get<string>(redisKey(key));
        return value === null ? new Response(null, { status: 404 }) : new Response(value);
      }
      default:
        return new Response('not found', { status: 404 });
    }
  },
} satisfies ExportedHandler<BaselineEnv>;

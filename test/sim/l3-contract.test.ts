/**
 * The L3 contract: `@upstash/redis` (what the Worker uses) against
 * scripts/l3-server.ts in front of a real redis-server, plus the same
 * single-command expectations against the embedded store, plus raw-fetch
 * checks of the wire protocol (see /work/shared/L3-PROTOCOL.md).
 *
 * Keys carry a per-run prefix: other sim files share the redis-server.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis, type RedisConfigNodejs } from '@upstash/redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type L3RequestInfo, type L3Server, startL3Server } from '../../scripts/l3-server.ts';

interface Target {
  url: string;
  token: string;
}

type ClientOptions = Partial<RedisConfigNodejs>;

/** A client that fails fast: no retries (a dead endpoint would cost ~4 s a command), no telemetry. */
function client(target: Target, extra: ClientOptions = {}): Redis {
  return new Redis({
    url: target.url,
    token: target.token,
    retry: false,
    enableTelemetry: false,
    ...extra,
  });
}

/** One raw protocol request. */
async function post(
  target: Target,
  path: string,
  body: unknown,
  opts: { base64?: boolean; token?: string | null; raw?: string } = {},
): Promise<{ status: number; text: string; json: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = opts.token === undefined ? target.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.base64 ?? true) headers['upstash-encoding'] = 'base64';
  const res = await fetch(`${target.url}${path}`, {
    method: 'POST',
    headers,
    body: opts.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const run = randomUUID();
/** Every byte 0..255 as a latin1 string. */
const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
const UNICODE = [
  'emoji 🚀🧪 👩‍💻 🏳️‍🌈',
  'CJK 多層キャッシュ 缓存 캐시',
  'combining e\u0301 n\u0303 a\u0308\u0332',
  'nul \u0000 and replacement \uFFFD and bidi \u202E',
];

/** The single-command subset every L3 implementation must pass. */
function singleCommandContract(name: string, target: () => Target): void {
  describe(`single commands (${name})`, () => {
    let redis: Redis;
    let raw: Redis;
    const k = (s: string) => `contract:${run}:${name}:${s}`;

    beforeAll(() => {
      redis = client(target());
      raw = client(target(), { automaticDeserialization: false });
    });

    it('SET, GET and DEL round-trip a value', async () => {
      expect(await redis.set(k('a'), 'hello')).toBe('OK');
      expect(await redis.get(k('a'))).toBe('hello');
      expect(await redis.del(k('a'), k('missing'))).toBe(1);
      expect(await redis.get(k('a'))).toBeNull();
    });

    it('SET with NX, XX, GET and EX', async () => {
      expect(await redis.set(k('opt'), 'a', { nx: true })).toBe('OK');
      expect(await redis.set(k('opt'), 'b', { nx: true })).toBeNull();
      expect(await redis.set(k('opt'), 'c', { xx: true, get: true })).toBe('a');
      expect(await redis.set(k('none'), 'c', { xx: true })).toBeNull();
      expect(await redis.set(k('opt'), 'd', { ex: 100 })).toBe('OK');
      expect(await redis.ttl(k('opt'))).toBeGreaterThanOrEqual(99);
      expect(await redis.pttl(k('opt'))).toBeLessThanOrEqual(100_000);
    });

    it('stores JSON values and reads them back as objects', async () => {
      await redis.set(k('json'), { tier: 'L3', n: 1, nested: [true, null] });
      expect(await redis.get(k('json'))).toEqual({ tier: 'L3', n: 1, nested: [true, null] });
    });

    it('INCR, INCRBY and DECR; INCR on a non-integer is a Redis error', async () => {
      expect(await redis.incr(k('n'))).toBe(1);
      expect(await redis.incrby(k('n'), 41)).toBe(42);
      expect(await redis.decr(k('n'))).toBe(41);
      await redis.set(k('word'), 'not a number');
      await expect(redis.incr(k('word'))).rejects.toThrow(
        'ERR value is not an integer or out of range',
      );
    });

    it('EXPIRE, PEXPIRE, TTL, PTTL, and keys really expire', async () => {
      await redis.set(k('ttl'), 'v');
      expect(await redis.ttl(k('ttl'))).toBe(-1);
      expect(await redis.ttl(k('absent'))).toBe(-2);
      expect(await redis.expire(k('absent'), 10)).toBe(0);
      expect(await redis.expire(k('ttl'), 60)).toBe(1);
      expect(await redis.ttl(k('ttl'))).toBeGreaterThanOrEqual(59);
      expect(await redis.pexpire(k('ttl'), 80)).toBe(1);
      const pttl = await redis.pttl(k('ttl'));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(80);
      await new Promise((r) => setTimeout(r, 200));
      expect(await redis.get(k('ttl'))).toBeNull();
      expect(await redis.exists(k('ttl'))).toBe(0);
    });

    it('MSET, MGET, EXISTS and UNLINK', async () => {
      expect(await redis.mset({ [k('m1')]: 'one', [k('m2')]: 'two' })).toBe('OK');
      expect(await redis.mget(k('m1'), k('m2'), k('m3'))).toEqual(['one', 'two', null]);
      expect(await redis.exists(k('m1'), k('m2'), k('m3'))).toBe(2);
      expect(await redis.unlink(k('m1'), k('m2'))).toBe(2);
    });

    it('HSET, HGET, HGETALL and HDEL', async () => {
      expect(await redis.hset(k('h'), { name: 'strata', tier: 'L3' })).toBe(2);
      expect(await redis.hget(k('h'), 'name')).toBe('strata');
      expect(await redis.hgetall(k('h'))).toEqual({ name: 'strata', tier: 'L3' });
      expect(await redis.hdel(k('h'), 'name')).toBe(1);
      expect(await redis.hgetall(k('h'))).toEqual({ tier: 'L3' });
      expect(await redis.hgetall(k('no-hash'))).toBeNull();
    });

    it('SADD, SMEMBERS, SCARD and SREM', async () => {
      expect(await redis.sadd(k('s'), 'a', 'b', 'c')).toBe(3);
      expect(await redis.sadd(k('s'), 'a')).toBe(0);
      expect((await redis.smembers(k('s'))).sort()).toEqual(['a', 'b', 'c']);
      expect(await redis.scard(k('s'))).toBe(3);
      expect(await redis.srem(k('s'), 'a', 'zz')).toBe(1);
    });

    it('ZADD, ZRANGE (index, scores, BYSCORE, REV) and ZREM', async () => {
      const added = await redis.zadd(
        k('z'),
        { score: 3, member: 'c' },
        { score: 1, member: 'a' },
        { score: 2, member: 'b' },
      );
      expect(added).toBe(3);
      expect(await redis.zrange(k('z'), 0, -1)).toEqual(['a', 'b', 'c']);
      expect(await redis.zrange(k('z'), 0, -1, { withScores: true })).toEqual([
        'a',
        1,
        'b',
        2,
        'c',
        3,
      ]);
      expect(await redis.zrange(k('z'), 2, 3, { byScore: true })).toEqual(['b', 'c']);
      expect(await redis.zrange(k('z'), 0, 0, { rev: true })).toEqual(['c']);
      expect(await redis.zrem(k('z'), 'a')).toBe(1);
      expect(await redis.zrange(k('z'), 0, -1)).toEqual(['b', 'c']);
    });

    it('SCAN with MATCH and COUNT visits every matching key once', async () => {
      const keys = Array.from({ length: 25 }, (_, i) => k(`scan:${i}`));
      await Promise.all(keys.map((key) => redis.set(key, 1)));
      await redis.set(k('not-scanned'), 1);
      const seen: string[] = [];
      let cursor: string | number = 0;
      do {
        const [next, batch]: [string, string[]] = await redis.scan(cursor, {
          match: k('scan:*'),
          count: 5,
        });
        seen.push(...batch);
        cursor = next;
      } while (String(cursor) !== '0');
      expect([...new Set(seen)].sort()).toEqual([...keys].sort());
    });

    it('round-trips every byte 0..255 (latin1 and base64 text) and unicode', async () => {
      const bytes = Buffer.from(ALL_BYTES, 'latin1');
      for (const value of [ALL_BYTES, bytes.toString('base64'), ...UNICODE]) {
        await raw.set(k('bin'), value);
        expect(await raw.get(k('bin'))).toBe(value);
      }
      await raw.hset(k('bin-hash'), { [UNICODE[0] ?? '']: ALL_BYTES });
      expect(await raw.hget(k('bin-hash'), UNICODE[0] ?? '')).toBe(ALL_BYTES);
    });
  });
}

describe('L3 server in front of redis-server', () => {
  const shared: Target = { url: inject('l3Url'), token: inject('l3Token') };
  singleCommandContract('redis-server', () => shared);

  // A private instance on the same redis-server, to see which requests arrive.
  let own: L3Server;
  const requests: L3RequestInfo[] = [];
  let target: Target;
  const k = (s: string) => `contract:${run}:own:${s}`;
  beforeAll(async () => {
    own = await startL3Server({
      redisUrl: inject('redisUrl'),
      token: shared.token,
      onRequest: (info) => requests.push(info),
    });
    target = { url: own.url, token: shared.token };
  });
  afterAll(() => own.close());
  afterEach(() => {
    requests.length = 0;
  });

  it('auto-pipelining sends concurrent calls as one /pipeline request', async () => {
    const redis = client(target, { enableAutoPipelining: true });
    const results = await Promise.all([
      redis.set(k('ap1'), 'one'),
      redis.set(k('ap2'), 'two'),
      redis.incr(k('ap3')),
      redis.del(k('ap-missing')),
    ]);
    expect(results).toEqual(['OK', 'OK', 1, 0]);
    expect(requests.map((r) => r.path)).toEqual(['/pipeline']);
    expect(requests[0]?.commands.map((c) => c[0])).toEqual(['set', 'set', 'incr', 'del']);
  });

  it('auto-pipelining batches reads and writes separately; SCAN/HGETALL go to /', async () => {
    const redis = client(target, { enableAutoPipelining: true });
    const [a, b] = await Promise.all([
      redis.get(k('ap1')),
      redis.get(k('ap2')),
      redis.set(k('ap4'), 'x'),
    ]);
    expect([a, b]).toEqual(['one', 'two']);
    expect(requests.map((r) => r.path)).toEqual(['/pipeline', '/pipeline']);
    requests.length = 0;
    await redis.hgetall(k('no-hash'));
    expect(requests.map((r) => r.path)).toEqual(['/']);
  });

  it('redis.pipeline() returns every result, or keeps per-command errors', async () => {
    const redis = client(target);
    const ok = await redis.pipeline().set(k('p'), 1).incr(k('p')).get(k('p')).exec();
    expect(ok).toEqual(['OK', 2, 2]);
    await redis.set(k('pw'), 'word');
    const kept = await redis.pipeline().get(k('pw')).incr(k('pw')).exec({ keepErrors: true });
    expect(kept[0]).toMatchObject({ result: 'word' });
    expect(kept[1]?.error).toBe('ERR value is not an integer or out of range');
    await expect(redis.pipeline().get(k('pw')).incr(k('pw')).exec()).rejects.toThrow(
      'Command 2 [ incr ] failed: ERR value is not an integer or out of range',
    );
    expect(requests.every((r) => r.path === '/pipeline')).toBe(true);
  });

  it('redis.multi() runs on /multi-exec, binary-safe; runtime errors do not roll back', async () => {
    const raw = client(target, { automaticDeserialization: false });
    const results = await raw.multi().set(k('tx'), ALL_BYTES).get(k('tx')).incr(k('tx-n')).exec();
    expect(results).toEqual(['OK', ALL_BYTES, 1]);
    await expect(
      raw.multi().set(k('tx'), 'x').incr(k('tx')).set(k('tx2'), 'after').exec(),
    ).rejects.toThrow('Command 2 [ incr ] failed');
    expect(await raw.get(k('tx2'))).toBe('after');
    expect(requests.map((r) => r.path)).toContain('/multi-exec');
  });

  it('an EXECABORT transaction is a client error and nothing runs', async () => {
    const redis = client(target);
    // DEL without keys fails when queued (arity), so Redis discards the whole transaction.
    await expect(redis.multi().set(k('abort'), 1).del().exec()).rejects.toThrow(/EXECABORT/);
    expect(await redis.get(k('abort'))).toBeNull();
  });

  it('Script.exec falls back from EVALSHA to EVAL on NOSCRIPT, then uses EVALSHA', async () => {
    const redis = client(target);
    const source = `-- ${randomUUID()}\nreturn ARGV[1]`;
    const sha = createHash('sha1').update(source).digest('hex');
    await expect(redis.evalsha(sha, [], ['x'])).rejects.toThrow(/NOSCRIPT/);
    requests.length = 0;
    const script = redis.createScript<string>(source);
    expect(await script.exec([], ['hello'])).toBe('hello');
    expect(requests.flatMap((r) => r.commands.map((c) => c[0]))).toEqual(['evalsha', 'eval']);
    requests.length = 0;
    expect(await script.exec([], ['again'])).toBe('again');
    expect(requests.flatMap((r) => r.commands.map((c) => c[0]))).toEqual(['evalsha']);
  });

  it('a bad token is an Unauthorized client error', async () => {
    await expect(client({ ...target, token: 'wrong' }).get(k('x'))).rejects.toThrow(/Unauthorized/);
  });

  it('SUBSCRIBE is refused (the client reports it as an error event)', async () => {
    const redis = client(target);
    const subscriber = redis.subscribe([k('chan')]);
    const error = await new Promise<unknown>((resolve) => subscriber.on('error', resolve));
    await subscriber.unsubscribe();
    expect(String(error)).toMatch(/SUBSCRIBE/);
  });
});

describe('wire protocol (raw fetch)', () => {
  const target: Target = { url: inject('l3Url'), token: inject('l3Token') };
  const k = (s: string) => `contract:${run}:raw:${s}`;

  it('base64-encodes every string except "OK"; integers and null pass through', async () => {
    expect((await post(target, '/', ['PING'])).json).toEqual({ result: b64('PONG') });
    expect((await post(target, '/', ['PING'], { base64: false })).json).toEqual({ result: 'PONG' });
    expect((await post(target, '/', ['SET', k('s'), 'value'])).text).toBe('{"result":"OK"}');
    expect((await post(target, '/', ['GET', k('s')])).json).toEqual({ result: b64('value') });
    expect((await post(target, '/', ['GET', k('s')], { base64: false })).json).toEqual({
      result: 'value',
    });
    expect((await post(target, '/', ['INCR', k('n')])).text).toBe('{"result":1}');
    expect((await post(target, '/', ['GET', k('missing')])).text).toBe('{"result":null}');
  });

  it('recurses into arrays, nested ones included', async () => {
    const mget = await post(target, '/', ['MGET', k('s'), k('missing')]);
    expect(mget.json).toEqual({ result: [b64('value'), null] });
    const nested = await post(target, '/', ['EVAL', "return {1, 'a', {2, 'OK'}}", 0]);
    expect(nested.json).toEqual({ result: [1, b64('a'), [2, 'OK']] });
  });

  it('stringifies numbers and booleans, and keeps 64-bit integers exact', async () => {
    await post(target, '/', ['SET', k('num'), 42, 'EX', 60]);
    expect((await post(target, '/', ['GET', k('num')], { base64: false })).json).toEqual({
      result: '42',
    });
    await post(target, '/', ['SET', k('bool'), true]);
    expect((await post(target, '/', ['GET', k('bool')], { base64: false })).json).toEqual({
      result: 'true',
    });
    const big = await post(target, '/', ['INCRBY', k('big'), '9007199254740993']);
    expect(big.text).toBe('{"result":9007199254740993}');
  });

  it('passes Redis errors through: 400 on /, per-item in a pipeline', async () => {
    await post(target, '/', ['SET', k('word'), 'abc']);
    const single = await post(target, '/', ['INCR', k('word')]);
    expect(single).toMatchObject({
      status: 400,
      json: { error: 'ERR value is not an integer or out of range' },
    });
    const pipeline = await post(target, '/pipeline', [
      ['GET', k('word')],
      ['INCR', k('word')],
      ['NOSUCHCMD', 'a'],
    ]);
    expect(pipeline.status).toBe(200);
    expect(pipeline.json).toEqual([
      { result: b64('abc') },
      { error: 'ERR value is not an integer or out of range' },
      { error: "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' " },
    ]);
  });

  it('EXECABORT on /multi-exec is a non-2xx {"error"}', async () => {
    const res = await post(target, '/multi-exec', [['SET', k('ea'), '1'], ['NOSUCHCMD']]);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: 'EXECABORT Transaction discarded because of previous errors.',
    });
    expect((await post(target, '/', ['EXISTS', k('ea')])).json).toEqual({ result: 0 });
  });

  it('refuses transaction, connection-state and blocking commands', async () => {
    for (const command of [
      ['BLPOP', k('l'), 0],
      ['MULTI'],
      ['WATCH', k('w')],
      ['SELECT', 1],
      ['MONITOR'],
    ]) {
      const res = await post(target, '/', command);
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: expect.stringContaining(`not allowed: ${command[0]}`) });
    }
    const pipeline = await post(target, '/pipeline', [['BRPOP', k('l'), 1], ['PING']]);
    expect(pipeline.json).toEqual([
      { error: expect.stringContaining('BRPOP') },
      { result: b64('PONG') },
    ]);
    const tx = await post(target, '/multi-exec', [['AUTH', 'x'], ['PING']]);
    expect(tx.status).toBe(400);
  });

  it('401 {"error":"Unauthorized"} on a missing or wrong token, on every path', async () => {
    for (const path of ['/', '/pipeline', '/multi-exec']) {
      for (const token of [null, 'wrong', `${target.token}x`]) {
        const res = await post(target, path, ['PING'], { token });
        expect(res.status).toBe(401);
        expect(res.text).toBe('{"error":"Unauthorized"}');
      }
    }
  });

  it('400 on malformed JSON or a malformed command, 413 past 10 MB', async () => {
    const bad = await post(target, '/', null, { raw: '["SET", "k"' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: expect.stringContaining('JSON') });
    expect((await post(target, '/', [])).status).toBe(400);
    expect((await post(target, '/', [['nested']])).status).toBe(400);
    const huge = await post(target, '/', ['SET', k('huge'), 'x'.repeat(10 * 1024 * 1024)]);
    expect(huge.status).toBe(413);
    expect(huge.json).toEqual({ error: expect.any(String) });
    // The connection and the server are still fine afterwards.
    expect((await post(target, '/', ['PING'])).status).toBe(200);
  });
});

describe('embedded store fallback', () => {
  let l3: L3Server;
  const token = 'embedded-token';
  beforeAll(async () => {
    l3 = await startL3Server({ embedded: true, token });
  });
  afterAll(() => l3.close());

  singleCommandContract('embedded', () => ({ url: l3.url, token }));

  it('refuses scripting clearly (no NOSCRIPT retry loop)', async () => {
    const redis = client({ url: l3.url, token });
    await expect(redis.createScript('return 1').exec([], [])).rejects.toThrow(
      'ERR scripting is not supported by the embedded L3 store',
    );
  });

  it('speaks the same wire protocol: base64, EXECABORT, unknown commands', async () => {
    const target = { url: l3.url, token };
    expect((await post(target, '/', ['PING'])).json).toEqual({ result: b64('PONG') });
    const tx = await post(target, '/multi-exec', [['SET', 'ea', '1'], ['NOSUCHCMD']]);
    expect(tx).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^EXECABORT/) } });
    const res = await post(target, '/', ['NOSUCHCMD', 'a']);
    expect(res).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^ERR unknown command/) },
    });
    expect((await post(target, '/', ['BLPOP', 'l', 0])).status).toBe(400);
  });
});

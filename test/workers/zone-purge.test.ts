/**
 * Cloudflare zone purge in real workerd with real SQLite: a ZonePurger inside
 * a Durable Object, calling the local API stand-in over HTTP
 * (test/helpers/zone-global-setup.ts). Each test registers its own zone id
 * with the stand-in, so its calls, faults and rate limit are its own. Time is
 * the injected `now`; only the timeout case waits (200 ms of wall time).
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { MAX_ATTEMPTS, ZonePurger } from '../../durable-objects/zone-purger.ts';
import type { StandInRateLimit, ZoneCall, ZoneFault } from '../../scripts/lib/zone-api-stand-in.ts';
import { type ZoneConfig, zoneConfigFor } from '../../src/purge/zone-config.ts';
import type { ZoneLimits } from '../../src/purge/zone-limits.ts';

const origin = inject('zoneApiOrigin');
const T = 1_800_000_000_000;
const ROOMY: ZoneLimits = { ratePerSecond: 50, burst: 500, itemsPerCall: 100 };

function randomZoneId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function control(path: string, zone: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${origin}${path}?zone=${zone}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

const callsOf = async (zone: string) => (await control('/__calls', zone)) as ZoneCall[];
const tagsOf = (call: ZoneCall) => (call.body as { tags: string[] }).tags;
const fault = (zone: string, f: ZoneFault) => control('/__fault', zone, f);

/** A zone of its own at the stand-in, and a config for it over the Worker's bindings. */
async function zone(
  limits: ZoneLimits = ROOMY,
  rateLimit: StandInRateLimit = null,
  overrides: Partial<ZoneConfig> = {},
): Promise<ZoneConfig> {
  const base = zoneConfigFor(env);
  if (!base) throw new Error('the workers project must bind CF_ZONE_ID and CF_API_TOKEN');
  const zoneId = randomZoneId();
  await control('/__reset', zoneId, { rateLimit });
  return { ...base, zoneId, limits, ...overrides };
}

/** Runs `fn` with a ZonePurger on a fresh Durable Object's SQLite (jitter fixed at the middle). */
function withPurger<T>(
  config: ZoneConfig,
  fn: (purger: ZonePurger, sql: SqlStorage) => Promise<T>,
): Promise<T> {
  const stub = env.SHARD.get(env.SHARD.idFromName(`zone-test-${crypto.randomUUID()}`));
  return runInDurableObject(stub, (_shard, state) =>
    fn(new ZonePurger(state.storage.sql, config, fetch, () => 0.5), state.storage.sql),
  );
}

const tags = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('zone purge', () => {
  it('is configured from the Worker bindings against the stand-in', () => {
    const config = zoneConfigFor(env);
    expect(config).toMatchObject({
      zoneId: inject('zoneId'),
      apiBase: inject('zoneApiUrl'),
      plan: 'free',
      timeoutMs: 10_000,
    });
  });

  it('sends 250 tags as 3 calls of at most 100, each tag once, oldest first', async () => {
    const config = await zone();
    await withPurger(config, async (purger) => {
      expect(purger.enqueue('p1', tags(250), T)).toBe(T);
      expect(purger.enqueue('p2', ['t5', 't249', 'extra'], T)).toBe(T);
      expect(purger.status('p1')).toEqual({ state: 'pending', calls: 0 });
      expect(await purger.drain(T)).toBeNull();
      expect(purger.status('p1')).toEqual({ state: 'done', calls: 3 });
      // t5 went in the first call, t249 and extra in the third.
      expect(purger.status('p2')).toEqual({ state: 'done', calls: 2 });
      expect(purger.queued()).toBe(0);
    });
    const calls = await callsOf(config.zoneId);
    expect(calls.map((c) => [c.status, tagsOf(c).length])).toEqual([
      [200, 100],
      [200, 100],
      [200, 51],
    ]);
    const sent = calls.flatMap(tagsOf);
    expect(sent).toEqual([...tags(250), 'extra']);
  });

  it('reports nothing for unknown purges and purges without tags', async () => {
    await withPurger(await zone(), async (purger) => {
      expect(purger.status('nope')).toBeNull();
      expect(purger.enqueue('empty', [], T)).toBeNull();
      expect(purger.status('empty')).toBeNull();
      expect(await purger.drain(T)).toBeNull();
    });
  });

  it('keeps to the bucket: a burst, then one call per refill, across a restart', async () => {
    const config = await zone({ ratePerSecond: 1, burst: 2, itemsPerCall: 10 });
    await withPurger(config, async (purger, sql) => {
      purger.enqueue('p', tags(60), T);
      expect(await purger.drain(T)).toBe(T + 1000);
      expect(await purger.drain(T + 400)).toBe(T + 1000);
      expect(purger.enqueue('q', ['late'], T + 400)).toBe(T + 1000);
      expect(await purger.drain(T + 1000)).toBe(T + 2000);
      // A restarted object reads the spent bucket back from SQLite.
      const restarted = new ZonePurger(sql, config, fetch, () => 0.5);
      expect(await restarted.drain(T + 1000)).toBe(T + 2000);
      // Four seconds refill two tokens (the bucket size), not four.
      expect(await restarted.drain(T + 5000)).toBe(T + 6000);
      expect(restarted.queued()).toBe(11);
      expect(restarted.status('p')).toEqual({ state: 'pending', calls: 5 });
    });
    const calls = await callsOf(config.zoneId);
    expect(calls.map((c) => tagsOf(c).length)).toEqual([10, 10, 10, 10, 10]);
  });

  it("stops at the API's own 429 and waits for its Retry-After", async () => {
    // The account's bucket at Cloudflare may be smaller than ours (other clients share it).
    const config = await zone(
      { ratePerSecond: 50, burst: 10, itemsPerCall: 10 },
      { ratePerSecond: 0.01, burst: 2 },
    );
    await withPurger(config, async (purger) => {
      purger.enqueue('p', tags(50), T);
      expect(await purger.drain(T)).toBe(T + 100_000);
      expect(purger.status('p')).toEqual({
        state: 'pending',
        calls: 3,
        lastError: 'Cloudflare API 429: Rate limited (429)',
      });
      expect(await purger.drain(T + 50_000)).toBe(T + 100_000);
      expect((await callsOf(config.zoneId)).map((c) => c.status)).toEqual([200, 200, 429]);
      await control('/__reset', config.zoneId, { rateLimit: null });
      expect(await purger.drain(T + 100_000)).toBeNull();
      expect(purger.status('p')).toEqual({ state: 'done', calls: 6 });
    });
    const resent = await callsOf(config.zoneId);
    expect(resent.flatMap(tagsOf)).toEqual(tags(50).slice(20));
  });

  it('defers the whole queue by an injected Retry-After, then succeeds', async () => {
    const config = await zone();
    await fault(config.zoneId, { status: 429, retryAfter: 7 });
    await withPurger(config, async (purger) => {
      purger.enqueue('p1', ['a'], T);
      expect(await purger.drain(T)).toBe(T + 7000);
      expect(purger.enqueue('p2', ['b'], T + 1000)).toBe(T + 7000);
      expect(await purger.drain(T + 6999)).toBe(T + 7000);
      expect(await purger.drain(T + 7000)).toBeNull();
      expect(purger.status('p1')).toEqual({ state: 'done', calls: 2 });
      expect(purger.status('p2')).toEqual({ state: 'done', calls: 1 });
    });
    const calls = await callsOf(config.zoneId);
    expect(calls.map((c) => [c.status, tagsOf(c)])).toEqual([
      [429, ['a']],
      [200, ['a', 'b']],
    ]);
  });

  it('keeps the rows through 5xx and retries after a jittered, doubling backoff', async () => {
    const config = await zone();
    await fault(config.zoneId, { status: 500, times: 2 });
    await withPurger(config, async (purger, sql) => {
      purger.enqueue('p', ['a', 'b'], T);
      // Jitter fixed at 0.5: 750 ms after the first failure, 1500 ms after the second.
      expect(await purger.drain(T)).toBe(T + 750);
      expect(purger.status('p')).toEqual({
        state: 'pending',
        calls: 1,
        lastError: 'Cloudflare API 500: Injected fault 500 (500)',
      });
      expect(await purger.drain(T + 750)).toBe(T + 2250);
      const attempts = sql.exec<{ a: number }>('SELECT attempts AS a FROM zone_queue').toArray();
      expect(attempts.map((r) => r.a)).toEqual([2, 2]);
      expect(await purger.drain(T + 2250)).toBeNull();
      expect(purger.status('p')).toEqual({ state: 'done', calls: 3 });
    });
    expect((await callsOf(config.zoneId)).map((c) => c.status)).toEqual([500, 500, 200]);
  });

  it('retries a timeout and an unreachable API like a 5xx', async () => {
    const slow = await zone(ROOMY, null, { timeoutMs: 200 });
    await fault(slow.zoneId, { delayMs: 1000 });
    await withPurger(slow, async (purger) => {
      purger.enqueue('p', ['a'], T);
      expect(await purger.drain(T)).toBe(T + 750);
      expect(purger.status('p')).toEqual({
        state: 'pending',
        calls: 1,
        lastError: 'zone purge call failed: timed out after 200 ms',
      });
      expect(await purger.drain(T + 750)).toBeNull();
      expect(purger.status('p')?.state).toBe('done');
    });
    // workerd logs the refused connection as an uncaught exception even though the purger catches it.
    const dead = await zone(ROOMY, null, { apiBase: 'http://127.0.0.1:1/client/v4' });
    await withPurger(dead, async (purger) => {
      purger.enqueue('p', ['a'], T);
      expect(await purger.drain(T)).toBe(T + 750);
      expect(purger.status('p')).toMatchObject({ state: 'pending', calls: 1 });
      expect(purger.status('p')?.lastError).toMatch(/^zone purge call failed: /);
      expect(purger.queued()).toBe(1);
    });
  });

  it(`gives a row up after ${MAX_ATTEMPTS} failed calls`, async () => {
    const config = await zone();
    await fault(config.zoneId, { status: 503, times: MAX_ATTEMPTS });
    await withPurger(config, async (purger) => {
      purger.enqueue('p', ['a'], T);
      let next: number | null = T;
      let drains = 0;
      while (next !== null && drains < MAX_ATTEMPTS + 1) {
        next = await purger.drain(next);
        drains++;
      }
      expect([next, drains]).toEqual([null, MAX_ATTEMPTS]);
      expect(purger.status('p')).toEqual({
        state: 'failed',
        calls: MAX_ATTEMPTS,
        lastError: `gave up after ${MAX_ATTEMPTS} attempts: Cloudflare API 503: Injected fault 503 (503)`,
      });
    });
  });

  it("fails the call's purges on 403 with the API's message, never the token", async () => {
    const secret = 'wrong-token-SECRET-1234';
    const config = await zone(ROOMY, null, { apiToken: secret });
    await withPurger(config, async (purger, sql) => {
      purger.enqueue('p1', ['a', 'b'], T);
      purger.enqueue('p2', ['b'], T);
      expect(await purger.drain(T)).toBeNull();
      const failed = {
        state: 'failed',
        calls: 1,
        lastError: 'Cloudflare API 403: Authentication error (10000)',
      };
      expect(purger.status('p1')).toEqual(failed);
      expect(purger.status('p2')).toEqual(failed);
      expect(purger.queued()).toBe(0);
      for (const table of ['zone_queue', 'zone_purges', 'zone_state']) {
        const dump = JSON.stringify(sql.exec(`SELECT * FROM ${table}`).toArray());
        expect(dump).not.toContain('SECRET');
      }
    });
    expect((await callsOf(config.zoneId)).map((c) => c.status)).toEqual([403]);
  });

  it('keeps a purge failed when its other tags go out later', async () => {
    const config = await zone({ ...ROOMY, itemsPerCall: 2 });
    await fault(config.zoneId, { status: 400 });
    await withPurger(config, async (purger) => {
      purger.enqueue('p', ['a', 'b', 'c'], T);
      expect(await purger.drain(T)).toBeNull();
      expect(purger.status('p')).toEqual({
        state: 'failed',
        calls: 2,
        lastError: 'Cloudflare API 400: Injected fault 400 (400)',
      });
    });
    const calls = await callsOf(config.zoneId);
    expect(calls.map((c) => [c.status, tagsOf(c)])).toEqual([
      [400, ['a', 'b']],
      [200, ['c']],
    ]);
  });

  it('sends a tag queued while a call is in flight again, in a later call', async () => {
    const config = await zone();
    await withPurger(config, async (purger) => {
      purger.enqueue('p1', ['a'], T);
      const drained = purger.drain(T);
      // The first call is already out: it may reach Cloudflare before p2 was applied.
      purger.enqueue('p2', ['a'], T);
      expect(await drained).toBeNull();
      expect(purger.status('p1')).toEqual({ state: 'done', calls: 1 });
      expect(purger.status('p2')).toEqual({ state: 'done', calls: 1 });
    });
    expect((await callsOf(config.zoneId)).map(tagsOf)).toEqual([['a'], ['a']]);
  });

  it('queues a purge id once, and forgets settled statuses after a week', async () => {
    await withPurger(await zone(), async (purger) => {
      purger.enqueue('p', ['a', 'b', 'a'], T);
      purger.enqueue('p', ['a', 'b', 'c'], T);
      expect(purger.queued()).toBe(2);
      expect(await purger.drain(T)).toBeNull();
      purger.enqueue('later', ['x'], T + 8 * 24 * 3600 * 1000);
      expect(purger.status('p')).toBeNull();
      expect(purger.status('later')).toEqual({ state: 'pending', calls: 0 });
    });
  });
});

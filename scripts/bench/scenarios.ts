/**
 * The bench's scenarios, in the order they run: the floor, then GET L1 and
 * PUT, GET L2 and GET L3, each on its own Strata Worker (vars chosen so every
 * GET is served by the tier under test) measured beside its primitives on the
 * baseline Worker, which stays up throughout. Also how each Worker's keys are
 * pre-filled and the requests the load sends.
 */
import { join } from 'node:path';
import { progress, ROOT } from './lifecycle.ts';
import { once, type RequestSpec } from './load.ts';
import { measureTogether as measure, type Series } from './measure.ts';
import type { Options } from './options.ts';
import type { Measurement, ScenarioRow } from './report.ts';
import { compatibilityDate, type DevWorker, type Snapshot } from './wrangler-dev.ts';

/** How many series `runScenarios` measures (for the run's time estimate). */
export const MEASUREMENTS = 10;

/** Starts a Worker from a bundle, ready when `ready` answers 2xx; stopped at clean-up. */
export type StartWorker = (
  label: string,
  snapshot: Snapshot,
  vars: Record<string, string>,
  ready: RequestSpec,
  flags?: string[],
) => Promise<DevWorker>;

/** What the scenarios need from the run. */
export interface ScenarioContext {
  opts: Options;
  signal: AbortSignal;
  adminKey: string;
  /** The L3 server's URL and token, as Worker vars. */
  l3Vars: Record<string, string>;
  strataBundle: Snapshot;
  baselineBundle: Snapshot;
  start: StartWorker;
  stopWorker: (worker: DevWorker) => Promise<void>;
}

/**
 * Runs every scenario; returns the floor and one row per Strata series and baseline.
 * @example const { floor, rows } = await runScenarios(ctx);
 */
export async function runScenarios(
  ctx: ScenarioContext,
): Promise<{ floor: Measurement; rows: ScenarioRow[] }> {
  const { opts, signal, adminKey, l3Vars, strataBundle, baselineBundle, start, stopWorker } = ctx;
  const measureTogether = (series: Series[]) => measure(series, opts, signal);
  const value = makeValue(opts.valueBytes);
  const keys = Array.from({ length: opts.keys }, (_, i) => `k${String(i).padStart(4, '0')}`);
  const keyAt = (i: number) => keys[i % keys.length] as string;

  // Requests.
  const auth = { authorization: `Bearer ${adminKey}` };
  const strataGet =
    (ns: string) =>
    (i: number): RequestSpec => ({
      method: 'GET',
      path: `/v1/cache/${ns}/${keyAt(i)}`,
      headers: auth,
    });
  const strataPut =
    (ns: string) =>
    (i: number): RequestSpec => ({
      method: 'PUT',
      path: `/v1/cache/${ns}/${keyAt(i)}`,
      headers: {
        ...auth,
        'content-type': 'application/octet-stream',
        'cache-control': 'max-age=3600',
      },
      body: value,
    });
  const baseGet =
    (route: string) =>
    (i: number): RequestSpec => ({ method: 'GET', path: `${route}?key=${keyAt(i)}` });
  const basePut =
    (route: string) =>
    (i: number): RequestSpec => ({
      method: 'PUT',
      path: `${route}?key=${keyAt(i)}`,
      body: value,
    });
  const fill = async (
    worker: DevWorker,
    next: (i: number) => RequestSpec,
    check?: (body: string) => string | null,
  ) => {
    const problems = new Set<string>();
    await inParallel(signal, keys.length, opts.connections, async (i) => {
      const spec = next(i);
      const res = await once(worker.origin, spec);
      if (res.status < 200 || res.status >= 300) {
        throw new Error(
          `${worker.label}: pre-fill ${spec.method} ${spec.path} answered ${res.status}: ${res.body.slice(0, 300)}`,
        );
      }
      const problem = check?.(res.body);
      if (problem) problems.add(problem);
    });
    return [...problems];
  };

  const rows: ScenarioRow[] = [];

  // Baseline first: it stays up for the whole run, so each Strata scenario
  // is measured right beside its primitive.
  const baseline = await start(
    'baseline',
    baselineBundle,
    l3Vars,
    { method: 'GET', path: '/const' },
    ['--compatibility-date', compatibilityDate(join(ROOT, 'wrangler.toml'))],
  );
  const [floor] = (await measureTogether([
    {
      worker: baseline,
      name: 'floor: GET /const',
      next: () => ({ method: 'GET', path: '/const' }),
    },
  ])) as [Measurement];
  await fill(baseline, basePut('/cache-fill'));
  await fill(baseline, basePut('/do-write'));
  await fill(baseline, basePut('/redis-set'));

  const ready = { method: 'GET' as const, path: '/healthz', headers: auth };

  // GET L1 + PUT: L1 on, capped at an hour so no L1 copy expires mid-run.
  {
    const vars = { ...l3Vars, STRATA_ADMIN_KEY: adminKey, L1_MAX_TTL: '3600' };
    const strata = await start('strata-l1', strataBundle, vars, ready);
    await fill(strata, strataPut('bench-l1'));
    // Reads back-fill L1 from waitUntil: read until every key answers from L1.
    let cold = keys.length;
    for (let round = 0; round < 20 && cold > 0; round++) {
      let misses = 0;
      await inParallel(signal, keys.length, opts.connections, async (i) => {
        const res = await once(strata.origin, strataGet('bench-l1')(i));
        if (!res.headers.get('cache-status')?.startsWith('strata-l1; hit')) misses++;
      });
      cold = misses;
      if (cold) await sleep(50);
    }
    if (cold)
      progress(`warning: ${cold} of ${keys.length} keys still not in L1 after 20 read rounds`);
    const [get, match] = (await measureTogether([
      {
        worker: strata,
        name: 'Strata GET (L1 hit)',
        next: strataGet('bench-l1'),
        expect: 'strata-l1; hit',
      },
      { worker: baseline, name: 'GET /cache-match', next: baseGet('/cache-match') },
    ])) as [Measurement, Measurement];
    rows.push({ scenario: 'GET L1', strata: get, baseline: match });
    const [put, doWrite, redisSet] = (await measureTogether([
      { worker: strata, name: 'Strata PUT', next: strataPut('bench-put') },
      { worker: baseline, name: 'PUT /do-write', next: basePut('/do-write') },
      { worker: baseline, name: 'PUT /redis-set', next: basePut('/redis-set') },
    ])) as [Measurement, Measurement, Measurement];
    rows.push({ scenario: 'PUT', strata: put, baseline: doWrite });
    rows.push({ scenario: 'PUT', strata: put, baseline: redisSet });
    await stopWorker(strata);
  }

  // GET L2: L1 disabled, so every GET goes to the shard, which has the key in SQLite.
  {
    const vars = { ...l3Vars, STRATA_ADMIN_KEY: adminKey, L1_MAX_TTL: '0' };
    const strata = await start('strata-l2', strataBundle, vars, ready);
    await fill(strata, strataPut('bench-l2'));
    const [get, read] = (await measureTogether([
      {
        worker: strata,
        name: 'Strata GET (L2 hit)',
        next: strataGet('bench-l2'),
        expect: 'strata-l2; hit',
      },
      { worker: baseline, name: 'GET /do-read', next: baseGet('/do-read') },
    ])) as [Measurement, Measurement];
    rows.push({ scenario: 'GET L2', strata: get, baseline: read });
    await stopWorker(strata);
  }

  // GET L3: L1 disabled and a shard budget smaller than any entry, so L2
  // never keeps one and every GET is an L3 read by the shard.
  {
    const vars = {
      ...l3Vars,
      STRATA_ADMIN_KEY: adminKey,
      L1_MAX_TTL: '0',
      SHARD_BYTE_BUDGET: '1024',
    };
    const strata = await start('strata-l3', strataBundle, vars, ready);
    const problems = await fill(strata, strataPut('bench-l3'), (body) => {
      const tiers = (JSON.parse(body) as { tiers?: { L2?: string; L3?: string } }).tiers;
      return tiers?.L2 === 'too-large' && tiers.L3 === 'stored'
        ? null
        : `PUT answered tiers ${JSON.stringify(tiers)}`;
    });
    for (const p of problems)
      progress(`warning: GET L3 pre-fill: ${p} (expected L2 too-large, L3 stored)`);
    const [get, redisGet] = (await measureTogether([
      {
        worker: strata,
        name: 'Strata GET (L3 hit)',
        next: strataGet('bench-l3'),
        expect: 'strata-l3; hit',
      },
      { worker: baseline, name: 'GET /redis-get', next: baseGet('/redis-get') },
    ])) as [Measurement, Measurement];
    rows.push({ scenario: 'GET L3', strata: get, baseline: redisGet });
    await stopWorker(strata);
  }
  await stopWorker(baseline);
  return { floor, rows };
}

/** A value of `bytes` printable ASCII bytes (valid as a Redis string and as a body). */
function makeValue(bytes: number): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = alphabet.charCodeAt((i * 7919) % alphabet.length);
  return out;
}

/** Runs `task(0)` … `task(count - 1)`, at most `width` at a time. */
async function inParallel(
  signal: AbortSignal,
  count: number,
  width: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      signal.throwIfAborted();
      await task(next++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The replay loop (src/sim/replay.ts), the `lru-cache` anchor and the worker
 * pool (scripts/sim/): hits and byte hits counted as the traces README does
 * (cold start, get then set on a miss), time from the injected clock, and the
 * same results on worker threads as on the main thread.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruCacheAnchor, runJob } from '../../../scripts/sim/anchors.ts';
import { runJobs } from '../../../scripts/sim/pool.ts';
import { compactTrace, TraceBuilder } from '../../../src/sim/compact-trace.ts';
import {
  byteHitRatio,
  hitRatio,
  opsPerSec,
  replay,
  replayPolicy,
} from '../../../src/sim/replay.ts';

describe('replay', () => {
  it('counts a cold-start LRU by hand', () => {
    // Capacity 2, least recent first: a m [a]; b m [a b]; a h [b a]; c m evicts b [a c];
    // b m evicts a [c b]; a m evicts c [b a]; c m evicts b [a c]. One hit.
    const r = replayPolicy('lru', compactTrace('a b a c b a c'.split(' ')), 2);
    expect(r).toMatchObject({ requests: 7, hits: 1, bytes: 7, byteHits: 1 });
    expect(hitRatio(r)).toBeCloseTo(1 / 7);
  });

  it('calls get at time i and set on a miss with the request size', () => {
    const calls: string[] = [];
    const trace = compactTrace(['x', 'y', 'x'], [10, 20, 30]);
    replay(
      {
        get: (key, now) => {
          calls.push(`get ${key} @${now}`);
          return now === 2;
        },
        set: (key, info, now) => {
          calls.push(`set ${key} ${info.size} ${info.expiresAt} @${now}`);
        },
      },
      trace,
    );
    // Keys are the dense ids as strings: x = "0", y = "1".
    expect(calls).toEqual([
      'get 0 @0',
      'set 0 10 Infinity @0',
      'get 1 @1',
      'set 1 20 Infinity @1',
      'get 0 @2',
    ]);
  });

  it('counts byte hits with the hit request sizes', () => {
    const trace = compactTrace(['a', 'b', 'a', 'b'], [100, 1, 100, 1]);
    const r = replayPolicy('lru', trace, 100); // a and b never fit together
    expect(r).toMatchObject({ hits: 0, bytes: 202 });
    const roomy = replayPolicy('lru', trace, 101);
    expect(roomy).toMatchObject({ hits: 2, byteHits: 101 });
    expect(byteHitRatio(roomy)).toBeCloseTo(0.5);
  });

  it('times the loop with the injected clock and reports progress', () => {
    const builder = new TraceBuilder();
    for (let i = 0; i < 600_000; i++) builder.sink(String(i % 10), 1);
    let t = 0;
    const done: number[] = [];
    const r = replay({ get: () => true, set: () => undefined }, builder.build(), {
      clock: () => (t += 1500),
      onProgress: (n) => done.push(n),
    });
    expect(r.seconds).toBe(1.5);
    expect(opsPerSec(r)).toBe(400_000);
    expect(done).toEqual([262_144, 524_288]);
  });
});

describe('lru-cache anchor', () => {
  it('hits exactly like the registered LRU (count and bytes)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 9 })), {
          maxLength: 400,
        }),
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        (requests, capacity, bytes) => {
          const keys = requests.map(([k]) => String(k));
          const trace = bytes
            ? compactTrace(
                keys,
                requests.map(([, s]) => s),
              )
            : compactTrace(keys);
          const anchor = replay(new LruCacheAnchor(capacity, bytes), trace);
          const lru = replayPolicy('lru', trace, capacity);
          expect([anchor.hits, anchor.byteHits]).toEqual([lru.hits, lru.byteHits]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('worker pool', () => {
  it('gives the same results on worker threads as on the main thread', async () => {
    const builder = new TraceBuilder({ allocate: (n) => new SharedArrayBuffer(n) });
    for (let i = 0; i < 20_000; i++) builder.sink(String((i * 7919) % 700), 1);
    const trace = builder.build();
    const jobs = ['lru', 'opt', 'lru-cache'].map((policy) => ({ policy, capacity: 300 }));
    const inWorkers = await runJobs(trace, jobs, { concurrency: 2 });
    const inline = jobs.map((j) => runJob(trace, j.policy, j.capacity));
    expect(inWorkers.map((r) => r.hits)).toEqual(inline.map((r) => r.hits));
    expect(inline[1]?.hits).toBeGreaterThan(inline[0]?.hits ?? 0);
  });

  it('reports a failing job as an error', async () => {
    const trace = compactTrace(['a']);
    await expect(
      runJobs(trace, [{ policy: 'no-such-policy', capacity: 1 }], { concurrency: 1 }),
    ).rejects.toThrow(/no-such-policy/);
  });
});

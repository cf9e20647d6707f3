/**
 * The contract every `Policy` passes (see src/policy/policy.ts). A policy is
 * done when `registerPolicyContract` passes for it:
 *
 *   registerPolicyContract('lru', (capacity) => new LruPolicy(capacity));
 *
 * Checked against a model of what the policy itself reported (insertions
 * minus evictions minus deletes): capacity never exceeded, `get` is a hit
 * exactly when the key is resident and unexpired, evictions only ever name
 * resident keys, expired entries go before live ones, oversized entries are
 * refused, removal is idempotent, decisions are deterministic, and a
 * restored snapshot decides exactly like the original.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Capacity, EntryInfo, Policy, PolicySnapshot } from '../../../src/policy/policy.ts';

export type MakePolicy = (capacity: Capacity) => Policy;
export type RestorePolicy = (snapshot: PolicySnapshot, capacity: Capacity) => Policy;

export type Op =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; size: number; ttl: number; priority: number; cost: number }
  | { op: 'delete'; key: string }
  | { op: 'tick'; ms: number };

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.constantFrom(...KEYS) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      key: fc.constantFrom(...KEYS),
      size: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 12 })),
      // 0 = never expires; otherwise ms of life.
      ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
      priority: fc.integer({ min: 0, max: 3 }),
      cost: fc.integer({ min: 1, max: 100 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 30 }) }),
  },
);

function infoOf(op: Extract<Op, { op: 'set' }>, now: number): EntryInfo {
  return {
    size: op.size,
    expiresAt: op.ttl === 0 ? Number.POSITIVE_INFINITY : now + op.ttl,
    priority: op.priority,
    cost: op.cost,
  };
}

/**
 * Applies `ops`, checking every rule after each step; returns the observable
 * trace. `model` is what the policy holds before the first op (it is updated).
 */
export function runChecked(
  policy: Policy,
  ops: Op[],
  start = 1000,
  model = new Map<string, EntryInfo>(),
): unknown[] {
  const out: unknown[] = [];
  let now = start;
  const { maxWeight, maxEntries } = policy.capacity;

  for (const op of ops) {
    switch (op.op) {
      case 'tick':
        now += op.ms;
        break;
      case 'get': {
        const info = model.get(op.key);
        const hit = policy.get(op.key, now);
        if (!info) expect(hit, `get(${op.key}) of a key not resident`).toBe(false);
        else if (now < info.expiresAt)
          expect(hit, `get(${op.key}) of a live resident key`).toBe(true);
        else {
          expect(hit, `get(${op.key}) of an expired key`).toBe(false);
          model.delete(op.key);
        }
        out.push(hit);
        break;
      }
      case 'set': {
        const info = infoOf(op, now);
        const before = new Map(model);
        const evicted = policy.set(op.key, info, now);
        model.set(op.key, info);
        const seen = new Set<string>();
        let evictedLive = false;
        for (const key of evicted) {
          expect(seen.has(key), `evicted ${key} twice in one set`).toBe(false);
          seen.add(key);
          expect(model.has(key), `evicted ${key}, which was not resident`).toBe(true);
          const wasInfo = key === op.key ? info : before.get(key);
          if (key !== op.key && wasInfo && now < wasInfo.expiresAt) evictedLive = true;
          model.delete(key);
        }
        if (op.size > maxWeight)
          expect(evicted, 'an oversized entry is refused alone').toEqual([op.key]);
        if (evictedLive) {
          // A live entry went: no expired entry may remain resident.
          for (const [key, m] of model) {
            expect(now < m.expiresAt, `live entry evicted while ${key} was expired`).toBe(true);
          }
        }
        out.push(evicted);
        break;
      }
      case 'delete': {
        const removed = policy.delete(op.key);
        expect(removed, `delete(${op.key})`).toBe(model.has(op.key));
        model.delete(op.key);
        expect(policy.delete(op.key), 'a second delete removes nothing').toBe(false);
        out.push(removed);
        break;
      }
    }
    let weight = 0;
    for (const m of model.values()) weight += m.size;
    expect(policy.count, 'count matches the reported residents').toBe(model.size);
    expect(policy.weight, 'weight matches the reported residents').toBe(weight);
    expect(policy.weight).toBeLessThanOrEqual(maxWeight);
    if (maxEntries !== undefined) expect(policy.count).toBeLessThanOrEqual(maxEntries);
    for (const key of KEYS) expect(policy.has(key), `has(${key})`).toBe(model.has(key));
  }
  expect(new Set(policy.keys())).toEqual(new Set(model.keys()));
  return out;
}

export function registerPolicyContract(
  name: string,
  make: MakePolicy,
  restore: RestorePolicy,
): void {
  describe(`Policy contract: ${name}`, () => {
    it('keeps every rule under random operations (weight capacity)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 30 }),
          fc.array(opArb, { maxLength: 120 }),
          (maxWeight, ops) => {
            runChecked(make({ maxWeight }), ops);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('keeps every rule with an entry-count limit as well', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 6 }),
          fc.array(opArb, { maxLength: 120 }),
          (maxWeight, maxEntries, ops) => {
            runChecked(make({ maxWeight, maxEntries }), ops);
          },
        ),
        { numRuns: 200 },
      );
    });

    it('keeps every rule on every short sequence over a tiny state space (exhaustive)', () => {
      // Capacity 2 entries of size 1, keys a/b/c, never-expiring: all 6^5 sequences.
      const alphabet: Op[] = [];
      for (const key of ['a', 'b', 'c']) {
        alphabet.push({ op: 'get', key });
        alphabet.push({ op: 'set', key, size: 1, ttl: 0, priority: 1, cost: 1 });
      }
      const seq: Op[] = [];
      const walk = (depth: number): void => {
        runChecked(make({ maxWeight: 2 }), seq);
        if (depth === 5) return;
        for (const op of alphabet) {
          seq.push(op);
          walk(depth + 1);
          seq.pop();
        }
      };
      walk(0);
    });

    it('is deterministic: the same calls give the same decisions', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 30 }),
          fc.array(opArb, { maxLength: 150 }),
          (maxWeight, ops) => {
            expect(runChecked(make({ maxWeight }), ops)).toEqual(
              runChecked(make({ maxWeight }), ops),
            );
          },
        ),
        { numRuns: 100 },
      );
    });

    it('decides after restore(snapshot) exactly as the original', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 30 }),
          fc.array(opArb, { maxLength: 100 }),
          fc.array(opArb, { maxLength: 100 }),
          (maxWeight, prefix, suffix) => {
            const original = make({ maxWeight });
            const model = new Map<string, EntryInfo>();
            runChecked(original, prefix, 1000, model);
            const snap = JSON.parse(JSON.stringify(original.snapshot())) as PolicySnapshot;
            expect(snap.name).toBe(original.name);
            const copy = restore(snap, { maxWeight });
            expect(copy.count).toBe(original.count);
            expect(copy.weight).toBe(original.weight);
            // Both continue at the same time the prefix ended (ticks are not replayed).
            const end = 1000 + prefix.reduce((t, op) => t + (op.op === 'tick' ? op.ms : 0), 0);
            expect(runChecked(copy, suffix, end, new Map(model))).toEqual(
              runChecked(original, suffix, end, new Map(model)),
            );
          },
        ),
        { numRuns: 100 },
      );
    });

    it('evicts expired entries before live ones', () => {
      const policy = make({ maxWeight: 3 });
      policy.set('old', { size: 1, expiresAt: 1005 }, 1000);
      policy.set('live1', { size: 1, expiresAt: Number.POSITIVE_INFINITY }, 1000);
      policy.set('live2', { size: 1, expiresAt: Number.POSITIVE_INFINITY }, 1000);
      // Make the expired entry look valuable to recency and frequency policies.
      for (let i = 0; i < 5; i++) policy.get('old', 1001);
      const evicted = policy.set('new', { size: 1, expiresAt: Number.POSITIVE_INFINITY }, 1010);
      if (evicted.includes('new')) return; // an admission filter may refuse the newcomer
      expect(evicted[0]).toBe('old');
      expect(policy.has('live1') && policy.has('live2')).toBe(true);
    });

    it('refuses an entry larger than the whole capacity without evicting others', () => {
      const policy = make({ maxWeight: 10 });
      policy.set('a', { size: 4, expiresAt: Number.POSITIVE_INFINITY }, 0);
      expect(policy.set('huge', { size: 11, expiresAt: Number.POSITIVE_INFINITY }, 0)).toEqual([
        'huge',
      ]);
      expect(policy.has('a')).toBe(true);
      expect(policy.has('huge')).toBe(false);
    });

    it('resize evicts, expired first, until the new limits hold, and grows without evicting', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 30 }),
          fc.array(opArb, { maxLength: 80 }),
          fc.integer({ min: 0, max: 30 }),
          (maxWeight, ops, smaller) => {
            const policy = make({ maxWeight });
            const model = new Map<string, EntryInfo>();
            runChecked(policy, ops, 1000, model);
            const now = 1000 + ops.reduce((t, op) => t + (op.op === 'tick' ? op.ms : 0), 0);
            const target = Math.min(smaller, maxWeight);
            const evicted = policy.resize({ maxWeight: target }, now);
            expect(policy.capacity.maxWeight).toBe(target);
            expect(policy.weight).toBeLessThanOrEqual(target);
            let liveEvicted = false;
            for (const key of evicted) {
              const info = model.get(key);
              expect(info, `resize evicted ${key}, which was not resident`).toBeDefined();
              if (info && now < info.expiresAt) liveEvicted = true;
              model.delete(key);
            }
            if (liveEvicted) for (const m of model.values()) expect(now < m.expiresAt).toBe(true);
            expect(new Set(policy.keys())).toEqual(new Set(model.keys()));
            expect(policy.resize({ maxWeight: maxWeight * 2 }, now)).toEqual([]);
            runChecked(policy, ops, now, model);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('delete is idempotent and not an eviction', () => {
      const policy = make({ maxWeight: 5 });
      policy.set('a', { size: 2, expiresAt: Number.POSITIVE_INFINITY }, 0);
      expect(policy.delete('a')).toBe(true);
      expect(policy.delete('a')).toBe(false);
      expect(policy.count).toBe(0);
      expect(policy.weight).toBe(0);
    });
  });
}

/**
 * The register linearizability checker (src/sim/linearizability.ts): small
 * histories worked by hand, both verdicts, 'unknown' and failed writes,
 * per-key independence, the search limit and the witness, then properties
 * over histories produced by a real atomic register, and a 600-op history
 * with heavy overlap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CheckResult,
  checkLinearizable,
  type RegisterOp,
  SEARCH_LIMIT_REASON,
} from '../../src/sim/linearizability.ts';

// Shorthands for hand-written histories on key 'k' unless another key is given.
const write = (
  value: string | null,
  invoke: number,
  complete: number,
  ok: boolean | 'unknown' = true,
  key = 'k',
): RegisterOp => ({ kind: 'write', key, value, invoke, complete, ok });
const del = (invoke: number, complete: number): RegisterOp => write(null, invoke, complete);
const read = (value: string | null, invoke: number, complete: number, key = 'k'): RegisterOp => ({
  kind: 'read',
  key,
  value,
  invoke,
  complete,
});

const accepts = (history: RegisterOp[], initial?: string | null): boolean =>
  checkLinearizable(history, { initial }).ok;

describe('linearizable histories', () => {
  it('accepts the empty history', () => {
    expect(checkLinearizable([])).toEqual({ ok: true, explored: 0 });
  });

  it('accepts a sequential history, entering one configuration per op', () => {
    const history = [
      read(null, 0, 1),
      write('a', 2, 3),
      read('a', 4, 5),
      write('b', 6, 7),
      read('b', 8, 9),
    ];
    expect(checkLinearizable(history)).toEqual({ ok: true, explored: 5 });
  });

  it('accepts a read overlapping a write whichever value it sees', () => {
    for (const seen of [null, 'a']) {
      expect(accepts([write('a', 0, 10), read(seen, 5, 15)])).toBe(true);
    }
  });

  it('accepts a read concurrent with two writes seeing either, or the value before both', () => {
    const writes = [write('x', 0, 1), write('a', 10, 20), write('b', 12, 22)];
    for (const seen of ['x', 'a', 'b']) {
      expect(accepts([...writes, read(seen, 5, 30)])).toBe(true);
    }
    // Two sequential writes inside one read: the read may fall between them.
    expect(accepts([write('a', 10, 12), write('b', 14, 16), read('a', 5, 30)])).toBe(true);
  });

  it('lets concurrent writes land in either order, then every later read agrees', () => {
    const writes = [write('a', 0, 10), write('b', 0, 10)];
    expect(accepts([...writes, read('a', 20, 21), read('a', 22, 23)])).toBe(true);
    expect(accepts([...writes, read('b', 20, 21), read('b', 22, 23)])).toBe(true);
    expect(accepts([...writes, read('b', 20, 21), read('a', 22, 23)])).toBe(false);
  });

  it('reads absent (null) before any write, and honours a given initial value', () => {
    expect(accepts([read(null, 0, 1), read(null, 2, 3), write('a', 4, 5)])).toBe(true);
    expect(accepts([read('x', 0, 1), write('a', 4, 5)], 'x')).toBe(true);
    expect(accepts([read(null, 0, 1)], 'x')).toBe(false);
  });

  it('treats a delete as a write of null', () => {
    expect(accepts([write('a', 0, 1), del(2, 3), read(null, 4, 5)])).toBe(true);
    expect(accepts([write('a', 0, 1), del(2, 6), read('a', 3, 4), read(null, 7, 8)])).toBe(true);
    expect(accepts([write('a', 0, 1), del(2, 3), read('a', 4, 5)])).toBe(false);
  });

  it('counts intervals that only touch as concurrent (clock resolution is no violation)', () => {
    expect(accepts([write('a', 0, 10), read(null, 10, 12)])).toBe(true);
    expect(accepts([write('a', 0, 10), read(null, 11, 12)])).toBe(false);
  });
});

describe('non-linearizable histories', () => {
  it('rejects a stale read after a completed write', () => {
    const result = checkLinearizable([write('a', 0, 10), write('b', 20, 30), read('a', 40, 50)]);
    expect(result.ok).toBe(false);
    expect(result.key).toBe('k');
    expect(result.reason).toMatch(/not linearizable/);
  });

  it('rejects a read of a value never written, naming it', () => {
    const result = checkLinearizable([write('a', 0, 10), read('zzz', 20, 30)]);
    expect(result.ok).toBe(false);
    expect(result.reason).toContain('read "zzz"');
    expect(result.reason).toMatch(/no write/);
  });

  it('rejects the new-old inversion: two sequential reads see the new value then the old', () => {
    // The write is still running, so either read alone is fine; together they are not.
    const history = [write('x', 0, 1), write('a', 10, 100), read('a', 20, 30), read('x', 40, 50)];
    expect(accepts(history)).toBe(false);
    expect(
      accepts([write('x', 0, 1), write('a', 10, 100), read('x', 20, 30), read('a', 40, 50)]),
    ).toBe(true);
  });

  it('rejects a read returning a value whose write started after the read completed', () => {
    expect(accepts([read('a', 0, 10), write('a', 20, 30)])).toBe(false);
  });

  it('returns the failing key and its ops as the witness', () => {
    const history = [write('a', 0, 10), read(null, 20, 30)];
    const result = checkLinearizable(history);
    expect(result).toMatchObject({ ok: false, key: 'k', ops: history });
    expect(result.explored).toBeGreaterThan(0);
  });
});

describe("'unknown' and failed writes", () => {
  it('accepts an unknown write that took effect', () => {
    expect(accepts([write('a', 0, 10, 'unknown'), read('a', 20, 30)])).toBe(true);
  });

  it('accepts an unknown write that never took effect', () => {
    expect(accepts([write('a', 0, 10, 'unknown'), read(null, 20, 30), read(null, 40, 50)])).toBe(
      true,
    );
  });

  it('lets an unknown write take effect long after its client gave up', () => {
    expect(accepts([write('a', 0, 10, 'unknown'), read(null, 20, 30), read('a', 40, 50)])).toBe(
      true,
    );
  });

  it("rejects seeing an unknown write's value and then an older value", () => {
    const history = [
      write('x', 0, 5),
      write('a', 10, 20, 'unknown'),
      read('a', 30, 40),
      read('x', 50, 60),
    ];
    expect(accepts(history)).toBe(false);
  });

  it('rejects seeing an unknown write before it was invoked', () => {
    expect(accepts([read('a', 0, 10), write('a', 20, 30, 'unknown')])).toBe(false);
  });

  it('rejects reading the value of a write that failed (ok: false)', () => {
    const result = checkLinearizable([write('a', 0, 10, false), read('a', 20, 30)]);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/no write that may have taken effect/);
  });

  it('ignores a failed write: later reads see the value before it', () => {
    expect(accepts([write('x', 0, 5), write('a', 10, 20, false), read('x', 30, 40)])).toBe(true);
  });

  it('stays small with many pending unknown writes, in both verdicts', () => {
    // 40 unknown writes that never return would be 2^40 configurations if
    // each could be linearized anywhere; the checker only places one right
    // before a read of its value.
    const lost = Array.from({ length: 40 }, (_, i) => write(`u${i}`, i, i + 1, 'unknown'));
    const seenOutOfOrder = [read('u7', 100, 101), read('u3', 102, 103), read('u39', 104, 105)];
    const accepted = checkLinearizable([...lost, ...seenOutOfOrder]);
    expect(accepted.ok).toBe(true);
    expect(accepted.explored).toBeLessThan(1_000);

    const stale = [write('a', 100, 101), write('b', 102, 103), read('a', 104, 105)];
    const rejected = checkLinearizable([...lost, ...stale]);
    expect(rejected.ok).toBe(false);
    expect(rejected.reason).not.toBe(SEARCH_LIMIT_REASON);
  });

  it('lets one unknown write explain only one read-back after an overwrite', () => {
    // u can take effect once: it explains the first "u" or the second, not both.
    const history = [
      write('u', 0, 1, 'unknown'),
      read('u', 10, 11),
      write('x', 12, 13),
      read('x', 14, 15),
      read('u', 16, 17),
    ];
    expect(accepts(history)).toBe(false);
    expect(accepts([write('u', 0, 1, 'unknown'), ...history])).toBe(true);
  });

  it('treats a complete of Infinity on an unknown write as fine, elsewhere as an error', () => {
    expect(accepts([write('a', 0, Number.POSITIVE_INFINITY, 'unknown'), read('a', 5, 6)])).toBe(
      true,
    );
    expect(() => checkLinearizable([read('a', 0, Number.POSITIVE_INFINITY)])).toThrow(RangeError);
    expect(() => checkLinearizable([write('a', 10, 5)])).toThrow(/complete must be >= invoke/);
  });
});

describe('keys are independent', () => {
  it('checks each key against its own register', () => {
    // As one register this is a stale read; as two it is fine.
    const history = [write('a', 0, 10, true, 'p'), read(null, 20, 30, 'q')];
    expect(accepts(history)).toBe(true);
  });

  it('reports the failing key with only that key in the witness', () => {
    const history = [
      write('a', 0, 10, true, 'p'),
      write('b', 0, 10, true, 'q'),
      read('a', 20, 30, 'p'),
      read(null, 20, 30, 'q'),
      read('a', 40, 50, 'p'),
    ];
    const result = checkLinearizable(history);
    expect(result).toMatchObject({ ok: false, key: 'q' });
    expect(result.ops?.every((op) => op.key === 'q')).toBe(true);
  });
});

describe('bounded search and witness', () => {
  it('fails, never passes, when the search limit is hit', () => {
    const history = [write('a', 0, 10), write('b', 0, 10), read('b', 20, 30), read('b', 40, 50)];
    expect(checkLinearizable(history).ok).toBe(true);
    const limited = checkLinearizable(history, { maxStates: 2 });
    expect(limited).toMatchObject({ ok: false, key: 'k', reason: SEARCH_LIMIT_REASON });
    expect(limited.explored).toBeLessThanOrEqual(2);
  });

  it('shares the limit across keys', () => {
    const history = [write('a', 0, 1, true, 'p'), write('a', 0, 1, true, 'q')];
    expect(checkLinearizable(history, { maxStates: 2 })).toEqual({ ok: true, explored: 2 });
    expect(checkLinearizable(history, { maxStates: 1 })).toMatchObject({
      ok: false,
      key: 'q',
      reason: SEARCH_LIMIT_REASON,
    });
  });

  it('shrinks the witness to a failing prefix that fails on its own', () => {
    // A violation early in a long sequential history: only the ops up to it are the witness.
    const history: RegisterOp[] = [write('a', 0, 1), read(null, 2, 3)];
    for (let t = 10; t < 1_000; t += 10)
      history.push(write(`v${t}`, t, t + 2), read(`v${t}`, t + 4, t + 6));
    const result = checkLinearizable(history);
    expect(result.ok).toBe(false);
    expect(result.ops).toEqual(history.slice(0, 2));
    expect(checkLinearizable(result.ops ?? []).ok).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// Histories produced by a real register.

interface PlannedOp {
  client: number;
  key: string;
  kind: 'read' | 'write';
  value: string | null;
  gap: number;
  duration: number;
  /** Where inside the interval the op takes effect, as a fraction of it. */
  at: number;
  outcome: 'ok' | 'failed' | 'unknown-applied' | 'unknown-lost';
}

/**
 * Runs the plan against an atomic register per key: each client issues its
 * ops one after another, each op takes effect at one instant inside its
 * interval (an applied unknown write possibly after it), and reads return
 * what the register holds at that instant.
 */
function runAtomicRegister(plan: PlannedOp[], initial: string | null = null): RegisterOp[] {
  const clientClock = new Map<number, number>();
  const timed = plan.map((step) => {
    const invoke = (clientClock.get(step.client) ?? 0) + step.gap;
    const complete = invoke + step.duration;
    clientClock.set(step.client, complete);
    // A lost-but-applied write may land after its client timed out.
    const lateEffect = step.kind === 'write' && step.outcome === 'unknown-applied';
    const span = lateEffect ? 2 * step.duration : step.duration;
    return { step, invoke, complete, effectAt: invoke + step.at * span };
  });
  const byEffect = [...timed].sort((a, b) => a.effectAt - b.effectAt);
  const register = new Map<string, string | null>();
  const currentValue = (key: string) => (register.has(key) ? (register.get(key) ?? null) : initial);
  const observed = new Map<(typeof timed)[number], string | null>();
  for (const op of byEffect) {
    const { step } = op;
    if (step.kind === 'read') {
      observed.set(op, currentValue(step.key));
    } else if (step.outcome === 'ok' || step.outcome === 'unknown-applied') {
      register.set(step.key, step.value);
    }
  }
  return timed.map((op): RegisterOp => {
    const { step, invoke, complete } = op;
    if (step.kind === 'read') {
      return { kind: 'read', key: step.key, value: observed.get(op) ?? null, invoke, complete };
    }
    const ok = step.outcome === 'ok' ? true : step.outcome === 'failed' ? false : 'unknown';
    return { kind: 'write', key: step.key, value: step.value, invoke, complete, ok };
  });
}

const plannedOpArb = (clients: number, options: { faults: boolean }) =>
  fc.record({
    client: fc.integer({ min: 0, max: clients - 1 }),
    key: fc.constantFrom('p', 'q'),
    kind: fc.constantFrom<'read' | 'write'>('read', 'write'),
    value: fc.constantFrom('a', 'b', 'c', null),
    gap: fc.integer({ min: 0, max: 5 }),
    duration: fc.integer({ min: 0, max: 20 }),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    outcome: options.faults
      ? fc.constantFrom<PlannedOp['outcome']>(
          'ok',
          'ok',
          'ok',
          'failed',
          'unknown-applied',
          'unknown-lost',
        )
      : fc.constant<PlannedOp['outcome']>('ok'),
  });

/** Every history the checker is shown below must be accepted. */
const expectAccepted = (result: CheckResult): void => {
  expect(result.reason).toBeUndefined();
  expect(result.ok).toBe(true);
};

describe('properties', () => {
  it('accepts every sequential history of a real register', () => {
    fc.assert(
      fc.property(fc.array(plannedOpArb(1, { faults: false }), { maxLength: 60 }), (plan) => {
        expectAccepted(checkLinearizable(runAtomicRegister(plan)));
      }),
    );
  });

  it('rejects a sequential history once any read is changed to another value', () => {
    // Sequential ops on one key, intervals strictly apart: every read's value is forced.
    const sequentialArb = fc
      .array(plannedOpArb(1, { faults: false }), { minLength: 1, maxLength: 40 })
      .map((plan) => plan.map((step) => ({ ...step, key: 'p', gap: step.gap + 1 })));
    fc.assert(
      fc.property(
        sequentialArb,
        fc.nat(),
        fc.constantFrom('a', 'b', 'c', 'zzz', null),
        (plan, pick, other) => {
          const history = runAtomicRegister(plan);
          const reads = history.filter((op) => op.kind === 'read');
          fc.pre(reads.length > 0);
          const victim = reads[pick % reads.length] as RegisterOp;
          fc.pre(victim.value !== other);
          const mutated = history.map((op) => (op === victim ? { ...op, value: other } : op));
          expect(checkLinearizable(mutated).ok).toBe(false);
        },
      ),
    );
  });

  it('accepts every concurrent history of a real atomic register, faults included', () => {
    fc.assert(
      fc.property(
        fc.array(plannedOpArb(4, { faults: true }), { maxLength: 60 }),
        fc.constantFrom('init', null),
        (plan, initial) => {
          expectAccepted(checkLinearizable(runAtomicRegister(plan, initial), { initial }));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('performance', () => {
  /** Deterministic PRNG (mulberry32) so the large history is the same every run. */
  const mulberry32 = (seed: number) => (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /** 3 clients, 600 ops on one key, long ops and short gaps so nearly every op overlaps two others. */
  const heavyOverlapHistory = (): RegisterOp[] => {
    const random = mulberry32(42);
    const plan: PlannedOp[] = Array.from({ length: 600 }, (_, i) => ({
      client: i % 3,
      key: 'k',
      kind: random() < 0.5 ? 'write' : 'read',
      value: random() < 0.1 ? null : `v${Math.floor(random() * 4)}`,
      gap: Math.floor(random() * 3),
      duration: 10 + Math.floor(random() * 40),
      at: random(),
      outcome: 'ok',
    }));
    return runAtomicRegister(plan);
  };

  it('checks a 600-op, 3-client history with heavy overlap', () => {
    const history = heavyOverlapHistory();
    expect(history).toHaveLength(600);
    expectAccepted(checkLinearizable(history));
  });

  it('finds a stale read appended to that history', () => {
    const history = heavyOverlapHistory();
    const end = Math.max(...history.map((op) => op.complete));
    const last = history.findLast((op) => op.kind === 'write');
    const stale = last?.value === 'v0' ? 'v1' : 'v0';
    const result = checkLinearizable([
      ...history,
      write('fresh', end + 1, end + 2),
      read(stale, end + 3, end + 4),
    ]);
    expect(result.ok).toBe(false);
    expect(result.key).toBe('k');
  });
});

describe('against brute force', () => {
  /**
   * The definition, literally: some subset of the unknown writes plus all
   * required ops, in some order that keeps every completed op before any op
   * invoked after it completed, replays as a sequential register.
   */
  const bruteForceLinearizable = (history: RegisterOp[], initial: string | null): boolean => {
    const live = history.filter((op) => op.kind === 'read' || op.ok !== false);
    const isOptional = (op: RegisterOp) => op.kind === 'write' && op.ok === 'unknown';
    const mustPrecede = (a: RegisterOp, b: RegisterOp) => !isOptional(a) && a.complete < b.invoke;
    const extend = (rest: RegisterOp[], value: string | null): boolean => {
      // Unknown writes left over simply never took effect.
      if (rest.every(isOptional)) return true;
      return rest.some((op, i) => {
        const others = rest.filter((_, j) => j !== i);
        if (others.some((other) => mustPrecede(other, op))) return false;
        if (op.kind === 'read' && op.value !== value) return false;
        const next = op.kind === 'write' ? op.value : value;
        return extend(others, next);
      });
    };
    return extend(live, initial);
  };

  const smallOpArb: fc.Arbitrary<RegisterOp> = fc
    .record({
      kind: fc.constantFrom<'read' | 'write'>('read', 'write'),
      value: fc.constantFrom('a', 'b', null),
      invoke: fc.integer({ min: 0, max: 10 }),
      duration: fc.integer({ min: 0, max: 6 }),
      ok: fc.constantFrom<boolean | 'unknown'>(true, true, false, 'unknown'),
    })
    .map(
      ({ kind, value, invoke, duration, ok }): RegisterOp =>
        kind === 'read'
          ? { kind, key: 'k', value, invoke, complete: invoke + duration }
          : { kind, key: 'k', value, invoke, complete: invoke + duration, ok },
    );

  it('agrees with enumerating every order on small arbitrary histories', () => {
    fc.assert(
      fc.property(
        fc.array(smallOpArb, { maxLength: 6 }),
        fc.constantFrom('a', null),
        (history, initial) => {
          const result = checkLinearizable(history, { initial });
          expect(result.ok).toBe(bruteForceLinearizable(history, initial));
          if (!result.ok) expect(checkLinearizable(result.ops ?? [], { initial }).ok).toBe(false);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

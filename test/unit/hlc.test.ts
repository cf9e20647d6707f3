/**
 * Hybrid logical clocks (src/hlc.ts), driven by ManualClock so that clock
 * skew, clocks going backwards and same-millisecond bursts are exact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { compareHlc, formatHlc, type Hlc, HlcClock, parseHlc } from '../../src/hlc.ts';

const hlc = (wall: number, counter: number, region: string): Hlc => ({ wall, counter, region });
const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);

const regionArb = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/);
// Small domains so that equal walls, counters and regions actually collide.
const smallHlcArb = fc.record({
  wall: fc.integer({ min: 0, max: 3 }),
  counter: fc.integer({ min: 0, max: 3 }),
  region: fc.constantFrom('a', 'b', 'us-east', 'us-west'),
});
const hlcArb = fc.oneof(
  smallHlcArb,
  fc.record({
    wall: fc.maxSafeNat(),
    counter: fc.integer({ min: 0, max: 9_999_999_999 }),
    region: regionArb,
  }),
);

describe('HlcClock.now', () => {
  it('follows the physical clock and restarts the counter on each new millisecond', () => {
    const clock = new ManualClock(1_000);
    const h = new HlcClock('us-east', clock);
    expect(h.now()).toEqual(hlc(1_000, 0, 'us-east'));
    clock.advance(5);
    expect(h.now()).toEqual(hlc(1_005, 0, 'us-east'));
  });

  it('increments the counter for events within one millisecond', () => {
    const clock = new ManualClock(1_000);
    const h = new HlcClock('r1', clock);
    const issued = [h.now(), h.now(), h.now(), h.now()];
    expect(issued).toEqual([
      hlc(1_000, 0, 'r1'),
      hlc(1_000, 1, 'r1'),
      hlc(1_000, 2, 'r1'),
      hlc(1_000, 3, 'r1'),
    ]);
    clock.advance(1);
    expect(h.now()).toEqual(hlc(1_001, 0, 'r1'));
  });

  it('never goes backwards when the physical clock does (NTP step)', () => {
    const clock = new ManualClock(10_000);
    const h = new HlcClock('r1', clock);
    expect(h.now()).toEqual(hlc(10_000, 0, 'r1'));
    clock.set(9_000);
    expect(h.now()).toEqual(hlc(10_000, 1, 'r1'));
    expect(h.now()).toEqual(hlc(10_000, 2, 'r1'));
    clock.set(10_000); // caught up, still not past the last wall
    expect(h.now()).toEqual(hlc(10_000, 3, 'r1'));
    clock.set(10_001);
    expect(h.now()).toEqual(hlc(10_001, 0, 'r1'));
  });

  it('seeded with the persisted last timestamp, never reissues a version after a restart', () => {
    const persisted = hlc(50_000, 7, 'r1');
    const h = new HlcClock('r1', new ManualClock(40_000), persisted);
    expect(h.peek()).toEqual(persisted);
    const next = h.now();
    expect(next).toEqual(hlc(50_000, 8, 'r1'));
    expect(compareHlc(next, persisted)).toBeGreaterThan(0);
  });

  it('peek() returns the latest issued timestamp without advancing', () => {
    const h = new HlcClock('r1', new ManualClock(7));
    expect(h.peek()).toEqual(hlc(0, 0, 'r1'));
    const t = h.now();
    expect(h.peek()).toEqual(t);
    expect(h.peek()).toEqual(t);
  });
});

describe('HlcClock.observe', () => {
  // [case, physical, last issued (wall, counter), remote, expected result]
  const cases: [string, number, [number, number], Hlc, Hlc][] = [
    [
      'remote ahead of local and physical',
      1_000,
      [1_000, 2],
      hlc(5_000, 9, 'eu'),
      hlc(5_000, 10, 'us'),
    ],
    ['remote behind, physical newest', 6_000, [5_000, 3], hlc(4_000, 9, 'eu'), hlc(6_000, 0, 'us')],
    [
      'remote behind, last newest (clock stepped back)',
      1_000,
      [5_000, 3],
      hlc(4_000, 9, 'eu'),
      hlc(5_000, 4, 'us'),
    ],
    [
      'remote equal wall, larger counter',
      1_000,
      [5_000, 3],
      hlc(5_000, 9, 'eu'),
      hlc(5_000, 10, 'us'),
    ],
    [
      'remote equal wall, smaller counter',
      1_000,
      [5_000, 3],
      hlc(5_000, 1, 'eu'),
      hlc(5_000, 4, 'us'),
    ],
    ['remote identical to last', 1_000, [5_000, 3], hlc(5_000, 3, 'eu'), hlc(5_000, 4, 'us')],
    ['physical ahead of both', 9_000, [5_000, 3], hlc(8_999, 99, 'eu'), hlc(9_000, 0, 'us')],
    [
      'physical equals remote wall, last behind',
      5_000,
      [4_000, 3],
      hlc(5_000, 2, 'eu'),
      hlc(5_000, 3, 'us'),
    ],
  ];

  it.each(cases)('%s', (_name, physical, [wall, counter], remote, expected) => {
    const clock = new ManualClock(physical);
    const h = new HlcClock('us', clock, hlc(wall, counter, 'us'));
    const result = h.observe(remote);
    expect(result).toEqual(expected);
    expect(compareHlc(result, remote)).toBeGreaterThan(0);
    expect(compareHlc(result, hlc(wall, counter, 'us'))).toBeGreaterThan(0);
    expect(h.peek()).toEqual(result);
  });

  it('after observing a remote, local events stay ahead of it', () => {
    const clock = new ManualClock(1_000);
    const h = new HlcClock('us', clock);
    const remote = hlc(60_000, 4, 'eu');
    h.observe(remote);
    const t = h.now();
    expect(t).toEqual(hlc(60_000, 6, 'us'));
    expect(compareHlc(t, remote)).toBeGreaterThan(0);
  });
});

describe('compareHlc', () => {
  it.each([
    [hlc(1, 0, 'b'), hlc(2, 0, 'a'), -1],
    [hlc(2, 0, 'a'), hlc(1, 9, 'z'), 1],
    [hlc(5, 1, 'z'), hlc(5, 2, 'a'), -1],
    [hlc(5, 2, 'a'), hlc(5, 2, 'b'), -1],
    [hlc(5, 2, 'us-west'), hlc(5, 2, 'us-east'), 1],
    [hlc(5, 2, 'a'), hlc(5, 2, 'a'), 0],
    [hlc(Number.MAX_SAFE_INTEGER, 0, 'a'), hlc(0, 0, 'a'), 1],
  ])('compare(%o, %o) has sign %i', (a, b, expected) => {
    expect(sign(compareHlc(a, b))).toBe(expected);
  });

  it('is antisymmetric, and zero exactly for identical timestamps', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, (a, b) => {
        // Sum, not negation: -sign(0) is -0, which toBe tells apart from 0.
        expect(sign(compareHlc(a, b)) + sign(compareHlc(b, a))).toBe(0);
        const identical = a.wall === b.wall && a.counter === b.counter && a.region === b.region;
        expect(compareHlc(a, b) === 0).toBe(identical);
      }),
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, hlcArb, (a, b, c) => {
        if (compareHlc(a, b) <= 0 && compareHlc(b, c) <= 0)
          expect(compareHlc(a, c)).toBeLessThanOrEqual(0);
        if (compareHlc(a, b) < 0 && compareHlc(b, c) < 0) expect(compareHlc(a, c)).toBeLessThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('sorts any permutation of a set into the same strictly increasing order (total order)', () => {
    const setAndPermutation = fc
      .uniqueArray(smallHlcArb, { selector: formatHlc, maxLength: 16 })
      .chain((set) =>
        fc.tuple(
          fc.constant(set),
          fc.shuffledSubarray(set, { minLength: set.length, maxLength: set.length }),
        ),
      );
    fc.assert(
      fc.property(setAndPermutation, ([set, permutation]) => {
        const sorted = [...set].sort(compareHlc);
        expect([...permutation].sort(compareHlc)).toEqual(sorted);
        for (let i = 1; i < sorted.length; i++) {
          expect(compareHlc(sorted[i - 1] as Hlc, sorted[i] as Hlc)).toBeLessThan(0);
        }
      }),
    );
  });

  it('is unchanged by a format/parse round trip', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, (a, b) => {
        const a2 = parseHlc(formatHlc(a));
        const b2 = parseHlc(formatHlc(b));
        expect(a2).not.toBeNull();
        expect(b2).not.toBeNull();
        expect(sign(compareHlc(a2 as Hlc, b2 as Hlc))).toBe(sign(compareHlc(a, b)));
      }),
    );
  });
});

describe('formatHlc / parseHlc', () => {
  it.each([
    [hlc(1_764_030_000_000, 0, 'us-east'), '1764030000000-0-us-east'],
    [hlc(0, 0, 'a'), '0-0-a'],
    [hlc(5, 12, 'eu-west-2'), '5-12-eu-west-2'],
    [
      hlc(Number.MAX_SAFE_INTEGER, 9_999_999_999, 'z'.repeat(32)),
      `9007199254740991-9999999999-${'z'.repeat(32)}`,
    ],
  ])('%o ⇄ %s', (h, text) => {
    expect(formatHlc(h)).toBe(text);
    expect(parseHlc(text)).toEqual(h);
  });

  it('round-trips every timestamp with a valid region', () => {
    fc.assert(
      fc.property(hlcArb, (h) => {
        expect(parseHlc(formatHlc(h))).toEqual(h);
      }),
    );
  });

  it.each([
    '',
    '1',
    '1-0',
    '1-0-',
    '-1-0-a',
    '1--1-a',
    '1-0--a', // region starting with '-'
    '1-0-A', // upper case region
    '1-0-a_b',
    '1-0-a.b',
    '1-0-a b',
    ' 1-0-a',
    '1-0-a ',
    '1-0-a\n',
    '\n1-0-a',
    '+1-0-a',
    '1.5-0-a',
    '1e3-0-a',
    '0x1-0-a',
    'a-0-a',
    '1-x-a',
    `1-0-${'a'.repeat(33)}`, // region longer than 32
    '12345678901234567-0-a', // 17-digit wall
    '9007199254740992-0-a', // wall beyond MAX_SAFE_INTEGER
    '9999999999999999-0-a',
    '1-12345678901-a', // 11-digit counter
    '١-0-a', // non-ASCII digit
    '1-0-é',
  ])('rejects %j', (text) => {
    expect(parseHlc(text)).toBeNull();
  });

  it('never throws, and whatever it accepts has the documented shape and round-trips', () => {
    const nearlyValid = fc.stringMatching(/^[0-9+.e-]{0,18}-[0-9a-z]{0,12}-[a-zA-Z0-9_ -]{0,34}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), nearlyValid), (text) => {
        const h = parseHlc(text);
        if (h === null) return;
        const m = /^(\d+)-(\d+)-(.*)$/.exec(text);
        expect(m).not.toBeNull();
        expect(h).toEqual({ wall: Number(m?.[1]), counter: Number(m?.[2]), region: m?.[3] });
        expect(Number.isSafeInteger(h.wall) && Number.isSafeInteger(h.counter)).toBe(true);
        expect(parseHlc(formatHlc(h))).toEqual(h);
      }),
    );
  });
});

describe('HLC across three regions (property)', () => {
  const REGIONS = ['ap-south', 'eu-west', 'us-east'] as const;
  type Op =
    | { kind: 'tick'; at: number; delta: number }
    | { kind: 'now'; at: number }
    | { kind: 'observe'; at: number; from: number; pick: number };
  const at = fc.nat({ max: 2 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    // Clocks may jump backwards (NTP steps) or stand still: deltas in [-50, 50] ms.
    fc.record({ kind: fc.constant('tick' as const), at, delta: fc.integer({ min: -50, max: 50 }) }),
    fc.record({ kind: fc.constant('now' as const), at }),
    fc.record({ kind: fc.constant('observe' as const), at, from: at, pick: fc.nat() }),
  );

  it('issues strictly increasing timestamps per clock, each observe() above its remote, wall never beyond physical time', () => {
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 0, max: 1_000 }),
          fc.integer({ min: 0, max: 1_000 }),
          fc.integer({ min: 0, max: 1_000 }),
        ),
        fc.array(opArb, { maxLength: 200 }),
        (starts, ops) => {
          const physical = starts.map((t) => new ManualClock(t));
          const clocks = REGIONS.map((r, i) => new HlcClock(r, physical[i] as ManualClock));
          const issued: Hlc[][] = [[], [], []];
          let maxPhysical = Math.max(...starts);
          const record = (i: number, t: Hlc): void => {
            const mine = issued[i] as Hlc[];
            const prev = mine.at(-1);
            if (prev) expect(compareHlc(t, prev)).toBeGreaterThan(0);
            expect(t.region).toBe(REGIONS[i]);
            // HLC bounds drift: wall is the largest physical time any clock has shown.
            expect(t.wall).toBeLessThanOrEqual(maxPhysical);
            mine.push(t);
            expect((clocks[i] as HlcClock).peek()).toEqual(t);
          };
          for (const op of ops) {
            const clock = clocks[op.at] as HlcClock;
            if (op.kind === 'tick') {
              const p = physical[op.at] as ManualClock;
              p.set(Math.max(0, p.now() + op.delta));
              maxPhysical = Math.max(maxPhysical, p.now());
            } else if (op.kind === 'now') {
              record(op.at, clock.now());
            } else {
              // Deliver any message the sender ever issued: replication may reorder or repeat.
              const sent = issued[op.from] as Hlc[];
              if (sent.length === 0) continue;
              const remote = sent[op.pick % sent.length] as Hlc;
              const t = clock.observe(remote);
              expect(compareHlc(t, remote)).toBeGreaterThan(0);
              record(op.at, t);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

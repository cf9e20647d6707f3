/**
 * W-TinyLFU's state as JSON-safe data, for `snapshot()`/`restore()`: the
 * residents of each region (window, probation, protected) from least to
 * most recently used in the shared `SavedResident` form of
 * `base-policy.ts` (`Infinity` expiry as `null`) with their read times
 * beside them (`times`: seen, prior, …; `null` for never), plus the sketch,
 * the last-seen table, the climber and the small scalars every decision
 * depends on. Re-inserting the residents in order rebuilds the same lists.
 */
import type { Admission } from './admission.ts';
import type { SavedResident } from './base-policy.ts';
import { FrequencySketch, type SketchState } from './frequency-sketch.ts';
import { type ClimberState, HillClimber } from './hill-climber.ts';
import { hashKey } from './key-hash.ts';
import { LastSeen, type LastSeenState, NEVER } from './last-seen.ts';
import { PROBATION, PROTECTED, type Segments, WINDOW } from './segments.ts';
import type { WTinyLfuPolicy } from './w-tinylfu.ts';

interface SavedSegment {
  entries: SavedResident[];
  times: (number | null)[];
}

export interface WTinyLfuState {
  windowFraction: number;
  admission: Admission;
  rng: number;
  clock: number;
  lastKey: string;
  lastPrior: number | null;
  missPending: boolean;
  regions: [SavedSegment, SavedSegment, SavedSegment];
  sketch: SketchState;
  seen: LastSeenState | null;
  climber: ClimberState | null;
}

const finiteOrNull = (t: number): number | null => (Number.isFinite(t) ? t : null);

function saveSegment(s: Segments, segment: number): SavedSegment {
  const out: SavedSegment = { entries: [], times: [] };
  for (let id = s.first(segment); id >= 0; id = s.after(id)) {
    out.entries.push([
      s.keys[id] as string,
      s.size[id] as number,
      finiteOrNull(s.expiresAt[id] as number),
      s.priority[id] as number,
      s.cost[id] as number,
    ]);
    out.times.push(finiteOrNull(s.seen[id] as number), finiteOrNull(s.prior[id] as number));
  }
  return out;
}

export function savePolicy(policy: WTinyLfuPolicy): WTinyLfuState {
  const s = policy.s;
  return {
    windowFraction: policy.fraction,
    admission: policy.regions.admission,
    rng: policy.regions.rng,
    clock: policy.clock,
    lastKey: policy.lastKey,
    lastPrior: finiteOrNull(policy.lastPrior),
    missPending: policy.missPending,
    regions: [saveSegment(s, WINDOW), saveSegment(s, PROBATION), saveSegment(s, PROTECTED)],
    sketch: policy.sketch.save(),
    seen: policy.seen?.save() ?? null,
    climber: policy.climber?.save() ?? null,
  };
}

/** Fills a freshly constructed policy (same capacity and options) from `state`. */
export function loadPolicy(policy: WTinyLfuPolicy, state: WTinyLfuState): void {
  policy.regions.rng = state.rng;
  policy.clock = state.clock;
  policy.lastKey = state.lastKey;
  policy.lastHash = hashKey(state.lastKey);
  policy.lastPrior = state.lastPrior ?? NEVER;
  policy.missPending = state.missPending;
  policy.sketch = FrequencySketch.load(state.sketch);
  policy.seen = state.seen ? LastSeen.load(state.seen) : undefined;
  if (state.climber) policy.climber = HillClimber.load(state.climber, policy.limits.maxWeight);
  [WINDOW, PROBATION, PROTECTED].forEach((segment, i) => {
    const { entries, times } = state.regions[i] as SavedSegment;
    entries.forEach(([key, size, expiresAt, priority, cost], j) => {
      const info = { size, expiresAt: expiresAt ?? Number.POSITIVE_INFINITY, priority, cost };
      const seen = times[2 * j] ?? NEVER;
      policy.restoreEntry(segment, key, info, seen, times[2 * j + 1] ?? NEVER);
    });
  });
}

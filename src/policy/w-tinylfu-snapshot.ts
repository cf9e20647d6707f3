/**
 * W-TinyLFU's residents as JSON-safe data: each segment (window, probation,
 * protected) from least to most recently used, every entry in the shared
 * `SavedResident` form of `base-policy.ts` (`Infinity` expiry as `null`).
 * Re-inserting them in this order rebuilds the same lists.
 */
import type { SavedResident } from './base-policy.ts';
import { PROBATION, PROTECTED, type Segments, WINDOW } from './segments.ts';

export interface SavedEntries {
  window: SavedResident[];
  probation: SavedResident[];
  protected: SavedResident[];
}

function saveSegment(s: Segments, segment: number): SavedResident[] {
  const out: SavedResident[] = [];
  for (let id = s.first(segment); id >= 0; id = s.after(id)) {
    const expiresAt = s.expiresAt[id] as number;
    out.push([
      s.keys[id] as string,
      s.size[id] as number,
      Number.isFinite(expiresAt) ? expiresAt : null,
      s.priority[id] as number,
      s.cost[id] as number,
    ]);
  }
  return out;
}

export function saveEntries(s: Segments): SavedEntries {
  return {
    window: saveSegment(s, WINDOW),
    probation: saveSegment(s, PROBATION),
    protected: saveSegment(s, PROTECTED),
  };
}

/** Calls `add` for every saved entry, segment by segment, least recently used first. */
export function loadEntries(
  saved: SavedEntries,
  add: (
    segment: number,
    key: string,
    size: number,
    expiresAt: number,
    priority: number,
    cost: number,
  ) => void,
): void {
  const segments: [number, SavedResident[]][] = [
    [WINDOW, saved.window],
    [PROBATION, saved.probation],
    [PROTECTED, saved.protected],
  ];
  for (const [segment, entries] of segments) {
    for (const [key, size, expiresAt, priority, cost] of entries) {
      add(segment, key, size, expiresAt ?? Number.POSITIVE_INFINITY, priority, cost);
    }
  }
}

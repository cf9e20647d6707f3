/**
 * A resident's info as the policies store it, and the JSON-safe form every
 * policy's snapshot uses for it. The policies themselves build on the slot
 * table (`table-policy.ts`), or implement `Policy` directly (W-TinyLFU).
 */

export interface Resident {
  size: number;
  expiresAt: number;
  priority: number;
  cost: number;
}

/** A resident as JSON-safe data: `Infinity` (never expires) becomes `null`. */
export type SavedResident = [
  key: string,
  size: number,
  expiresAt: number | null,
  priority: number,
  cost: number,
];

export function saveResident(key: string, r: Resident): SavedResident {
  return [key, r.size, Number.isFinite(r.expiresAt) ? r.expiresAt : null, r.priority, r.cost];
}

export function loadResident(saved: SavedResident): [string, Resident] {
  const [key, size, expiresAt, priority, cost] = saved;
  return [key, { size, expiresAt: expiresAt ?? Number.POSITIVE_INFINITY, priority, cost }];
}

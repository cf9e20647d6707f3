/**
 * Hybrid logical clocks (Kulkarni et al., 2014): versions that follow wall
 * time, never go backwards, and order concurrent writes from different
 * regions the same way everywhere (ties broken by region id).
 *
 * A version is written `<wallMillis>-<counter>-<region>`, e.g.
 * `1764030000000-0-us-east`; it is the entry's ETag.
 */
import type { Clock } from './clock.ts';

export interface Hlc {
  /** Wall-clock milliseconds (the largest seen, physical or remote). */
  wall: number;
  /** Logical counter that orders events within one millisecond. */
  counter: number;
  /** Region that issued the timestamp; the final tie-breaker. */
  region: string;
}

/** Orders two timestamps: negative if `a` happened before `b`. */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall - b.wall;
  if (a.counter !== b.counter) return a.counter - b.counter;
  return a.region < b.region ? -1 : a.region > b.region ? 1 : 0;
}

export function formatHlc(h: Hlc): string {
  return `${h.wall}-${h.counter}-${h.region}`;
}

/** Parses a formatted HLC; `null` if the text is not one. */
export function parseHlc(text: string): Hlc | null {
  // No leading zeros: one version has exactly one spelling (it is the ETag).
  const m = /^(0|[1-9]\d{0,15})-(0|[1-9]\d{0,9})-([a-z0-9][a-z0-9-]{0,31})$/.exec(text);
  if (!m) return null;
  const wall = Number(m[1]);
  const counter = Number(m[2]);
  if (!Number.isSafeInteger(wall) || !Number.isSafeInteger(counter)) return null;
  return { wall, counter, region: m[3] as string };
}

/**
 * A clock issuing HLC timestamps for one region. Seed it with the last
 * timestamp the owner persisted so a restart never reissues a version.
 */
export class HlcClock {
  private last: Hlc;

  constructor(
    private readonly region: string,
    private readonly clock: Clock,
    last?: Hlc,
  ) {
    this.last = last ?? { wall: 0, counter: 0, region };
  }

  /** A timestamp for a local event, greater than every one issued or observed. */
  now(): Hlc {
    const physical = this.clock.now();
    if (physical > this.last.wall) {
      this.last = { wall: physical, counter: 0, region: this.region };
    } else {
      this.last = { wall: this.last.wall, counter: this.last.counter + 1, region: this.region };
    }
    return this.last;
  }

  /** Merges a remote timestamp (on receiving a replicated event) and returns the new local time. */
  observe(remote: Hlc): Hlc {
    const physical = this.clock.now();
    const wall = Math.max(physical, this.last.wall, remote.wall);
    let counter: number;
    if (wall === this.last.wall && wall === remote.wall)
      counter = Math.max(this.last.counter, remote.counter) + 1;
    else if (wall === this.last.wall) counter = this.last.counter + 1;
    else if (wall === remote.wall) counter = remote.counter + 1;
    else counter = 0;
    this.last = { wall, counter, region: this.region };
    return this.last;
  }

  /** The latest timestamp issued or observed (persist it). */
  peek(): Hlc {
    return this.last;
  }
}

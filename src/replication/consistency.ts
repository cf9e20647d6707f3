/**
 * Which consistency level a request gets, and where `strong` keys live.
 * Pure: configuration in, decisions out.
 *
 * - A namespace's level comes from NAMESPACE_CONSISTENCY, else
 *   DEFAULT_CONSISTENCY (`eventual`).
 * - `Strata-Consistency: eventual|quorum|strong` on a request overrides it,
 *   with one restriction: a write can ask for more than its namespace's
 *   level, never less. A `strong` namespace's writes all go through its home
 *   region, or reads there would stop being linearizable. Reads may ask for
 *   less (`eventual` on a strong namespace reads this region's copy).
 */
import type { Config, Consistency } from '../env.ts';
import { CONSISTENCY_LEVELS } from '../env.ts';
import { StrataError } from '../errors.ts';

export const CONSISTENCY_HEADER = 'strata-consistency';

const RANK: Record<Consistency, number> = { eventual: 0, quorum: 1, strong: 2 };

export function parseConsistency(raw: string | undefined): Consistency | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if (!(CONSISTENCY_LEVELS as readonly string[]).includes(value)) {
    throw new StrataError(
      'invalid-consistency',
      `Strata-Consistency must be one of ${CONSISTENCY_LEVELS.join(', ')}.`,
    );
  }
  return value as Consistency;
}

export function namespaceLevel(config: Config, namespace: string): Consistency {
  return config.namespaceConsistency[namespace] ?? config.defaultConsistency;
}

/** The level a write runs at: the stronger of the namespace's and the request's. */
export function writeLevel(
  config: Config,
  namespace: string,
  requested?: Consistency,
): Consistency {
  const own = namespaceLevel(config, namespace);
  return requested && RANK[requested] > RANK[own] ? requested : own;
}

/** The level a read runs at: the request's if given, else the namespace's. */
export function readLevel(config: Config, namespace: string, requested?: Consistency): Consistency {
  return requested ?? namespaceLevel(config, namespace);
}

/** The region that orders a namespace's `strong` writes. */
export function homeOf(config: Config, namespace: string): string {
  return config.namespaceHomes[namespace] ?? config.homeRegion;
}

/** Regions that must hold a write before a `quorum` write returns: a majority, this one included. */
export function quorumOf(regions: number): number {
  return Math.floor(regions / 2) + 1;
}

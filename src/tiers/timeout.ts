/**
 * Fail-fast decorator: races a tier call against a timer and turns both a
 * timeout and a thrown error into a `TierError`, clearing the timer in
 * `finally` so no timer outlives the call.
 */

import type { Entry } from '../entry.ts';
import type { Tier, Tombstone } from './tier.ts';
import { TierError } from './tier.ts';

export async function withDeadline<T>(
  tier: string,
  ms: number,
  work: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TierError(tier, 'timeout')), ms);
  });
  try {
    return await Promise.race([work(), deadline]);
  } catch (err) {
    if (err instanceof TierError) throw err;
    throw new TierError(tier, 'tier-down', { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps every call of `tier` in `withDeadline(ms)`. */
export function withTimeout(tier: Tier, ms: number): Tier {
  return {
    name: tier.name,
    get: (namespace: string, key: string) =>
      withDeadline(tier.name, ms, () => tier.get(namespace, key)),
    set: (entry: Entry) => withDeadline(tier.name, ms, () => tier.set(entry)),
    delete: (namespace: string, key: string, tombstone?: Tombstone) =>
      withDeadline(tier.name, ms, () => tier.delete(namespace, key, tombstone)),
  };
}

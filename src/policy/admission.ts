/**
 * W-TinyLFU's admission rules, shared by the live policy and its miniature
 * shadows: does the window's candidate replace main's victim?
 *
 * - `frequency`: TinyLFU as published and as Caffeine ships it: admit when
 *   the candidate's sketch frequency is higher than the victim's.
 * - `frequency-recency` (this project's variant, used by `adaptive`): the
 *   candidate's count includes the access that just brought it in, which
 *   the victim has no counterpart for, so that access is not counted; on a
 *   tie the key used more recently wins, comparing the candidate's access
 *   *before* this one with the victim's last access (LRU-2's backward
 *   2-distance, O'Neil, O'Neil & Weikum, SIGMOD 1993). On a loop longer
 *   than the cache every candidate is exactly one access ahead of its
 *   victim and was last seen a whole loop ago, so main stays put (LIRS's
 *   behaviour; plain TinyLFU churns and loses 7 points on `loop`); when a
 *   workload changes phase, new keys reused sooner than main's stale ones
 *   get in at once.
 * - `none`: every candidate enters main (the window then feeds an SLRU).
 *
 * Either frequency rule admits a hot candidate (frequency ≥ 6) that lost
 * with probability 1/128, as Caffeine does against hash flooding; the
 * caller supplies the seeded coin.
 */
export type Admission = 'frequency' | 'frequency-recency' | 'none';

/** Result of `admissionVerdict`: admit, refuse, or refuse unless a 1/128 coin says otherwise. */
export const ADMIT = 1;
export const REFUSE = 0;
export const HOT_REFUSE = -1;

const HASH_FLOOD_FREQUENCY = 6;

export function admissionVerdict(
  rule: Admission,
  candidateFrequency: number,
  victimFrequency: number,
  candidatePrior: number,
  victimSeen: number,
): number {
  if (rule === 'none') return ADMIT;
  if (rule === 'frequency') {
    if (candidateFrequency > victimFrequency) return ADMIT;
  } else {
    if (candidateFrequency > victimFrequency + 1) return ADMIT;
    if (candidateFrequency === victimFrequency + 1 && candidatePrior > victimSeen) return ADMIT;
  }
  return candidateFrequency >= HASH_FLOOD_FREQUENCY ? HOT_REFUSE : REFUSE;
}

/** One step of xorshift32; admits on a 1-in-128 draw. Returns [admit, nextState]. */
export function floodCoin(state: number): [boolean, number] {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return [(x & 127) === 0, x >>> 0];
}

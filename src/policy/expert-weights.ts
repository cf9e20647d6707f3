/**
 * Regret-weighted experts for eviction (LeCaR, Vietri et al., HotStorage
 * 2018; CACHEUS, Rodriguez et al., FAST 2021): a probability per expert,
 * sampled with a seeded PRNG at every eviction and lowered whenever a key an
 * expert evicted is asked for again while its ghost is still remembered.
 *
 * The update is LeCaR's: w_i *= exp(-rate * d^age) with d = 0.005^(1/N), so a
 * ghost missed right after its eviction costs the full rate and one missed N
 * accesses later costs 0.5% of it. Three deviations, each measured on the
 * shared traces (see learned.ts):
 *   - half the evictions go to the leading expert outright, half are drawn
 *     by weight (LeCaR draws them all): exploring less costs fewer hits once
 *     one expert is clearly right (loop at 256: 18.1% to 25.0%; average over
 *     the 30 table rows 52.7% to 53.1%), and `chance` is the mixture's, so
 *     importance weighting stays unbiased;
 *   - importance weighting, as in EXP3 (Auer et al., 2002): the penalty is
 *     divided by the chance the eviction had of being made (capped at
 *     IMPORTANCE_CAP), so a rarely consulted expert's mistakes count as much
 *     as a busy one's instead of hiding in a short ghost list;
 *   - a floor of 1e-4 instead of LeCaR/CACHEUS's 0.01, so on a stream where
 *     one expert is optimal (corda: LRU = OPT) the others stop costing hits.
 * CACHEUS's adaptive learning rate (hill climbing on the hit rate of each
 * period of N accesses) was tried: it won loop at 256 and glimpse at 500 by
 * 2-3 points but lost oltp, sprite, multi2 at 600 and cdn-sized by 0.1-1.3,
 * so the rate is LeCaR's fixed 0.45.
 */

export const LEARNING_RATE = 0.45;
/** Share of evictions made by the leading expert outright; the rest are drawn by weight. */
export const LEADER_SHARE = 0.5;
export const WEIGHT_FLOOR = 1e-4;
export const IMPORTANCE_CAP = 10;
/** LeCaR's discount: a ghost N accesses old is worth 0.5% of a fresh one. */
const DISCOUNT_AT_N = 0.005;

/** The weights and the PRNG state as JSON-safe data. */
export interface SavedWeights {
  weights: number[];
  seed: number;
}

export class ExpertWeights {
  private readonly weights: Float64Array;
  /** mulberry32 state: a uint32. */
  private seed: number;

  constructor(experts: number, seed = 0x2545f491) {
    this.weights = new Float64Array(experts).fill(1 / experts);
    this.seed = seed >>> 0;
  }

  get size(): number {
    return this.weights.length;
  }

  weight(expert: number): number {
    return this.weights[expert] as number;
  }

  /**
   * The expert for one eviction: the leader (highest weight) with
   * probability LEADER_SHARE, otherwise one drawn with probability equal to
   * its weight.
   */
  sample(): number {
    const r = this.random();
    if (r < LEADER_SHARE) return this.leader();
    let rest = (r - LEADER_SHARE) / (1 - LEADER_SHARE);
    const last = this.weights.length - 1;
    for (let i = 0; i < last; i++) {
      rest -= this.weights[i] as number;
      if (rest < 0) return i;
    }
    return last;
  }

  /** The chance that `sample` picks an expert in `mask` (bit i = expert i). */
  chance(mask: number): number {
    let sum = 0;
    for (let i = 0; i < this.weights.length; i++)
      if (mask & (1 << i)) sum += this.weights[i] as number;
    const leader = mask & (1 << this.leader()) ? 1 : 0;
    return LEADER_SHARE * leader + (1 - LEADER_SHARE) * sum;
  }

  /** The expert with the highest weight (the lowest index among equals). */
  private leader(): number {
    const w = this.weights;
    let best = 0;
    for (let i = 1; i < w.length; i++) if ((w[i] as number) > (w[best] as number)) best = i;
    return best;
  }

  /**
   * The experts in `mask` evicted a key that was asked for again `age`
   * accesses later, in a cache of about `n` entries; the eviction had
   * probability `chance` of being made.
   */
  penalise(mask: number, age: number, n: number, chance: number): void {
    const regret = DISCOUNT_AT_N ** (age / Math.max(1, n));
    const importance = Math.min(1 / Math.max(chance, 1e-12), IMPORTANCE_CAP);
    const factor = Math.exp(-LEARNING_RATE * regret * importance);
    const w = this.weights;
    let sum = 0;
    for (let i = 0; i < w.length; i++) {
      if (mask & (1 << i)) w[i] = (w[i] as number) * factor;
      sum += w[i] as number;
    }
    // Normalise, lift every weight to the floor, normalise again.
    let lifted = 0;
    for (let i = 0; i < w.length; i++) {
      w[i] = Math.max((w[i] as number) / sum, WEIGHT_FLOOR);
      lifted += w[i] as number;
    }
    for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) / lifted;
  }

  save(): SavedWeights {
    return { weights: Array.from(this.weights), seed: this.seed };
  }

  load(saved: SavedWeights): void {
    for (const [i, w] of saved.weights.entries()) if (i < this.weights.length) this.weights[i] = w;
    this.seed = saved.seed >>> 0;
  }

  /** mulberry32 (Tommy Ettinger): a uniform number in [0, 1). */
  private random(): number {
    this.seed = (this.seed + 0x6d2b79f5) >>> 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/**
 * Chooses the live W-TinyLFU configuration by miniature simulation
 * (Waldspurger, Saemundsson, Ahmad & Park, "Cache Modeling and Optimization
 * using Miniature Simulations", USENIX ATC 2017): one `MiniCache` per
 * candidate (`CONFIGS`: window shares from 0%, for frequency- and
 * loop-heavy workloads, to 90%, for recency-heavy ones, plus an SLRU with
 * a 20% window and no admission filter, for traces where frequency is a
 * negative signal) runs on a hash-sampled subset of the keys at capacity
 * `rate × maxWeight`, and the live cache moves to the configuration that
 * would have hit significantly more.
 *
 * Decisions: requests are grouped into epochs (half a shadow's resident
 * count of sampled requests, at least 512). Per epoch each shadow's hits
 * are folded into decayed sums (10% an epoch) of hits and of pairwise
 * products, so the mean and variance of any pair's per-epoch difference are
 * at hand. Once 2 informative epochs exist, the live cache moves to the
 * configuration whose advantage over the current one is surest: the
 * largest lower bound (mean minus 2 standard errors) of its mean per-epoch
 * advantage, among those whose mean is over 1% of an epoch's requests (a
 * paired test over epochs). Taking the largest mean instead lets early
 * noise pick among several candidates and pay for a second switch later
 * (cdn-sized at 5,000: 36.3% against 39.3%).
 * Requests inside an epoch are not independent (one hot key held by one
 * shadow gives hundreds of agreeing differences), and a switch costs a
 * transition, so short phases must not trigger it (multi2 at 3,000 lost
 * 5 points to one round trip under a per-request test). Epochs in which
 * every shadow hit equally (a cold cache) are skipped. The history
 * describes the configurations, not the live cache, so it survives a switch.
 *
 * Sampling: a key is sampled when a remix of its hash falls below
 * `rate × 2^32`. The rate starts at min(¼, 2000 / expected entries), so
 * small caches get quarter-size shadows and large ones about 2,000 sampled
 * residents; `retune` re-aims it at 2,000 residents once a byte-weighted
 * cache is full and its entry count is known.
 *
 * @example
 * const sim = new MiniSim({ maxWeight: 100_000 });
 * CONFIGS[sim.current]; // the configuration the live cache should use
 */
import type { Admission } from './admission.ts';
import { mix32 } from './key-hash.ts';
import { MiniCache, type MiniCacheState, type ShadowSource } from './mini-cache.ts';
import type { Capacity } from './policy.ts';

/** One candidate configuration of the live cache. */
export interface MiniConfig {
  windowFraction: number;
  admission: Admission;
}

const shares = (windowFraction: number): MiniConfig => ({
  windowFraction,
  admission: 'frequency-recency',
});

/** The candidates; the first is where the live cache starts. */
export const CONFIGS: readonly MiniConfig[] = [
  ...[0, 0.05, 0.15, 0.3, 0.5, 0.7, 0.9].map(shares),
  { windowFraction: 0.2, admission: 'none' },
];
const START = 0;
/** Sampled keys the shadows aim to hold. */
const SAMPLE_TARGET = 2000;
/** At most a quarter of the keys are sampled: small caches get quarter-size shadows. */
const MAX_RATE = 0.25;
/** Sampled requests per epoch: half the current shadow's residents, at least MIN_EPOCH. */
const EPOCH = 0.5;
const MIN_EPOCH = 512;
/** Weight of the past per epoch in the decayed statistics. */
const DECAY = 0.9;
/** A switch needs a mean per-epoch advantage of 2 standard errors, ... */
const SIGNIFICANCE = 2;
/** ... over at least 2 informative epochs, ... */
const MIN_EPOCHS = 2;
/** ... worth at least 1% of an epoch's requests (a point of hit ratio). */
const MIN_GAIN = 0.01;
const SAMPLE_SEED = 0x5bd1e995;
const TWO_32 = 2 ** 32;

/** What the simulation reads from the live cache: its sketch and its fill. */
export interface LiveView extends ShadowSource {
  readonly count: number;
  readonly weight: number;
  /** When the key just read had been read before. */
  readonly priorRead: number;
}

export interface MiniSimState {
  rate: number;
  current: number;
  requests: number;
  hits: number[];
  sum: number[];
  products: number[];
  weights: number;
  weightsSq: number;
  shadows: MiniCacheState[];
}

export class MiniSim {
  /** Index into `CONFIGS` of the configuration the live cache should use. */
  current = START;
  private rate: number;
  private threshold: number;
  private shadows: MiniCache[];
  /** This epoch's hits of each shadow. */
  private readonly hits = new Float64Array(CONFIGS.length);
  /** Decayed sums over past epochs: Σw·hits[k] and Σw·hits[j]·hits[k] (row-major). */
  private readonly sum = new Float64Array(CONFIGS.length);
  private readonly products = new Float64Array(CONFIGS.length * CONFIGS.length);
  /** Decayed Σw and Σw² over past epochs. */
  private weights = 0;
  private weightsSq = 0;
  private requests = 0;
  private epochLength = 1;
  private limits: Capacity;

  constructor(capacity: Capacity) {
    this.limits = { ...capacity };
    const expected = Math.min(capacity.maxEntries ?? capacity.maxWeight, capacity.maxWeight);
    this.rate = Math.min(MAX_RATE, SAMPLE_TARGET / Math.max(1, expected));
    this.threshold = this.rate * TWO_32;
    this.shadows = CONFIGS.map(
      (c) => new MiniCache(this.shadowWeight(), c.windowFraction, c.admission),
    );
  }

  /** True if the key with hash `h` is in the sample. */
  sampled(h: number): boolean {
    return mix32(h ^ SAMPLE_SEED) < this.threshold;
  }

  /**
   * Replays a sampled read on every shadow. Shadows that miss while the live
   * cache hit take the key now (`liveSize`); on a live miss they take it in
   * `onSet`. Returns true when the live cache should change configuration.
   */
  onGet(h: number, liveSize: number | undefined, live: LiveView): boolean {
    const clock = live.reads;
    for (let k = 0; k < this.shadows.length; k++) {
      const shadow = this.shadows[k] as MiniCache;
      if (shadow.access(h, clock)) this.hits[k] = (this.hits[k] as number) + 1;
      else if (liveSize !== undefined) shadow.insert(h, liveSize, live.priorRead, live);
    }
    const epoch = Math.max(MIN_EPOCH, (this.shadows[this.current] as MiniCache).count * EPOCH);
    if (++this.requests < epoch) return false;
    this.epochLength = epoch;
    this.requests = 0;
    return this.decide();
  }

  /** A sampled write of a key read before at `prior`: shadows without the key take it. */
  onSet(h: number, size: number, prior: number, live: ShadowSource): void {
    for (const shadow of this.shadows) shadow.insert(h, size, prior, live);
  }

  onDelete(h: number): void {
    for (const shadow of this.shadows) shadow.remove(h);
  }

  resize(capacity: Capacity, live: ShadowSource): void {
    this.limits = { ...capacity };
    for (const shadow of this.shadows) shadow.resize(this.shadowWeight(), live);
  }

  save(): MiniSimState {
    return {
      rate: this.rate,
      current: this.current,
      requests: this.requests,
      hits: [...this.hits],
      sum: [...this.sum],
      products: [...this.products],
      weights: this.weights,
      weightsSq: this.weightsSq,
      shadows: this.shadows.map((s) => s.save()),
    };
  }

  static load(state: MiniSimState, capacity: Capacity): MiniSim {
    const sim = new MiniSim(capacity);
    sim.rate = state.rate;
    sim.threshold = state.rate * TWO_32;
    sim.current = state.current;
    sim.requests = state.requests;
    sim.hits.set(state.hits);
    sim.sum.set(state.sum);
    sim.products.set(state.products);
    sim.weights = state.weights;
    sim.weightsSq = state.weightsSq;
    sim.shadows = state.shadows.map((s, k) => {
      const c = CONFIGS[k] as MiniConfig;
      return MiniCache.load(s, c.windowFraction, c.admission);
    });
    return sim;
  }

  private shadowWeight(): number {
    return this.limits.maxWeight * this.rate;
  }

  /**
   * Folds this epoch's hits into the decayed statistics and moves to the
   * configuration whose per-epoch advantage over the current one has the
   * largest positive lower bound: a paired test over epochs, since requests
   * within an epoch are too correlated to count one by one (one hot key
   * held by one shadow and not another gives hundreds of agreeing
   * differences). The history is kept across switches: it describes the
   * configurations, not the live cache.
   */
  private decide(): boolean {
    const n = CONFIGS.length;
    const hits = this.hits;
    // An epoch in which every shadow hit equally (a cold cache) carries no evidence.
    let informative = false;
    for (let k = 1; k < n; k++) if (hits[k] !== hits[0]) informative = true;
    if (!informative) {
      hits.fill(0);
      return false;
    }
    this.weights = this.weights * DECAY + 1;
    this.weightsSq = this.weightsSq * DECAY * DECAY + 1;
    for (let j = 0; j < n; j++) {
      const hj = hits[j] as number;
      this.sum[j] = (this.sum[j] as number) * DECAY + hj;
      for (let k = 0; k < n; k++) {
        const i = j * n + k;
        this.products[i] = (this.products[i] as number) * DECAY + hj * (hits[k] as number);
      }
    }
    hits.fill(0);
    const effective = (this.weights * this.weights) / this.weightsSq;
    if (effective < MIN_EPOCHS - 0.1) return false;
    const c = this.current;
    const w = this.weights;
    let best = c;
    let bestBound = 0;
    for (let k = 0; k < n; k++) {
      const mean = ((this.sum[k] as number) - (this.sum[c] as number)) / w;
      if (!(mean > MIN_GAIN * this.epochLength)) continue;
      const square =
        ((this.products[k * n + k] as number) -
          2 * (this.products[k * n + c] as number) +
          (this.products[c * n + c] as number)) /
        w;
      const margin = SIGNIFICANCE * Math.sqrt(Math.max(0, square - mean * mean) / effective);
      // The surest gain wins, not the largest: early on, when several
      // candidates look better on a couple of epochs, the largest mean is
      // mostly noise, and each wrong switch costs a transition.
      if (mean - margin > bestBound) {
        best = k;
        bestBound = mean - margin;
      }
    }
    if (best === c) return false;
    this.current = best;
    return true;
  }

  /**
   * Re-aims the sample at about SAMPLE_TARGET resident keys once the live
   * cache is full, when its entry count says the rate is off by more than
   * 2x (byte-weighted caches: the count is unknown until then). Call it
   * every so many live requests; shrinking drops keys now out of the sample.
   */
  retune(live: LiveView): void {
    if (live.weight < 0.9 * this.limits.maxWeight) return;
    const ideal = Math.min(MAX_RATE, SAMPLE_TARGET / Math.max(1, live.count));
    if (ideal <= 2 * this.rate && ideal >= this.rate / 2) return;
    const shrink = ideal < this.rate;
    this.rate = ideal;
    this.threshold = ideal * TWO_32;
    for (const shadow of this.shadows) {
      if (shrink) shadow.prune((h) => this.sampled(h));
      shadow.resize(this.shadowWeight(), live);
    }
  }
}

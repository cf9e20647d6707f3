/**
 * W-TinyLFU's regions and the moves between them, shared by the live
 * `WTinyLfuPolicy` and its miniature shadows (`MiniCache`):
 *
 *   window LRU (share `windowFraction` of the capacity)
 *     → overflow: the window's LRU entry is a *candidate* for main
 *   main SLRU: probation (20%) and protected (80% of main)
 *     hit in probation → protected; protected overflow → probation
 *
 * `nextLoser` is one step of Caffeine's eviction: the candidate (only while
 * the window is over its share) meets main's victim (probation's LRU, else
 * protected's); the admission rule (`admission.ts`) decides who stays, the
 * winner is moved, the loser returned for the caller to remove. Without a
 * candidate the victim goes; an empty main gives up the window's LRU. A
 * window share change takes effect lazily: a smaller window hands its
 * overflow to probation without a contest, a larger one grows as main's
 * victims leave.
 *
 * @example
 * const regions = new WindowSlru(new Segments(64), 'frequency');
 * regions.resizeRegions(100, 0.01);
 * while (over) remove(regions.nextLoser(sketch));
 */
import { ADMIT, type Admission, admissionVerdict, floodCoin, HOT_REFUSE } from './admission.ts';
import { PROBATION, PROTECTED, type Segments, WINDOW } from './segments.ts';

/** Where frequencies come from: a `FrequencySketch`, or the live policy for its shadows. */
export interface FrequencySource {
  frequency(h: number): number;
}

const PROTECTED_SHARE = 0.8;

export class WindowSlru {
  readonly s: Segments;
  admission: Admission;
  /**
   * xorshift32 state for the hash-flooding coin. It lives in a typed array
   * because its values pass 2^31: kept in a plain field, the first such
   * value would turn the field from small integer to double, which changes
   * the object's hidden class and throws away all optimised code using it.
   */
  private readonly coin = new Uint32Array([0x2545f491]);
  private windowMax = 0;
  /** NaN until sized: a first value that is not a small integer makes the field a double from the start (see `coin`). */
  private protectedMax = Number.NaN;

  constructor(segments: Segments, admission: Admission) {
    this.s = segments;
    this.admission = admission;
  }

  get rng(): number {
    return this.coin[0] as number;
  }

  set rng(state: number) {
    this.coin[0] = state;
  }

  /** Sizes the regions for `maxWeight` with the window at `windowFraction` of it. */
  resizeRegions(maxWeight: number, windowFraction: number): void {
    this.windowMax = Math.round(windowFraction * maxWeight);
    this.protectedMax = PROTECTED_SHARE * (maxWeight - this.windowMax);
  }

  /** A hit: recency within its region, probation → protected. */
  touch(id: number): void {
    const s = this.s;
    const segment = s.segment[id] as number;
    if (segment === PROBATION) {
      s.moveToBack(PROTECTED, id);
      if ((s.weightOf[PROTECTED] as number) > this.protectedMax) this.rebalance();
    } else {
      s.moveToBack(segment, id);
    }
  }

  /** Demotes protected overflow to probation and hands window overflow to main (no eviction). */
  rebalance(): void {
    const s = this.s;
    while ((s.weightOf[PROTECTED] as number) > this.protectedMax) {
      s.moveToBack(PROBATION, s.first(PROTECTED));
    }
    while ((s.weightOf[WINDOW] as number) > this.windowMax) {
      s.moveToBack(PROBATION, s.first(WINDOW));
    }
  }

  /** One eviction step: returns the entry to remove (still linked). Needs a resident entry. */
  nextLoser(source: FrequencySource): number {
    const s = this.s;
    let victim = s.first(PROBATION);
    if (victim < 0) victim = s.first(PROTECTED);
    const candidate = (s.weightOf[WINDOW] as number) > this.windowMax ? s.first(WINDOW) : -1;
    if (candidate < 0) return victim < 0 ? s.first(WINDOW) : victim;
    if (victim < 0) return candidate;
    if (!this.admit(candidate, victim, source)) return candidate;
    s.moveToBack(PROBATION, candidate);
    return victim;
  }

  /** True when the window holds more than its share (call `rebalance` after evicting). */
  get windowOverflows(): boolean {
    return (this.s.weightOf[WINDOW] as number) > this.windowMax;
  }

  private admit(candidate: number, victim: number, source: FrequencySource): boolean {
    const s = this.s;
    const verdict = admissionVerdict(
      this.admission,
      source.frequency(s.hash[candidate] as number),
      source.frequency(s.hash[victim] as number),
      s.prior[candidate] as number,
      s.seen[victim] as number,
    );
    if (verdict !== HOT_REFUSE) return verdict === ADMIT;
    const [admit, next] = floodCoin(this.rng);
    this.rng = next;
    return admit;
  }
}

/**
 * The hill climber that sizes W-TinyLFU's window, after Caffeine's
 * `BoundedLocalCache.climb`/`determineAdjustment` (Einziger, Eytan,
 * Friedman & Manes, "Adaptive Software Cache Management", Middleware 2018):
 * sample the hit rate over a period of requests; if it improved since the
 * previous sample keep stepping the window the same way, otherwise reverse;
 * the step decays by 2% a sample and restarts at 6.25% of the capacity when
 * the hit rate jumps by 5 points or more (a workload change).
 *
 * Deviation: the sample period is passed in (the sketch's W = 10 × expected
 * entries) rather than read from the sketch, so the climber stays a small
 * pure state machine that the policy snapshots.
 *
 * @example
 * const climber = new HillClimber(1000);
 * const delta = climber.record(true, 10_000); // 0 until a sample completes
 */

const STEP_FRACTION = 0.0625;
const STEP_DECAY = 0.98;
const RESTART_THRESHOLD = 0.05;

export interface ClimberState {
  hits: number;
  requests: number;
  previousHitRate: number;
  step: number;
}

export class HillClimber {
  private hits = 0;
  private requests = 0;
  private previousHitRate = 0;
  /** Signed step in weight units; the first sample shrinks the window. */
  private step: number;
  private readonly maximum: number;

  constructor(maximum: number) {
    this.maximum = maximum;
    this.step = -STEP_FRACTION * maximum;
  }

  /**
   * Counts one request; returns the signed change of the window's size (in
   * weight units) when a sample of `period` requests completes, else 0.
   */
  record(hit: boolean, period: number): number {
    if (hit) this.hits++;
    if (++this.requests < period) return 0;
    const hitRate = this.hits / this.requests;
    const change = hitRate - this.previousHitRate;
    const amount = change >= 0 ? this.step : -this.step;
    this.step =
      Math.abs(change) >= RESTART_THRESHOLD
        ? STEP_FRACTION * this.maximum * (amount >= 0 ? 1 : -1)
        : STEP_DECAY * amount;
    this.previousHitRate = hitRate;
    this.hits = 0;
    this.requests = 0;
    return amount;
  }

  save(): ClimberState {
    return {
      hits: this.hits,
      requests: this.requests,
      previousHitRate: this.previousHitRate,
      step: this.step,
    };
  }

  static load(state: ClimberState, maximum: number): HillClimber {
    const climber = new HillClimber(maximum);
    climber.hits = state.hits;
    climber.requests = state.requests;
    climber.previousHitRate = state.previousHitRate;
    climber.step = state.step;
    return climber;
  }
}

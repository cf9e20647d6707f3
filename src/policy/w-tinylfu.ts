/**
 * W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", ACM TOS 2017), laid out as Caffeine does:
 *
 *   new entry → window LRU (1% of maxWeight at first)
 *             → on window overflow, the window's LRU entry is a *candidate*:
 *               it enters the main SLRU (probation 20% / protected 80%) only
 *               if its sketch frequency beats main's victim's (probation LRU,
 *               else protected LRU); the loser is evicted
 *   hit in probation → protected; protected overflow → back to probation
 *
 * Frequencies come from `FrequencySketch` (4-bit count-min, doorkeeper,
 * aging every 10 × capacity accesses); only reads (`get`) count as accesses,
 * so a write after a read miss is not counted twice. Ties go to the
 * resident victim, except that a candidate with frequency ≥ 6 is admitted
 * with probability 1/128 from a seeded PRNG (Caffeine's defence against
 * hash flooding); decisions are deterministic. The window's share adapts by
 * `HillClimber` (Caffeine's `climb`).
 *
 * Size-aware: regions are sized in weight (`maxWeight`), candidates and
 * victims are compared one for one until the newcomer fits, and
 * `maxEntries` is honoured as a second limit. Expired entries are evicted
 * before any live one, and before the admission contest.
 *
 * The same class, with `climb: false` and a fixed `windowFraction` or
 * `admission: false`, is the building block of the adaptive default policy
 * (`adaptive.ts`), which passes a precomputed hash through `getHashed`.
 *
 * @example
 * const policy = new WTinyLfuPolicy({ maxWeight: 10_000 });
 * if (!policy.get('k', now)) policy.set('k', { size: 1, expiresAt: Infinity }, now);
 */
import { ExpiryQueue } from './expiry-queue.ts';
import { FrequencySketch, type SketchState } from './frequency-sketch.ts';
import { type ClimberState, HillClimber } from './hill-climber.ts';
import { hashKey } from './key-hash.ts';
import type { Capacity, EntryInfo, Policy, PolicySnapshot } from './policy.ts';
import { PROBATION, PROTECTED, Segments, WINDOW } from './segments.ts';
import { loadEntries, type SavedEntries, saveEntries } from './w-tinylfu-snapshot.ts';

export interface WTinyLfuOptions {
  /** Registry name reported by `name`. Default `w-tinylfu`. */
  name?: string;
  /** Initial share of `maxWeight` given to the window, 0..1. Default 0.01. */
  windowFraction?: number;
  /** Adapt the window share by hill climbing. Default true. */
  climb?: boolean;
  /** Apply the TinyLFU admission filter to window candidates. Default true. */
  admission?: boolean;
  /** A candidate must beat the victim's frequency by more than this. Default 0. */
  margin?: number;
}

interface WTinyLfuState {
  windowFraction: number;
  admission: boolean;
  margin: number;
  rng: number;
  entries: SavedEntries;
  sketch: SketchState;
  climber: ClimberState | null;
}

const PROTECTED_SHARE = 0.8;
const HASH_FLOOD_FREQUENCY = 6;
/** Sketches start at most this big and double with the resident count (byte budgets are huge). */
const INITIAL_SKETCH_ENTRIES = 1 << 16;

export class WTinyLfuPolicy implements Policy {
  readonly name: string;
  private limits: Capacity;
  private readonly index = new Map<string, number>();
  private readonly s: Segments;
  private sketch: FrequencySketch;
  private readonly expiry = new ExpiryQueue();
  private climber: HillClimber | undefined;
  private fraction: number;
  private windowMax = 0;
  private protectedMax = 0;
  private totalWeight = 0;
  private admission: boolean;
  private margin: number;
  /** xorshift32 state for the hash-flooding tie-break. */
  private rng = 0x2545f491;
  private lastKey = '';
  private lastHash = hashKey('');

  constructor(capacity: Capacity, options: WTinyLfuOptions = {}) {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.name = options.name ?? 'w-tinylfu';
    this.limits = { ...capacity };
    this.fraction = options.windowFraction ?? 0.01;
    this.admission = options.admission ?? true;
    this.margin = options.margin ?? 0;
    const expected = Math.min(capacity.maxEntries ?? capacity.maxWeight, capacity.maxWeight);
    this.sketch = new FrequencySketch(Math.min(expected, INITIAL_SKETCH_ENTRIES));
    this.s = new Segments(Math.min(expected, INITIAL_SKETCH_ENTRIES));
    this.climber = (options.climb ?? true) ? new HillClimber(capacity.maxWeight) : undefined;
    this.sizeRegions();
  }

  get capacity(): Readonly<Capacity> {
    return this.limits;
  }
  get count(): number {
    return this.index.size;
  }
  get weight(): number {
    return this.totalWeight;
  }
  /** The window's current share of `maxWeight`. */
  get windowFraction(): number {
    return this.fraction;
  }
  has(key: string): boolean {
    return this.index.has(key);
  }
  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  get(key: string, now: number): boolean {
    const h = hashKey(key);
    this.lastKey = key;
    this.lastHash = h;
    const hit = this.getHashed(key, h, now);
    if (this.climber !== undefined) {
      const delta = this.climber.record(hit, this.sketch.samplePeriod);
      if (delta !== 0) this.setWindowFraction(this.fraction + delta / (this.limits.maxWeight || 1));
    }
    return hit;
  }

  /** `get` with the key's `hashKey` already computed; does not drive the climber. */
  getHashed(key: string, h: number, now: number): boolean {
    this.sketch.increment(h);
    const id = this.index.get(key);
    if (id === undefined) return false;
    if (now >= (this.s.expiresAt[id] as number)) {
      this.removeId(id);
      return false;
    }
    this.touch(id);
    return true;
  }

  set(key: string, info: EntryInfo, now: number): string[] {
    const s = this.s;
    const size = info.size;
    let id = this.index.get(key);
    const limits = this.limits;
    if (size > limits.maxWeight || (limits.maxEntries !== undefined && limits.maxEntries < 1)) {
      if (id !== undefined) this.removeId(id);
      return [key];
    }
    if (id !== undefined) {
      // An update keeps the key's history (and counts as a use of it).
      this.totalWeight += size - (s.size[id] as number);
      s.resize(id, size);
      this.setExpiry(id, key, info.expiresAt);
      s.priority[id] = info.priority ?? 1;
      s.cost[id] = info.cost ?? 1;
      this.touch(id);
    } else {
      const h = key === this.lastKey ? this.lastHash : hashKey(key);
      id = s.alloc(key, size, Number.POSITIVE_INFINITY, h, info.priority ?? 1, info.cost ?? 1);
      this.index.set(key, id);
      s.pushBack(WINDOW, id);
      this.totalWeight += size;
      this.setExpiry(id, key, info.expiresAt);
    }
    const evicted: string[] = [];
    this.evict(now, evicted);
    if (this.index.size > this.sketch.capacity) this.sketch.ensureCapacity(this.index.size);
    return evicted;
  }

  resize(capacity: Capacity, now: number): string[] {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.limits = { ...capacity };
    this.sizeRegions();
    const evicted: string[] = [];
    this.evict(now, evicted);
    return evicted;
  }

  delete(key: string): boolean {
    const id = this.index.get(key);
    if (id === undefined) return false;
    this.removeId(id);
    return true;
  }

  /** Sets the window's share of `maxWeight` (clamped to 0..1); entries move lazily. */
  setWindowFraction(fraction: number): void {
    this.fraction = Math.min(1, Math.max(0, fraction));
    this.sizeRegions();
    this.rebalance();
  }

  /** Turns the TinyLFU admission filter on or off (off: every candidate enters main). */
  setAdmission(on: boolean, margin = this.margin): void {
    this.admission = on;
    this.margin = margin;
  }

  snapshot(): PolicySnapshot {
    const state: WTinyLfuState = {
      windowFraction: this.fraction,
      admission: this.admission,
      margin: this.margin,
      rng: this.rng,
      entries: saveEntries(this.s),
      sketch: this.sketch.save(),
      climber: this.climber?.save() ?? null,
    };
    return { name: this.name, version: 1, state };
  }

  static restore(
    snapshot: PolicySnapshot,
    capacity: Capacity,
    options: WTinyLfuOptions = {},
  ): WTinyLfuPolicy {
    const state = snapshot.state as WTinyLfuState;
    const policy = new WTinyLfuPolicy(capacity, {
      ...options,
      name: snapshot.name,
      windowFraction: state.windowFraction,
      admission: state.admission,
      margin: state.margin,
      climb: state.climber !== null,
    });
    policy.rng = state.rng;
    policy.sketch = FrequencySketch.load(state.sketch);
    if (state.climber) policy.climber = HillClimber.load(state.climber, capacity.maxWeight);
    loadEntries(state.entries, (segment, key, size, expiresAt, priority, cost) => {
      const id = policy.s.alloc(key, size, Number.POSITIVE_INFINITY, hashKey(key), priority, cost);
      policy.index.set(key, id);
      policy.s.pushBack(segment, id);
      policy.totalWeight += size;
      policy.setExpiry(id, key, expiresAt);
    });
    return policy;
  }

  private sizeRegions(): void {
    const max = this.limits.maxWeight;
    this.windowMax = Math.round(this.fraction * max);
    this.protectedMax = PROTECTED_SHARE * (max - this.windowMax);
  }

  /** A hit: recency within its segment, probation → protected. */
  private touch(id: number): void {
    const s = this.s;
    const segment = s.segment[id];
    if (segment === PROBATION) {
      s.moveToBack(PROTECTED, id);
      if ((s.weightOf[PROTECTED] as number) > this.protectedMax) this.rebalance();
    } else {
      s.moveToBack(segment as number, id);
    }
  }

  /** Demotes protected overflow to probation and moves window overflow into main (no eviction). */
  private rebalance(): void {
    const s = this.s;
    while ((s.weightOf[PROTECTED] as number) > this.protectedMax) {
      s.moveToBack(PROBATION, s.first(PROTECTED));
    }
    while ((s.weightOf[WINDOW] as number) > this.windowMax) {
      s.moveToBack(PROBATION, s.first(WINDOW));
    }
  }

  private overCapacity(): boolean {
    const limits = this.limits;
    return (
      this.totalWeight > limits.maxWeight ||
      (limits.maxEntries !== undefined && this.index.size > limits.maxEntries)
    );
  }

  /** Evicts until the limits hold: expired entries first, then window candidates against main's victim. */
  private evict(now: number, evicted: string[]): void {
    const s = this.s;
    while (this.overCapacity()) {
      const key = this.expiry.peekExpired(now);
      if (key === undefined) break;
      this.removeId(this.index.get(key) as number);
      evicted.push(key);
    }
    while (this.overCapacity()) {
      let victim = s.first(PROBATION);
      if (victim < 0) victim = s.first(PROTECTED);
      const candidate = (s.weightOf[WINDOW] as number) > this.windowMax ? s.first(WINDOW) : -1;
      let loser: number;
      if (candidate < 0) loser = victim < 0 ? s.first(WINDOW) : victim;
      else if (victim < 0) loser = candidate;
      else if (this.admit(candidate, victim)) {
        loser = victim;
        s.moveToBack(PROBATION, candidate);
      } else loser = candidate;
      evicted.push(s.keys[loser] as string);
      this.removeId(loser);
    }
    if ((s.weightOf[WINDOW] as number) > this.windowMax) this.rebalance();
  }

  private admit(candidate: number, victim: number): boolean {
    if (!this.admission) return true;
    const s = this.s;
    const candidateFrequency = this.sketch.frequency(s.hash[candidate] as number);
    const victimFrequency = this.sketch.frequency(s.hash[victim] as number);
    if (candidateFrequency > victimFrequency + this.margin) return true;
    if (candidateFrequency < HASH_FLOOD_FREQUENCY) return false;
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return (x & 127) === 0;
  }

  private setExpiry(id: number, key: string, expiresAt: number): void {
    const s = this.s;
    const before = s.expiresAt[id] as number;
    s.expiresAt[id] = expiresAt;
    if (Number.isFinite(expiresAt) || Number.isFinite(before)) this.expiry.set(key, expiresAt);
  }

  private removeId(id: number): void {
    const s = this.s;
    const key = s.keys[id] as string;
    this.index.delete(key);
    this.totalWeight -= s.size[id] as number;
    if (Number.isFinite(s.expiresAt[id] as number)) this.expiry.delete(key);
    s.release(id);
  }
}

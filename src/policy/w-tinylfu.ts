/**
 * W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", ACM TOS 2017), laid out as Caffeine does: a window LRU
 * (1% of maxWeight at first) in front of a segmented-LRU main (probation
 * 20% / protected 80%); a window evictee enters main only if the admission
 * rule prefers it to main's victim (`window-slru.ts`, `admission.ts`).
 *
 * Frequencies come from `FrequencySketch` (4-bit count-min, doorkeeper,
 * aging every 10 × capacity accesses); reads count as accesses, and so
 * does the write of a new key unless it fills the miss just read (a
 * read-through fill is not counted twice). The default rule is
 * TinyLFU's (with Caffeine's seeded 1/128 entry for hot losers), so
 * decisions are deterministic. The window's share adapts by `HillClimber`
 * (Caffeine's `climb`). `LastSeen` remembers when keys were read, for the
 * `frequency-recency` rule.
 *
 * Size-aware: regions are sized in weight (`maxWeight`), candidates and
 * victims are compared one for one until the newcomer fits, and
 * `maxEntries` is honoured as a second limit. Expired entries are evicted
 * before any live one, and before the admission contest.
 *
 * With `climb: false` the same class is the live half of the adaptive
 * default policy (`adaptive.ts`), which reads through `read` (then takes the
 * key's hash from `lastHash`) and sets the window share itself.
 *
 * Hot path: a hit takes the key's hash from its slot (stored when it came
 * in) instead of hashing the string again, and the write that fills a miss
 * skips the index lookup its read just made.
 *
 * @example
 * const policy = new WTinyLfuPolicy({ maxWeight: 10_000 });
 * if (!policy.get('k', now)) policy.set('k', { size: 1, expiresAt: Infinity }, now);
 */
import type { Admission } from './admission.ts';
import { ExpiryQueue } from './expiry-queue.ts';
import { FrequencySketch } from './frequency-sketch.ts';
import { HillClimber } from './hill-climber.ts';
import { hashKey } from './key-hash.ts';
import { LastSeen, NEVER } from './last-seen.ts';
import type { Capacity, EntryInfo, Policy, PolicySnapshot } from './policy.ts';
import { Segments, WINDOW } from './segments.ts';
import { loadPolicy, savePolicy, type WTinyLfuState } from './w-tinylfu-snapshot.ts';
import { WindowSlru } from './window-slru.ts';

export interface WTinyLfuOptions {
  /** Registry name reported by `name`. Default `w-tinylfu`. */
  name?: string;
  /** Initial share of `maxWeight` given to the window, 0..1. Default 0.01. */
  windowFraction?: number;
  /** Adapt the window share by hill climbing. Default true. */
  climb?: boolean;
  /** How window candidates get into main (`admission.ts`). Default `frequency`. */
  admission?: Admission;
}

/** Sketches start at most this big and double with the resident count (byte budgets are huge). */
const INITIAL_SKETCH_ENTRIES = 1 << 12;

export class WTinyLfuPolicy implements Policy {
  readonly name: string;
  /** Everything here is read and written by `w-tinylfu-snapshot.ts` too. */
  limits: Capacity;
  readonly index = new Map<string, number>();
  readonly s: Segments;
  readonly regions: WindowSlru;
  sketch: FrequencySketch;
  /** Read times, kept only for the `frequency-recency` rule (and always by `adaptive`). */
  seen: LastSeen | undefined;
  climber: HillClimber | undefined;
  readonly expiry = new ExpiryQueue();
  fraction: number;
  totalWeight = 0;
  /** Reads so far (the access numbers `LastSeen` and `Segments.seen` hold). */
  clock = 0;
  lastKey = '';
  lastHash = hashKey('');
  /** When the last key read was read before that (`NEVER` if unknown). */
  lastPrior = NEVER;
  /** The last key read missed and has not been written since (its fill is not a new access). */
  missPending = false;
  /** The last key read's resident size if it hit, else -1. */
  lastHitSize = -1;
  private memo = 0;
  private memoClock = -1;

  constructor(capacity: Capacity, options: WTinyLfuOptions = {}) {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.name = options.name ?? 'w-tinylfu';
    this.limits = { ...capacity };
    this.fraction = options.windowFraction ?? 0.01;
    const expected = Math.min(capacity.maxEntries ?? capacity.maxWeight, capacity.maxWeight);
    const initial = Math.min(expected, INITIAL_SKETCH_ENTRIES);
    this.sketch = new FrequencySketch(initial);
    const admission = options.admission ?? 'frequency';
    this.seen = admission === 'frequency-recency' ? new LastSeen(initial) : undefined;
    this.s = new Segments(initial);
    this.regions = new WindowSlru(this.s, admission);
    this.climber = (options.climb ?? true) ? new HillClimber(capacity.maxWeight) : undefined;
    this.regions.resizeRegions(capacity.maxWeight, this.fraction);
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): WTinyLfuPolicy {
    const state = snapshot.state as WTinyLfuState;
    const policy = new WTinyLfuPolicy(capacity, {
      name: snapshot.name,
      windowFraction: state.windowFraction,
      admission: state.admission,
      climb: state.climber !== null,
    });
    loadPolicy(policy, state);
    return policy;
  }

  snapshot(): PolicySnapshot {
    return { name: this.name, version: 1, state: savePolicy(this) };
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
    const hit = this.read(key, now);
    if (this.climber !== undefined) {
      const delta = this.climber.record(hit, this.sketch.samplePeriod);
      if (delta !== 0) this.setWindowFraction(this.fraction + delta / (this.limits.maxWeight || 1));
    }
    return hit;
  }

  /** `get` without driving the climber; afterwards `lastHash` is the key's `hashKey`. */
  read(key: string, now: number): boolean {
    const s = this.s;
    this.lastHitSize = -1;
    this.missPending = true;
    const id = this.index.get(key);
    if (id === undefined) {
      this.recordAccess(key, hashKey(key));
      return false;
    }
    // A resident's hash was stored when it came in: no need to hash the string again.
    const clock = this.recordAccess(key, s.hash[id] as number);
    if (now >= (s.expiresAt[id] as number)) {
      this.removeId(id);
      return false;
    }
    this.missPending = false;
    this.regions.touch(id);
    s.seen[id] = clock;
    this.lastHitSize = s.size[id] as number;
    return true;
  }

  set(key: string, info: EntryInfo, now: number): string[] {
    const s = this.s;
    const size = info.size;
    // The key just read and missed is not resident (nothing inserts it but this branch).
    let id = this.missPending && key === this.lastKey ? undefined : this.index.get(key);
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
      this.regions.touch(id);
    } else {
      // A write is the key's access unless it fills the miss just read (read-through).
      if (!(this.missPending && key === this.lastKey)) this.recordAccess(key, this.hashOf(key));
      this.missPending = false;
      id = s.alloc(key, size, Number.POSITIVE_INFINITY, this.lastHash, info.priority ?? 1, 1);
      s.cost[id] = info.cost ?? 1;
      this.index.set(key, id);
      s.pushBack(WINDOW, id);
      s.seen[id] = this.clock;
      s.prior[id] = this.lastPrior;
      this.totalWeight += size;
      this.setExpiry(id, key, info.expiresAt);
    }
    const evicted: string[] = [];
    this.evict(now, evicted);
    if (this.index.size > this.sketch.capacity) {
      this.sketch.ensureCapacity(this.index.size);
      this.seen?.ensureCapacity(this.index.size);
    }
    return evicted;
  }

  resize(capacity: Capacity, now: number): string[] {
    if (!(capacity.maxWeight >= 0)) throw new RangeError('maxWeight must be a non-negative number');
    this.limits = { ...capacity };
    this.regions.resizeRegions(capacity.maxWeight, this.fraction);
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
    this.regions.resizeRegions(this.limits.maxWeight, this.fraction);
    this.regions.rebalance();
  }

  /** Changes the admission rule for candidates from now on. */
  setAdmission(rule: Admission): void {
    this.regions.admission = rule;
    if (rule === 'frequency-recency' && this.seen === undefined) {
      this.seen = new LastSeen(this.sketch.capacity);
    }
  }

  /** The sketch's frequency estimate for hash `h` (what admission compares). */
  frequency(h: number): number {
    // Shadows ask for the key just read once each; the sketch has not moved since.
    if (h === this.lastHash && this.memoClock === this.clock) return this.memo;
    const f = this.sketch.frequency(h);
    if (h === this.lastHash) {
      this.memo = f;
      this.memoClock = this.clock;
    }
    return f;
  }

  /** Reads so far: the access number of the last one. */
  get reads(): number {
    return this.clock;
  }

  /** When the key last read had been read before that (`NEVER` if unknown). */
  get priorRead(): number {
    return this.lastPrior;
  }

  /** `hashKey(key)`, free when `key` was the last one read. */
  hashOf(key: string): number {
    return key === this.lastKey ? this.lastHash : hashKey(key);
  }

  /** Counts an access of `key` (hash `h`) in the sketch and the read clock; returns its number. */
  private recordAccess(key: string, h: number): number {
    const clock = ++this.clock;
    this.lastKey = key;
    this.lastHash = h;
    this.lastPrior = this.seen === undefined ? NEVER : this.seen.record(h, clock);
    this.sketch.increment(h);
    return clock;
  }

  /** Inserts a restored entry at the back of `segment` (snapshot loading only). */
  restoreEntry(segment: number, key: string, info: EntryInfo, seen: number, prior: number): void {
    const s = this.s;
    const id = s.alloc(key, info.size, Number.POSITIVE_INFINITY, hashKey(key), 1, 1);
    s.priority[id] = info.priority ?? 1;
    s.cost[id] = info.cost ?? 1;
    this.index.set(key, id);
    s.pushBack(segment, id);
    s.seen[id] = seen;
    s.prior[id] = prior;
    this.totalWeight += info.size;
    this.setExpiry(id, key, info.expiresAt);
  }

  /** Evicts until the limits hold: expired entries first, then window candidates against main's victim. */
  private evict(now: number, evicted: string[]): void {
    // Expiry first, when anything can expire (trace replays never set an expiry).
    while (this.expiry.size > 0 && this.overCapacity()) {
      const key = this.expiry.peekExpired(now);
      if (key === undefined) break;
      this.removeId(this.index.get(key) as number);
      evicted.push(key);
    }
    while (this.overCapacity()) {
      const loser = this.regions.nextLoser(this.sketch);
      evicted.push(this.s.keys[loser] as string);
      this.removeId(loser);
    }
    if (this.regions.windowOverflows) this.regions.rebalance();
  }

  private overCapacity(): boolean {
    const limits = this.limits;
    return (
      this.totalWeight > limits.maxWeight ||
      (limits.maxEntries !== undefined && this.index.size > limits.maxEntries)
    );
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

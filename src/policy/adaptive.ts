/**
 * The adaptive policy (issue 6's candidate default): W-TinyLFU whose
 * configuration (window share, admission filter) is chosen online by
 * miniature simulation (Waldspurger, Saemundsson, Ahmad & Park, "Cache
 * Modeling and Optimization using Miniature Simulations", USENIX ATC 2017),
 * with the `frequency-recency` admission rule (`admission.ts`) that keeps
 * loops stable without a separate knob.
 *
 * The live cache is a `WTinyLfuPolicy` without its hill climber. Beside it,
 * `MiniSim` runs one scaled-down shadow per candidate configuration (window
 * shares 0 to 90%, and an unfiltered SLRU) on a hash-sampled subset of the
 * keys (a quarter of them when the cache is small) and moves the live cache to a
 * configuration once its shadow has hit significantly more than the
 * current one's, by a paired t-test over epochs. A new window share takes
 * effect lazily, as entries move, so a switch never flushes the cache.
 *
 * Why not Caffeine's hill climber: on the shared traces no window share is
 * good everywhere (OLTP wants 15-30%, loops and multi2 none, scarab-recs
 * and sprite 70-90%, corda+loop+corda changes its mind twice), and the
 * climber's one hit-rate sample per period cannot tell a better window from
 * a workload phase (`w-tinylfu` gets 72.4% on scarab-recs at 100,000 where
 * a 90% window gets 75.9%). The shadows compare all shares on the same
 * requests at once.
 *
 * Cost: 8 shadows at a sample rate r cost about 8r mini-cache operations a
 * read (r = ¼ up to 8,000 entries, then 2,000 / entries).
 *
 * @example
 * const policy = new AdaptivePolicy({ maxWeight: 64 * 1024 * 1024 });
 * if (!policy.get(key, now)) policy.set(key, { size: bytes, expiresAt }, now);
 */
import { hashKey } from './key-hash.ts';
import { NEVER } from './last-seen.ts';
import { CONFIGS, type MiniConfig, MiniSim, type MiniSimState } from './mini-sim.ts';
import type { Capacity, EntryInfo, Policy, PolicySnapshot } from './policy.ts';
import { WTinyLfuPolicy } from './w-tinylfu.ts';

/** Reads between checks of the sampling rate (a power of two, minus one). */
const RETUNE_EVERY = 1023;

interface AdaptiveState {
  live: PolicySnapshot;
  sim: MiniSimState;
}

export class AdaptivePolicy implements Policy {
  readonly name = 'adaptive';
  private readonly live: WTinyLfuPolicy;
  private readonly sim: MiniSim;

  /** `restored` is for `restore` only. */
  constructor(capacity: Capacity, restored?: { live: WTinyLfuPolicy; sim: MiniSim }) {
    this.sim = restored?.sim ?? new MiniSim(capacity);
    this.live =
      restored?.live ??
      new WTinyLfuPolicy(capacity, {
        name: this.name,
        climb: false,
        windowFraction: (CONFIGS[this.sim.current] as MiniConfig).windowFraction,
        admission: (CONFIGS[this.sim.current] as MiniConfig).admission,
      });
  }

  static restore(snapshot: PolicySnapshot, capacity: Capacity): AdaptivePolicy {
    const state = snapshot.state as AdaptiveState;
    return new AdaptivePolicy(capacity, {
      live: WTinyLfuPolicy.restore(state.live, capacity),
      sim: MiniSim.load(state.sim, capacity),
    });
  }

  get capacity(): Readonly<Capacity> {
    return this.live.capacity;
  }
  get count(): number {
    return this.live.count;
  }
  get weight(): number {
    return this.live.weight;
  }
  /** The window share the live cache runs (for tests and diagnostics). */
  get windowFraction(): number {
    return this.live.windowFraction;
  }
  has(key: string): boolean {
    return this.live.has(key);
  }
  keys(): IterableIterator<string> {
    return this.live.keys();
  }

  get(key: string, now: number): boolean {
    const hit = this.live.read(key, now);
    const h = this.live.lastHash;
    if ((this.live.reads & RETUNE_EVERY) === 0) this.sim.retune(this.live);
    if (this.sim.sampled(h)) {
      const size = hit ? this.live.lastHitSize : undefined;
      if (this.sim.onGet(h, size, this.live)) this.apply();
    }
    return hit;
  }

  set(key: string, info: EntryInfo, now: number): string[] {
    const evicted = this.live.set(key, info, now);
    const h = this.live.hashOf(key);
    // A new key was just counted as accessed (read or written); shadows take its prior access.
    const prior = this.live.lastKey === key ? this.live.priorRead : NEVER;
    if (this.sim.sampled(h)) this.sim.onSet(h, info.size, prior, this.live);
    return evicted;
  }

  resize(capacity: Capacity, now: number): string[] {
    const evicted = this.live.resize(capacity, now);
    this.sim.resize(capacity, this.live);
    return evicted;
  }

  delete(key: string): boolean {
    const h = hashKey(key);
    if (this.sim.sampled(h)) this.sim.onDelete(h);
    return this.live.delete(key);
  }

  snapshot(): PolicySnapshot {
    const state: AdaptiveState = { live: this.live.snapshot(), sim: this.sim.save() };
    return { name: this.name, version: 1, state };
  }

  private apply(): void {
    const config = CONFIGS[this.sim.current] as MiniConfig;
    this.live.setWindowFraction(config.windowFraction);
    this.live.setAdmission(config.admission);
  }
}

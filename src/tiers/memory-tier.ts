/**
 * An in-process tier: a Map with expiry. Used by unit tests and as the
 * stand-in L3 when none is configured. Test doubles live here too:
 * `ChaosTier` fails or stalls on demand; `CountingTier` counts calls.
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { Entry } from '../entry.ts';
import type { Tier, Tombstone } from './tier.ts';

export class MemoryTier implements Tier {
  readonly name = 'memory' as const;
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock = systemClock) {}

  async get(namespace: string, key: string): Promise<Entry | null> {
    const id = `${namespace}\u0000${key}`;
    const entry = this.entries.get(id);
    if (!entry) return null;
    if (entry.meta.expiresAt <= this.clock.now()) {
      this.entries.delete(id);
      return null;
    }
    return entry;
  }

  async set(entry: Entry): Promise<void> {
    this.entries.set(`${entry.meta.namespace}\u0000${entry.meta.key}`, entry);
  }

  async delete(namespace: string, key: string): Promise<void> {
    this.entries.delete(`${namespace}\u0000${key}`);
  }
}

/** A tier that throws or stalls while `mode` says so, wrapping a real one. */
export class ChaosTier implements Tier {
  mode: 'ok' | 'throw' | 'hang' = 'ok';
  constructor(private readonly inner: Tier) {}
  get name() {
    return this.inner.name;
  }
  private async gate(): Promise<void> {
    if (this.mode === 'throw') throw new Error('chaos: tier down');
    if (this.mode === 'hang') await new Promise(() => {});
  }
  async get(namespace: string, key: string) {
    await this.gate();
    return this.inner.get(namespace, key);
  }
  async set(entry: Entry) {
    await this.gate();
    return this.inner.set(entry);
  }
  async delete(namespace: string, key: string, tombstone?: Tombstone) {
    await this.gate();
    return this.inner.delete(namespace, key, tombstone);
  }
}

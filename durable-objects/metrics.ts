/**
 * MetricsDO: one per region, the sum of what every isolate counted. Isolates
 * ship deltas (at most once a second, and before serving /metrics), so
 * scrapes see monotonic counters however many isolates served traffic.
 * Counts live in memory: an eviction resets them, which Prometheus handles
 * as a counter reset.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import type { Snapshot } from '../src/metrics/registry.ts';
import { Registry } from '../src/metrics/registry.ts';

export class MetricsDO extends DurableObject<Env> {
  private readonly registry = new Registry();

  async merge(snapshot: Snapshot): Promise<void> {
    this.registry.merge(snapshot);
  }

  async render(snapshot?: Snapshot): Promise<string> {
    if (snapshot) this.registry.merge(snapshot);
    return this.registry.render();
  }
}

/**
 * The isolate's metrics: counts requests into a local registry and ships the
 * deltas to the region's MetricsDO at most once a second (from `waitUntil`,
 * off the response path), and on every /metrics scrape.
 */
import type { Env } from '../env.ts';
import { configFor } from '../env.ts';
import { Registry } from './registry.ts';

const FLUSH_INTERVAL_MS = 1000;

/** Isolate-local: metrics are data, not I/O, so sharing them across requests is safe. */
export const isolateMetrics = new Registry();
let lastFlush = 0;

function metricsStub(env: Env) {
  return env.METRICS.get(env.METRICS.idFromName(`${configFor(env).region}:metrics`));
}

/** Ships pending deltas if the last flush is old enough. Never throws. */
export async function maybeFlush(env: Env, now = Date.now()): Promise<void> {
  if (isolateMetrics.isEmpty() || now - lastFlush < FLUSH_INTERVAL_MS) return;
  lastFlush = now;
  const snapshot = isolateMetrics.drain();
  try {
    await metricsStub(env).merge(snapshot);
  } catch {
    isolateMetrics.merge(snapshot); // keep the counts for the next flush
  }
}

/** Flushes this isolate's deltas and returns the region's Prometheus text. */
export async function renderMetrics(env: Env): Promise<string> {
  lastFlush = Date.now();
  const snapshot = isolateMetrics.drain();
  try {
    return await metricsStub(env).render(snapshot);
  } catch (err) {
    isolateMetrics.merge(snapshot);
    throw err;
  }
}

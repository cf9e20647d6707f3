/**
 * A tiny replay for golden-value tests: reads a `lines` trace from the shared
 * set (../shared/traces beside the repo, see its README) and replays it cold
 * with size 1 per entry, `get` then `set` on a miss, as the README's
 * reference simulator does. Tests skip when the traces are not there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Policy } from '../../../src/policy/policy.ts';

// STRATA_TRACES_DIR overrides ../shared/traces beside the repository (as CI has it).
const TRACES = process.env.STRATA_TRACES_DIR
  ? `${process.env.STRATA_TRACES_DIR.replace(/\/$/, '')}/`
  : fileURLToPath(new URL('../../../../shared/traces/', import.meta.url));
const cache = new Map<string, string[]>();

export function haveTraces(): boolean {
  return existsSync(`${TRACES}glimpse.trace.gz`);
}

/** Keys of a `lines` trace, as opaque strings. */
export function readLinesTrace(name: string): string[] {
  let keys = cache.get(name);
  if (keys === undefined) {
    const text = gunzipSync(readFileSync(`${TRACES}${name}.trace.gz`)).toString('latin1');
    keys = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    cache.set(name, keys);
  }
  return keys;
}

/** Object hit ratio in percent (the README's unit). */
export function hitPercent(policy: Policy, keys: readonly string[]): number {
  const forever = { size: 1, expiresAt: Number.POSITIVE_INFINITY };
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (policy.get(key, i)) hits++;
    else policy.set(key, forever, i);
  }
  return (100 * hits) / keys.length;
}

/** The small traces and sizes with golden values in the traces README. */
export type GoldenRow = [trace: string, size: number, percent: number];

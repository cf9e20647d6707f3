/**
 * The bench's report: the Markdown table with its notes, and the ratios, from
 * the measured series. Pure formatting: no I/O.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { LoadResult } from './load.ts';

/** One measured series: a Strata scenario or a baseline primitive. */
export interface Measurement {
  name: string;
  worker: string;
  request: string;
  result: LoadResult;
  /** Expected start of `Cache-Status` and the fraction of 2xx answers that had it. */
  expectedCacheStatus?: string;
  tierHitFraction?: number;
}

export interface ScenarioRow {
  scenario: string;
  strata: Measurement;
  baseline: Measurement;
}

/** What the table's heading states about the run. */
export interface TableOptions {
  connections: number;
  durationS: number;
  keys: number;
  valueBytes: number;
}

/** What the table's footer states about the machine. */
export interface MachineLine {
  cpus: number;
  cpuModel: string;
  node: string;
  wrangler: string;
  loadAverageBefore: number[];
}

/**
 * Strata ÷ baseline: p50 and p99 latency, and throughput (null when the baseline has none).
 * @example ratios(strataGet, cacheMatch).p50 // 1.10
 */
export function ratios(strata: Measurement, baseline: Measurement) {
  const b = baseline.result;
  const s = strata.result;
  return {
    p50: b.latencyMs.p50 ? s.latencyMs.p50 / b.latencyMs.p50 : null,
    p99: b.latencyMs.p99 ? s.latencyMs.p99 / b.latencyMs.p99 : null,
    throughput: b.rps ? s.rps / b.rps : null,
  };
}

/**
 * The Markdown table (one row per Strata scenario and baseline) and its notes.
 * @example console.log(markdownTable({ opts, floor, rows, machine, git, wallS, command: 'npm run bench' }));
 */
export function markdownTable(run: {
  opts: TableOptions;
  floor: Measurement;
  rows: ScenarioRow[];
  machine: MachineLine;
  git: { commit: string; dirty: boolean };
  wallS: number;
  command: string;
}): string {
  const { opts, floor, rows, machine, git, wallS } = run;
  const ms = (n: number) => n.toFixed(2);
  const rps = (n: number) => n.toFixed(0);
  const x = (n: number | null) => (n === null ? '–' : `${n.toFixed(2)}×`);
  const errors = (m: Measurement) => String(m.result.requests - m.result.ok);
  const lines = [
    `### Strata vs bare primitives (${opts.connections} connections, ${opts.durationS} s each, ${opts.keys} keys, ${opts.valueBytes} B values)`,
    '',
    '| scenario | requests | req/s | p50 ms | p99 ms | errors | tier hit | baseline | req/s | p50 ms | p99 ms | p50 ratio | throughput ratio |',
    '|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|',
    `| floor | | | | | | | \`${floor.request.replace(/\?.*/, '')}\` | ${rps(floor.result.rps)} | ${ms(floor.result.latencyMs.p50)} | ${ms(floor.result.latencyMs.p99)} | | |`,
  ];
  for (const r of rows) {
    const s = r.strata;
    const b = r.baseline;
    const q = ratios(s, b);
    const hit = s.tierHitFraction === undefined ? '–' : pct(s.tierHitFraction);
    const baseErrors = b.result.requests - b.result.ok;
    lines.push(
      `| ${r.scenario} | ${s.result.requests} | ${rps(s.result.rps)} | ${ms(s.result.latencyMs.p50)} | ${ms(s.result.latencyMs.p99)} | ${errors(s)} | ${hit} | \`${b.request.replace(/\?.*/, '')}\`${baseErrors ? ` (${baseErrors} errors)` : ''} | ${rps(b.result.rps)} | ${ms(b.result.latencyMs.p50)} | ${ms(b.result.latencyMs.p99)} | ${x(q.p50)} | ${x(q.throughput)} |`,
    );
  }
  const put = rows.filter((r) => r.scenario === 'PUT');
  const notes = [
    '',
    `Command: \`${run.command}\` · ${machine.cpus} CPUs (${machine.cpuModel}) · Node ${machine.node} · wrangler ${machine.wrangler} · commit ${git.commit.slice(0, 12)}${git.dirty ? ' + uncommitted changes' : ''} · load average at start ${(machine.loadAverageBefore[0] ?? 0).toFixed(2)} · whole run ${wallS.toFixed(0)} s`,
    '',
    '- p50 ratio = Strata p50 ÷ baseline p50; throughput ratio = Strata req/s ÷ baseline req/s. Latencies are over 2xx answers; errors are non-2xx answers plus network errors.',
    '- Closed loop: each connection sends its next request when the previous answer is read. Strata and its baseline take turns in slices of about a second (A B B A …) after a warm-up, so machine noise weighs on both alike.',
    `- tier hit = share of 2xx answers whose \`Cache-Status\` starts with the tier the scenario targets (\`strata-l1; hit\`, \`strata-l2; hit\`, \`strata-l3; hit\`).`,
    '- Everything runs locally in `wrangler dev` (workerd + miniflare) on 127.0.0.1, load generator on the same machine. The Cache API is served by miniflare from a separate service, and Durable Objects and the L3 server are local processes, so absolute numbers say little about production: only the ratios against the same primitive in the same run mean anything.',
    '- GET L2 runs with `L1_MAX_TTL=0`; GET L3 with `L1_MAX_TTL=0` and `SHARD_BYTE_BUDGET=1024`; GET L1 and PUT with `L1_MAX_TTL=3600`. Keys rotate round-robin; each Strata scenario has its own namespace and a fresh local state.',
  ];
  if (put.length === 2) {
    const [a, b] = put as [ScenarioRow, ScenarioRow];
    const sum = a.baseline.result.latencyMs.p50 + b.baseline.result.latencyMs.p50;
    notes.push(
      `- A Strata PUT writes the shard's SQLite and then Redis, in sequence: against /do-write p50 + /redis-set p50 = ${ms(sum)} ms its p50 ratio is ${x(a.strata.result.latencyMs.p50 / sum)} (the sum counts the client-to-Worker hop twice, so 1× or less means Strata adds little beyond the two primitives).`,
    );
  }
  const l2 = rows.find((r) => r.scenario === 'GET L2');
  const l3 = rows.find((r) => r.scenario === 'GET L3');
  if (l2 && l3) {
    const sum = l2.baseline.result.latencyMs.p50 + l3.baseline.result.latencyMs.p50;
    notes.push(
      `- A Strata GET served by L3 is a shard RPC that reads Redis: against /do-read p50 + /redis-get p50 = ${ms(sum)} ms its p50 ratio is ${x(l3.strata.result.latencyMs.p50 / sum)} (same caveat).`,
    );
  }
  return [...lines, ...notes].join('\n');
}

/** `Cache-Status` without the `ttl=` parameters, so answers tally by which tiers did what. */
export function cacheStatusShape(headers: IncomingHttpHeaders): string {
  const raw = headers['cache-status'];
  const value = Array.isArray(raw) ? raw.join(', ') : raw;
  return value === undefined ? '(none)' : value.replace(/; ttl=\d+/g, '');
}

/** 0.953 → `95.3%` */
export const pct = (f: number): string => `${(f * 100).toFixed(1)}%`;

/**
 * Closed-loop HTTP load for the bench: N keep-alive connections, each sending
 * its next request as soon as the previous answer has been read, for a fixed
 * time. Every request's latency is taken with `process.hrtime.bigint()`.
 *
 * Latency percentiles are over 2xx answers only; non-2xx answers and network
 * errors are counted (and one sample of each kept) so a broken scenario shows
 * up as errors, never as a fast one.
 */
import { type Agent, type IncomingHttpHeaders, request } from 'node:http';

/** One request to send: built per call so keys can rotate. */
export interface RequestSpec {
  method: 'GET' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface LoadOptions {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Keep-alive agent with `maxSockets` = connections; reused across slices of a series. */
  agent: Agent;
  connections: number;
  durationMs: number;
  /** The i-th request of the run (counted over all connections). */
  next: (i: number) => RequestSpec;
  /** What to count 2xx answers by (e.g. their `Cache-Status`); nothing is tallied without it. */
  tallyBy?: (headers: IncomingHttpHeaders) => string;
  /** Per-request time limit; a request past it counts as an error. */
  requestTimeoutMs?: number;
  signal?: AbortSignal;
}

/** What one run of the loop saw, before summarising (runs of one series are combined). */
export interface RawLoad {
  /** Latencies of 2xx answers, milliseconds. */
  latencies: number[];
  /** Answers of any status, plus network errors. */
  requests: number;
  /** Non-2xx answers by status. */
  statuses: Record<string, number>;
  networkErrors: number;
  errorSample?: string;
  elapsedMs: number;
  /** `tallyBy` of 2xx answers, with counts. */
  tally: Record<string, number>;
}

/** A series summarised: what the report shows. */
export interface LoadResult extends Omit<RawLoad, 'latencies'> {
  /** 2xx answers. */
  ok: number;
  /** 2xx answers per second of measured time. */
  rps: number;
  latencyMs: LatencySummary;
  /** How many timed slices the series was measured in. */
  slices: number;
}

export interface LatencySummary {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

interface Answer {
  status: number;
  label: string | undefined;
}

/**
 * Runs the closed loop for `durationMs`; `combine` summarises one or more runs.
 *
 * @example
 * const agent = new Agent({ keepAlive: true, maxSockets: 8 });
 * const raw = await runLoad({ origin, agent, connections: 8, durationMs: 5000, next: () => ({ method: 'GET', path: '/const' }) });
 * console.log(combine([raw]).latencyMs.p50);
 */
export async function runLoad(opts: LoadOptions): Promise<RawLoad> {
  const { agent } = opts;
  const url = new URL(opts.origin);
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const tally: Record<string, number> = {};
  let requests = 0;
  let networkErrors = 0;
  let errorSample: string | undefined;
  let issued = 0;

  const send = (spec: RequestSpec): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...spec.headers };
      if (spec.body) headers['content-length'] = spec.body.byteLength;
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: spec.method,
          path: spec.path,
          headers,
          timeout: timeoutMs,
        },
        (res) => {
          const label = opts.tallyBy?.(res.headers);
          res.on('error', reject);
          // Read the whole body: the latency is to the last byte.
          res.on('data', () => {});
          res.on('end', () => resolve({ status: res.statusCode ?? 0, label }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(spec.body);
    });

  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(opts.durationMs * 1e6));
  const loop = async () => {
    while (process.hrtime.bigint() < deadline && !opts.signal?.aborted) {
      const spec = opts.next(issued++);
      const t0 = process.hrtime.bigint();
      try {
        const answer = await send(spec);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        requests++;
        if (answer.status >= 200 && answer.status < 300) {
          latencies.push(ms);
          if (answer.label !== undefined) tally[answer.label] = (tally[answer.label] ?? 0) + 1;
        } else {
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          errorSample ??= `HTTP ${answer.status} for ${spec.method} ${spec.path}`;
        }
      } catch (error) {
        requests++;
        networkErrors++;
        errorSample ??= `${spec.method} ${spec.path}: ${String(error)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, loop));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    latencies,
    requests,
    statuses,
    networkErrors,
    ...(errorSample ? { errorSample } : {}),
    elapsedMs,
    tally,
  };
}

/**
 * Sums runs of one series (slices measured in turn with other series) into one result.
 *
 * @example const result = combine([slice1, slice2, slice3]);
 */
export function combine(runs: RawLoad[]): LoadResult {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const tally: Record<string, number> = {};
  let requests = 0;
  let networkErrors = 0;
  let elapsedMs = 0;
  let errorSample: string | undefined;
  for (const run of runs) {
    for (const ms of run.latencies) latencies.push(ms);
    for (const [k, n] of Object.entries(run.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
    for (const [k, n] of Object.entries(run.tally)) tally[k] = (tally[k] ?? 0) + n;
    requests += run.requests;
    networkErrors += run.networkErrors;
    elapsedMs += run.elapsedMs;
    errorSample ??= run.errorSample;
  }
  return {
    requests,
    ok: latencies.length,
    statuses,
    networkErrors,
    ...(errorSample ? { errorSample } : {}),
    elapsedMs,
    rps: elapsedMs ? latencies.length / (elapsedMs / 1000) : 0,
    latencyMs: summarize(latencies),
    tally,
    slices: runs.length,
  };
}

/** Nearest-rank percentiles of `samples` (milliseconds); zeros when empty. */
export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    min: sorted[0] ?? 0,
    mean: sum / sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/**
 * One request outside the load loop (pre-fill, readiness, checks).
 *
 * @example const { status, headers, body } = await once('http://127.0.0.1:8787', { method: 'GET', path: '/const' });
 */
export async function once(
  origin: string,
  spec: RequestSpec,
  timeoutMs = 10_000,
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(new URL(spec.path, origin), {
    method: spec.method,
    headers: spec.headers ?? {},
    ...(spec.body ? { body: spec.body } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

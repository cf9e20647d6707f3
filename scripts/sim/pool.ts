/**
 * Runs simulation jobs over one trace, `concurrency` at a time, each in a
 * fresh worker thread (scripts/sim/replay-worker.ts) that shares the trace's
 * SharedArrayBuffers. `concurrency: 0` runs them one by one on the main
 * thread instead (debugging, or a machine where threads are unwelcome).
 *
 * @example
 * const results = await runJobs(trace, [{ policy: 'lru', capacity: 1000 }], { concurrency: 2 });
 */
import { Worker } from 'node:worker_threads';
import type { CompactTrace } from '../../src/sim/compact-trace.ts';
import type { SimResult } from '../../src/sim/replay.ts';
import { runJob } from './anchors.ts';

export interface Job {
  policy: string;
  /** Entries, or bytes when the trace has sizes. */
  capacity: number;
}

/** What the worker receives as `workerData`. */
export interface WorkerTask extends Job {
  trace: CompactTrace;
}

export type WorkerMessage =
  | { type: 'progress'; done: number }
  | { type: 'result'; result: SimResult };

export interface PoolOptions {
  /** Jobs at once, each on its own thread; 0 = sequentially on this thread. */
  concurrency: number;
  /** A job's requests done so far (every 2^18 requests). */
  onProgress?: (job: number, done: number) => void;
  /** A job finished (in completion order). */
  onResult?: (job: number, result: SimResult) => void;
}

const WORKER = new URL('./replay-worker.ts', import.meta.url);

/** Resolves to the results in job order; rejects on the first failed job (stopping the others). */
export async function runJobs(
  trace: CompactTrace,
  jobs: readonly Job[],
  options: PoolOptions,
): Promise<SimResult[]> {
  const results: SimResult[] = new Array(jobs.length);
  if (options.concurrency <= 0) {
    for (const [i, job] of jobs.entries()) {
      results[i] = runJob(trace, job.policy, job.capacity, (done) => options.onProgress?.(i, done));
      options.onResult?.(i, results[i]);
    }
    return results;
  }

  const running = new Set<Worker>();
  let next = 0;
  let failed = false;
  const runner = async (): Promise<void> => {
    while (!failed && next < jobs.length) {
      const i = next++;
      const job = jobs[i] as Job;
      const task: WorkerTask = { trace, policy: job.policy, capacity: job.capacity };
      const worker = new Worker(WORKER, { workerData: task });
      running.add(worker);
      try {
        results[i] = await new Promise<SimResult>((resolve, reject) => {
          let result: SimResult | undefined;
          worker.on('message', (message: WorkerMessage) => {
            if (message.type === 'progress') options.onProgress?.(i, message.done);
            else result = message.result;
          });
          worker.on('error', (error) =>
            reject(
              new Error(`${job.policy} at ${job.capacity}: ${error.message}`, { cause: error }),
            ),
          );
          worker.on('exit', (code) => {
            if (result !== undefined) resolve(result);
            else
              reject(
                new Error(`${job.policy} at ${job.capacity}: worker exited with code ${code}`),
              );
          });
        });
      } finally {
        running.delete(worker);
      }
      options.onResult?.(i, results[i] as SimResult);
    }
  };
  const runners = Array.from({ length: Math.min(options.concurrency, jobs.length) }, runner);
  try {
    await Promise.all(runners);
  } catch (error) {
    failed = true;
    await Promise.all([...running].map((worker) => worker.terminate()));
    throw error;
  }
  return results;
}

/**
 * A worker thread that runs one simulation job (scripts/sim/anchors.ts) over
 * a trace shared with the main thread (SharedArrayBuffer, no copy), reports
 * progress, posts its result and exits. A fresh worker per job keeps each
 * policy's timing free of the JIT state other policies left behind.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CompactTrace } from '../../src/sim/compact-trace.ts';
import { runJob } from './anchors.ts';
import type { WorkerMessage, WorkerTask } from './pool.ts';

const task = workerData as WorkerTask;
const port = parentPort;
if (port === null) throw new Error('replay-worker.ts runs as a worker thread only');
const trace: CompactTrace = task.trace;
const result = runJob(trace, task.policy, task.capacity, (done) =>
  port.postMessage({ type: 'progress', done } satisfies WorkerMessage),
);
port.postMessage({ type: 'result', result } satisfies WorkerMessage);

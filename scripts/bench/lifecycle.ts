/**
 * The process side of a bench run: the progress log on stderr, the stack of
 * clean-up steps (every process and directory the run made, undone in
 * reverse), and the abort signal that SIGINT/SIGTERM and the wall-time
 * watchdog trip.
 */
import { resolve } from 'node:path';

/** The repository root: the run's paths are relative to it. */
export const ROOT = resolve(import.meta.dirname, '../..');

export const startedAt = performance.now();
/** Aborted by a signal or the watchdog: every step of the run watches `controller.signal`. */
export const controller = new AbortController();
const cleanups: Array<() => Promise<void>> = [];
let signalled = 0;

/** One line on stderr, stamped with the seconds since the run started. */
export function progress(line: string): void {
  const s = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${line}\n`);
}

/** Registers a step for `cleanUp`, which runs the steps last first. */
export function atCleanUp(step: () => Promise<void>): void {
  cleanups.push(step);
}

export async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    const step = cleanups.pop();
    try {
      await step?.();
    } catch (error) {
      progress(`clean-up step failed: ${String(error)}`);
    }
  }
}

/** The first SIGINT/SIGTERM aborts the run (so it cleans up); a second exits at once. */
export function abortOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      signalled++;
      if (signalled > 1) process.exit(130); // exit hooks still SIGKILL the children
      progress(`${signal}: stopping every process started by the bench…`);
      controller.abort(new Error(`interrupted by ${signal}`));
    });
  }
}

/** Whether a signal, rather than a failure, ended the run. */
export function interrupted(): boolean {
  return controller.signal.aborted && signalled > 0;
}

/**
 * Reads trace files from disk into one compact trace (src/sim/compact-trace.ts)
 * held in SharedArrayBuffers, so the replay workers read it without a copy.
 * Several files are read one after another into the same key space
 * (`corda+loop+corda`). Memory: 4 bytes a request (+8 with sizes) plus one
 * map entry per distinct key while reading; the key strings are dropped once
 * the trace is built.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type CompactTrace, TraceBuilder } from '../../src/sim/compact-trace.ts';
import { parseTrace, type TraceFormat } from '../../src/sim/trace-reader.ts';

export interface LoadedTrace {
  trace: CompactTrace;
  /** Wall time of reading and parsing. */
  seconds: number;
}

/** A trace file that cannot be opened: the CLI prints `message` and exits 2. */
export class TraceFileError extends Error {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    super(`cannot read trace file ${path} (${reason})`, { cause });
    this.name = 'TraceFileError';
    this.path = path;
  }
}

/** Checks that every file exists and is a regular file; resolves to their total size. */
export async function checkFiles(paths: readonly string[]): Promise<number> {
  let total = 0;
  for (const path of paths) {
    try {
      const s = await stat(path);
      if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a regular file' });
      total += s.size;
    } catch (error) {
      throw new TraceFileError(path, error);
    }
  }
  return total;
}

/**
 * Reads `paths` in order as one trace. `onProgress(fraction)` follows the
 * (compressed) bytes read.
 */
export async function loadTrace(
  paths: readonly string[],
  format: TraceFormat,
  options: { bytes?: boolean; onProgress?: (fraction: number) => void } = {},
): Promise<LoadedTrace> {
  const started = performance.now();
  const total = await checkFiles(paths);
  const builder = new TraceBuilder({
    sized: options.bytes === true,
    allocate: (n) => new SharedArrayBuffer(n),
  });
  let read = 0;
  for (const path of paths) {
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of file) {
        read += (chunk as Buffer).length;
        options.onProgress?.(total === 0 ? 1 : read / total);
        yield chunk as Buffer;
      }
    }
    try {
      await parseTrace(counted(), format, builder.sink, { bytes: options.bytes });
    } catch (error) {
      if (error instanceof Error && 'code' in error && 'syscall' in error) {
        throw new TraceFileError(path, error);
      }
      if (error instanceof Error) error.message = `${path}: ${error.message}`;
      throw error;
    }
  }
  return { trace: builder.build(), seconds: (performance.now() - started) / 1000 };
}

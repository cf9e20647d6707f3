/**
 * Shared by the simulator tests: byte sources for the trace reader, and the
 * shared traces (../shared/traces beside the repository, as in CI) loaded
 * into compact traces once per file.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CompactTrace, TraceBuilder } from '../../../src/sim/compact-trace.ts';
import { TRACES } from '../../../src/sim/reference-values.ts';
import {
  parseTrace,
  type ReadOptions,
  readTrace,
  type TraceFormat,
  type TraceRequest,
} from '../../../src/sim/trace-reader.ts';

/** The shared traces: `STRATA_TRACES_DIR`, else ../shared/traces beside the repository (as CI has it). */
export const TRACES_DIR =
  process.env.STRATA_TRACES_DIR ?? resolve(import.meta.dirname, '../../../../shared/traces');

/** `bytes` as an async stream of chunks of at most `size` bytes (1 = byte by byte). */
export async function* chunked(
  bytes: Uint8Array,
  size = bytes.length || 1,
): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

/** Every request of `bytes` read as `format`. */
export async function requestsOf(
  bytes: Uint8Array | string,
  format: TraceFormat,
  options: ReadOptions & { chunk?: number } = {},
): Promise<TraceRequest[]> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const out: TraceRequest[] = [];
  for await (const r of readTrace(chunked(data, options.chunk), format, options)) out.push(r);
  return out;
}

const loaded = new Map<string, Promise<CompactTrace>>();

/** A trace of the traces README by name (`oltp`, `corda+loop+corda`, …), read once per test file. */
export function sharedTrace(name: string): Promise<CompactTrace> {
  let trace = loaded.get(name);
  if (trace === undefined) {
    trace = (async () => {
      const spec = TRACES[name];
      if (spec === undefined) throw new Error(`no trace named ${name}`);
      const builder = new TraceBuilder();
      for (const file of spec.files) {
        const path = join(TRACES_DIR, file);
        if (!existsSync(path)) {
          throw new Error(
            `${path} is missing: the golden tests need ../shared/traces beside the repository`,
          );
        }
        await parseTrace(createReadStream(path), spec.format, builder.sink);
      }
      return builder.build();
    })();
    loaded.set(name, trace);
  }
  return trace;
}

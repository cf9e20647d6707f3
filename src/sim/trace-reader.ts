/**
 * Streaming readers for the shared trace formats (../shared/traces/README.md):
 *
 *   lines  one key per line (the whole trimmed line is the key)
 *   arc    `start count ignored reqno` (exactly 4 fields): `count` requests
 *          for the keys start, start+1, …, start+count-1 (512-byte blocks,
 *          ARC paper)
 *   tis    `time id size` (exactly 3 fields): key `id`, size `size` bytes
 *
 * Keys are opaque strings and are never parsed into `Number` (64-bit keys
 * would lose precision); `arc` block expansion adds with `BigInt`. The input
 * is any stream of byte chunks, gzip'd (detected by the magic bytes 1f 8b and
 * inflated with the web-standard `DecompressionStream`) or plain, split into
 * lines by hand so memory stays bounded by one chunk. CRLF and blank lines
 * are accepted. No node: imports: scripts/sim/open-trace.ts supplies files.
 *
 * @example
 * for await (const { key, size } of readTrace(chunks, 'tis', { bytes: true })) …
 */

export type TraceFormat = 'lines' | 'arc' | 'tis';
export const TRACE_FORMATS: readonly TraceFormat[] = ['lines', 'arc', 'tis'];

export interface TraceRequest {
  key: string;
  /** Bytes with `tis` and `bytes: true`; otherwise 1. */
  size: number;
}

export interface ReadOptions {
  /** Take request sizes from the `tis` size column (only `tis` has sizes). */
  bytes?: boolean;
}

/** Receives each request; the allocation-free form of `readTrace`. */
export type RequestSink = (key: string, size: number) => void;

/** A line the format cannot read; `line` counts from 1, blank lines included. */
export class TraceFormatError extends Error {
  readonly line: number;
  constructor(line: number, detail: string) {
    super(`trace line ${line}: ${detail}`);
    this.name = 'TraceFormatError';
    this.line = line;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const isBlank = (b: number): boolean => b === SPACE || b === TAB || b === CR;
/** A longer line is not a trace line (and would otherwise be buffered whole). */
const MAX_LINE = 1 << 20;

const utf8 = new TextDecoder();

/**
 * The bytes [from, to) as a fresh string (never a slice of a larger string,
 * which would keep a whole chunk alive in a key map).
 */
function text(bytes: Uint8Array, from: number, to: number): string {
  const part = bytes.subarray(from, to);
  if (part.length > 1024) return utf8.decode(part); // `apply` spreads its arguments on the stack
  for (let i = 0; i < part.length; i++) {
    if ((part[i] as number) >= 0x80) return utf8.decode(part);
  }
  return String.fromCharCode.apply(null, part as unknown as number[]);
}

/**
 * Parses one format line by line and hands each request to a sink. Feed it
 * the (decompressed) bytes in any chunking with `push`, then call `end`.
 */
export class TraceParser {
  /** Lines seen so far, blank ones included. */
  lines = 0;
  /** Requests handed to the sink so far. */
  requests = 0;
  private readonly format: TraceFormat;
  private readonly sized: boolean;
  private readonly sink: RequestSink;
  /** The unfinished last line of the previous chunk. */
  private carry: Uint8Array | null = null;
  /** Token boundaries of the current line: start0, end0, start1, end1, … */
  private readonly bounds = new Int32Array(10);

  constructor(format: TraceFormat, sink: RequestSink, options: ReadOptions = {}) {
    if (!TRACE_FORMATS.includes(format)) throw new RangeError(`unknown trace format "${format}"`);
    if (options.bytes && format !== 'tis') {
      throw new RangeError(
        `bytes mode needs the tis format (the only one with sizes), not ${format}`,
      );
    }
    this.format = format;
    this.sized = options.bytes === true;
    this.sink = sink;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.carry !== null) {
      const nl = chunk.indexOf(LF);
      const joined = new Uint8Array(this.carry.length + (nl < 0 ? chunk.length : nl));
      joined.set(this.carry);
      joined.set(nl < 0 ? chunk : chunk.subarray(0, nl), this.carry.length);
      if (nl < 0) {
        if (joined.length > MAX_LINE) this.fail(`line longer than ${MAX_LINE} bytes`, 1);
        this.carry = joined;
        return;
      }
      this.carry = null;
      this.line(joined, 0, joined.length);
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.carry = chunk.slice(start);
  }

  /** The input ended: a last line without a newline still counts. */
  end(): void {
    if (this.carry !== null) {
      const last = this.carry;
      this.carry = null;
      this.line(last, 0, last.length);
    }
  }

  private line(bytes: Uint8Array, from: number, to: number): void {
    this.lines++;
    if (this.format === 'lines') {
      // The whole line is the key, inner spaces included; only the ends are trimmed.
      while (from < to && isBlank(bytes[from] as number)) from++;
      while (to > from && isBlank(bytes[to - 1] as number)) to--;
      if (from < to) this.emit(text(bytes, from, to), 1);
      return;
    }
    const tokens = this.tokenize(bytes, from, to);
    if (tokens === 0) return; // blank line
    const b = this.bounds;
    if (this.format === 'arc') {
      // Exactly four fields: a 3-field tis line read as arc would expand its ids into blocks.
      if (tokens !== 4) this.fail(`expected 4 fields "start count ignored reqno", got ${tokens}`);
      const s = b[0] as number;
      const e = b[1] as number;
      const count = this.integer(bytes, b[2] as number, b[3] as number, 'count');
      const canonical = this.checkInteger(bytes, s, e, 'start');
      const start = text(bytes, s, e);
      // A canonical decimal is its own key; `007` and `-0` become 7 and 0 so that
      // expanded blocks and single-block lines name the same key.
      if (count === 1 && canonical) {
        this.emit(start, 1);
        return;
      }
      let block = BigInt(start);
      for (let i = 0; i < count; i++, block++) this.emit(block.toString(), 1);
      return;
    }
    if (tokens !== 3) this.fail(`expected 3 fields "time id size", got ${tokens}`);
    const size = this.integer(bytes, b[4] as number, b[5] as number, 'size');
    this.emit(text(bytes, b[2] as number, b[3] as number), this.sized ? size : 1);
  }

  private emit(key: string, size: number): void {
    this.requests++;
    this.sink(key, size);
  }

  /** Splits on spaces/tabs (CR counts as one) into `bounds`; returns the token count, at most 5. */
  private tokenize(bytes: Uint8Array, from: number, to: number): number {
    let n = 0;
    let i = from;
    while (i < to && n < 5) {
      while (i < to && isBlank(bytes[i] as number)) i++;
      if (i === to) break;
      const start = i;
      while (i < to && !isBlank(bytes[i] as number)) i++;
      this.bounds[2 * n] = start;
      this.bounds[2 * n + 1] = i;
      n++;
    }
    return n;
  }

  /** A non-negative decimal integer (a count or a size, not a key). */
  private integer(bytes: Uint8Array, from: number, to: number, what: string): number {
    let n = 0;
    for (let i = from; i < to; i++) {
      const c = bytes[i] as number;
      if (c < ZERO || c > NINE) this.fail(`${what} "${text(bytes, from, to)}" is not a number`);
      n = n * 10 + (c - ZERO);
    }
    if (!Number.isSafeInteger(n)) this.fail(`${what} ${text(bytes, from, to)} is too large`);
    return n;
  }

  /** Checks an optionally negative decimal integer; true if it is canonical (no `+`, no leading 0, no `-0`). */
  private checkInteger(bytes: Uint8Array, from: number, to: number, what: string): boolean {
    let i = from;
    if (bytes[i] === MINUS) i++;
    if (i === to) this.fail(`${what} "${text(bytes, from, to)}" is not an integer`);
    for (let j = i; j < to; j++) {
      const c = bytes[j] as number;
      if (c < ZERO || c > NINE) this.fail(`${what} "${text(bytes, from, to)}" is not an integer`);
    }
    return bytes[i] !== ZERO || (to - i === 1 && i === from);
  }

  /** `ahead` = 1 for the line being read, not yet counted. */
  private fail(detail: string, ahead = 0): never {
    throw new TraceFormatError(this.lines + ahead, detail);
  }
}

/** The chunks of `source`, inflated if they start with the gzip magic bytes 1f 8b. */
export async function* decompressed(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const it = source[Symbol.asyncIterator]();
  let head = new Uint8Array(0);
  while (head.length < 2) {
    const next = await it.next();
    if (next.done) break;
    const joined = new Uint8Array(head.length + next.value.length);
    joined.set(head);
    joined.set(next.value, head.length);
    head = joined;
  }
  async function* rest(): AsyncGenerator<Uint8Array, void, undefined> {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* rest();
    return;
  }
  const compressed = rest();
  const input = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await compressed.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await compressed.return();
    },
  });
  const inflated = input.pipeThrough(new DecompressionStream('gzip'));
  for await (const chunk of inflated) yield chunk as Uint8Array;
}

/**
 * Reads a whole trace into `sink` (gzip or plain). Resolves to the number of
 * requests; rejects with `TraceFormatError` on a malformed line.
 */
export async function parseTrace(
  source: AsyncIterable<Uint8Array>,
  format: TraceFormat,
  sink: RequestSink,
  options: ReadOptions = {},
): Promise<number> {
  const parser = new TraceParser(format, sink, options);
  for await (const chunk of decompressed(source)) parser.push(chunk);
  parser.end();
  return parser.requests;
}

/**
 * The requests of a trace one by one (gzip or plain).
 * @example
 * for await (const r of readTrace(chunks, 'arc')) console.log(r.key);
 */
export async function* readTrace(
  source: AsyncIterable<Uint8Array>,
  format: TraceFormat,
  options: ReadOptions = {},
): AsyncGenerator<TraceRequest, void, undefined> {
  let batch: TraceRequest[] = [];
  const parser = new TraceParser(format, (key, size) => batch.push({ key, size }), options);
  for await (const chunk of decompressed(source)) {
    parser.push(chunk);
    const ready = batch;
    batch = [];
    yield* ready;
  }
  parser.end();
  yield* batch;
}

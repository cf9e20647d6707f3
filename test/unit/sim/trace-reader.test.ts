/**
 * The trace reader (src/sim/trace-reader.ts) on small inline fixtures of each
 * format of ../shared/traces/README.md: `arc` block expansion, `tis` sizes,
 * gzip and plain input in any chunking, 64-bit keys kept exact, CRLF and
 * blank lines, and malformed lines reported with their line number.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactTrace, TraceBuilder } from '../../../src/sim/compact-trace.ts';
import { parseTrace, TraceFormatError, TraceParser } from '../../../src/sim/trace-reader.ts';
import { chunked, requestsOf } from './helpers.ts';

const keysOf = (requests: { key: string }[]): string[] => requests.map((r) => r.key);

describe('lines format', () => {
  it('takes each trimmed line as an opaque key, 64-bit values exact', async () => {
    const text = [
      '18446744073709551615', // 2^64 - 1: Number would round it
      '9007199254740993', // 2^53 + 1: the first integer a double cannot hold
      '-9223372036854775808',
      '007', // not normalised: keys are opaque strings
      '  42  ',
      'a key with spaces',
    ].join('\n');
    expect(keysOf(await requestsOf(text, 'lines'))).toEqual([
      '18446744073709551615',
      '9007199254740993',
      '-9223372036854775808',
      '007',
      '42',
      'a key with spaces',
    ]);
  });

  it('accepts CRLF, blank lines and a missing final newline', async () => {
    const requests = await requestsOf('1\r\n\r\n2\r\n   \n\n3', 'lines');
    expect(requests).toEqual([
      { key: '1', size: 1 },
      { key: '2', size: 1 },
      { key: '3', size: 1 },
    ]);
  });

  it('reads long keys, and refuses a line over 1 MiB rather than buffer it', async () => {
    const long = '7'.repeat(5000);
    expect(keysOf(await requestsOf(`${long}\n1\n`, 'lines', { chunk: 1000 }))).toEqual([long, '1']);
    const endless = new Uint8Array((1 << 20) + 10).fill(0x31);
    await expect(requestsOf(endless, 'lines', { chunk: 65536 })).rejects.toThrow(
      /trace line 1: line longer than/,
    );
  });

  it('decodes non-ASCII keys as UTF-8', async () => {
    expect(keysOf(await requestsOf('café\n東京\n', 'lines'))).toEqual(['café', '東京']);
  });
});

describe('arc format', () => {
  it('expands "start count ignored reqno" into count consecutive blocks', async () => {
    // The ARC paper's convention: requests = sum of counts, not lines.
    const text = '10 3 0 0\n7 1 0 1\n11 2 0 2\n';
    expect(keysOf(await requestsOf(text, 'arc'))).toEqual(['10', '11', '12', '7', '11', '12']);
  });

  it('expands beyond 2^53 exactly (BigInt, never Number)', async () => {
    const text = '9007199254740992 3 0 0\n18446744073709551615 2 0 1\n';
    expect(keysOf(await requestsOf(text, 'arc'))).toEqual([
      '9007199254740992',
      '9007199254740993',
      '9007199254740994',
      '18446744073709551615',
      '18446744073709551616',
    ]);
  });

  it('names a block the same whether its line expands or not', async () => {
    // `007 1` and the second block of `6 2` are the same block 7.
    expect(keysOf(await requestsOf('007 1 0 0\n6 2 0 1\n-0 1 0 2\n', 'arc'))).toEqual([
      '7',
      '6',
      '7',
      '0',
    ]);
  });

  it('reads a zero count as no request, and rejects lines that are not 4 integers', async () => {
    expect(await requestsOf('5 0 0 0\n', 'arc')).toEqual([]);
    // A tis line (3 fields) must not be expanded as blocks by mistake.
    await expect(requestsOf('1 2 0 0\n1 0 68\n', 'arc')).rejects.toThrow(
      /trace line 2: expected 4 fields/,
    );
    await expect(requestsOf('1 x 0 0\n', 'arc')).rejects.toThrow(/count "x" is not a number/);
    await expect(requestsOf('\n1e3 1 0 0\n', 'arc')).rejects.toThrow(
      /trace line 2: start "1e3" is not an integer/,
    );
  });
});

describe('tis format', () => {
  const text = '1 100 2048\r\n2 200 10\r\n3 100 4096\r\n';

  it('keys on id and takes sizes from the third column with bytes: true', async () => {
    expect(await requestsOf(text, 'tis', { bytes: true })).toEqual([
      { key: '100', size: 2048 },
      { key: '200', size: 10 },
      { key: '100', size: 4096 }, // same id, other size: still the same key (webcachesim)
    ]);
  });

  it('counts every request as size 1 without bytes', async () => {
    expect((await requestsOf(text, 'tis')).map((r) => r.size)).toEqual([1, 1, 1]);
  });

  it('rejects a bad size and bytes mode on other formats', async () => {
    await expect(requestsOf('1 5 -3\n', 'tis', { bytes: true })).rejects.toBeInstanceOf(
      TraceFormatError,
    );
    await expect(requestsOf('1 5\n', 'tis')).rejects.toThrow(/expected 3 fields/);
    expect(() => new TraceParser('lines', () => {}, { bytes: true })).toThrow(/tis/);
  });
});

describe('gzip and plain input', () => {
  const text = '1 100 2048\n2 200 10\n\n3 18446744073709551615 7\n';
  const plain = new TextEncoder().encode(text);
  const gzip = new Uint8Array(gzipSync(plain));

  it('detects gzip by its magic bytes and reads the same requests', async () => {
    const expected = await requestsOf(plain, 'tis', { bytes: true });
    expect(expected).toHaveLength(3);
    expect(await requestsOf(gzip, 'tis', { bytes: true })).toEqual(expected);
    expect(await requestsOf(gzip, 'tis', { bytes: true, chunk: 1 })).toEqual(expected);
  });

  it('reads concatenated gzip members as one stream', async () => {
    const two = new Uint8Array([...gzipSync('1\n2\n'), ...gzipSync('3\n')]);
    expect(keysOf(await requestsOf(two, 'lines'))).toEqual(['1', '2', '3']);
  });

  it('reads an empty input as no requests', async () => {
    expect(await requestsOf(new Uint8Array(0), 'lines')).toEqual([]);
    expect(await requestsOf(new Uint8Array(gzipSync('')), 'lines')).toEqual([]);
  });

  it('gives the same requests however the bytes are chunked (property)', async () => {
    const line = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n }).map((n) => `${n} 1 0 0`),
      fc.bigInt({ min: 0n, max: 2n ** 64n }).map((n) => `${n} ${Number(n % 4n)} 0 0`),
      fc.constant(''),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        async (lines, eol, chunk, zipped) => {
          const bytes = new TextEncoder().encode(lines.join(eol));
          const whole = await requestsOf(bytes, 'arc');
          const input = zipped ? new Uint8Array(gzipSync(bytes)) : bytes;
          expect(await requestsOf(input, 'arc', { chunk })).toEqual(whole);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('compact traces', () => {
  it('numbers keys densely in order of first appearance', () => {
    const trace = compactTrace(['b', 'a', 'b', 'c', 'a']);
    expect([...trace.ids]).toEqual([0, 1, 0, 2, 1]);
    expect(trace.keyCount).toBe(3);
    expect(trace.sizes).toBeNull();
  });

  it('grows past its first allocation and keeps sizes in bytes mode', async () => {
    const n = 200_000; // more than the builder's initial 65,536 slots
    const lines = Array.from({ length: n }, (_, i) => `${i} ${i % 1000} ${i % 7}`).join('\n');
    const builder = new TraceBuilder({ sized: true, allocate: (b) => new SharedArrayBuffer(b) });
    await parseTrace(chunked(new TextEncoder().encode(lines), 4096), 'tis', builder.sink, {
      bytes: true,
    });
    const trace = builder.build();
    expect(trace.length).toBe(n);
    expect(trace.keyCount).toBe(1000);
    expect(trace.ids.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(trace.ids[123_456]).toBe(456);
    expect(trace.sizes?.[123_456]).toBe(123_456 % 7);
  });
});

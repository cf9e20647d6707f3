/**
 * The entry codec and freshness helpers (src/entry.ts). The codec is what L3
 * stores, so anything Redis hands back (truncated, corrupted, another app's
 * value) must decode or fail with EntryCodecError, never another exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ageSeconds,
  decodeEntry,
  type Entry,
  EntryCodecError,
  type EntryMeta,
  encodeEntry,
  isFresh,
  remainingTtl,
} from '../../src/entry.ts';

const meta = (over: Partial<EntryMeta> = {}): EntryMeta => ({
  namespace: 'users',
  key: 'u:42',
  version: '1764030000000-0-us-east',
  createdAt: 1_764_030_000_000,
  expiresAt: 1_764_030_060_000,
  staleWhileRevalidate: 0,
  staleIfError: 0,
  tags: ['user', 'profile'],
  contentType: 'application/json',
  size: 0,
  ...over,
});

const entryOf = (value: Uint8Array, over: Partial<EntryMeta> = {}): Entry => ({
  meta: meta({ ...over, size: value.byteLength }),
  value,
});

/** The documented layout, built by hand: 'S', 1, uint32 BE length, JSON, value. */
function layout(
  metaJson: string,
  value: Uint8Array,
  magic = 0x53,
  format = 1,
  lengthOverride?: number,
): Uint8Array {
  const json = new TextEncoder().encode(metaJson);
  const n = lengthOverride ?? json.byteLength;
  const header = [magic, format, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return Uint8Array.from([...header, ...json, ...value]);
}

/** What "a well-formed entry" means to every caller of decodeEntry. */
function expectWellFormed(e: Entry): void {
  const m = e.meta;
  for (const field of ['namespace', 'key', 'version', 'contentType'] as const)
    expect(typeof m[field]).toBe('string');
  for (const field of [
    'createdAt',
    'expiresAt',
    'staleWhileRevalidate',
    'staleIfError',
    'size',
  ] as const) {
    expect(typeof m[field]).toBe('number');
  }
  expect(Array.isArray(m.tags) && m.tags.every((t) => typeof t === 'string')).toBe(true);
  expect(e.value).toBeInstanceOf(Uint8Array);
  expect(e.value.byteLength).toBe(m.size);
}

function expectCodecError(bytes: Uint8Array, message?: RegExp): void {
  let thrown: unknown;
  try {
    decodeEntry(bytes);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(EntryCodecError);
  expect((thrown as Error).name).toBe('EntryCodecError');
  if (message) expect((thrown as Error).message).toMatch(message);
}

const textArb = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
);
// Lone surrogates too: JSON.stringify escapes them, so they must survive.
const anyString = fc.oneof(
  textArb,
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) }),
);
const valueArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constant(new Uint8Array(0)),
  fc.constant(Uint8Array.from({ length: 256 }, (_, i) => i)),
);
const entryArb: fc.Arbitrary<Entry> = fc
  .record({
    namespace: anyString,
    key: anyString,
    version: anyString,
    createdAt: fc.maxSafeInteger(),
    expiresAt: fc.maxSafeInteger(),
    staleWhileRevalidate: fc.oneof(
      fc.nat(),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }),
    ),
    staleIfError: fc.nat(),
    tags: fc.array(anyString, { maxLength: 5 }),
    contentType: anyString,
    value: valueArb,
  })
  .map(({ value, ...m }) => ({ meta: { ...m, size: value.byteLength }, value }));

describe('encodeEntry', () => {
  it('writes the documented layout: magic, format, big-endian length, JSON metadata, raw value', () => {
    const value = Uint8Array.from([0, 1, 254, 255]);
    const entry = entryOf(value);
    const bytes = encodeEntry(entry);
    const json = new TextEncoder().encode(JSON.stringify(entry.meta));
    expect(bytes[0]).toBe(0x53);
    expect(bytes[1]).toBe(1);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(2, false)).toBe(json.byteLength);
    expect(bytes.subarray(6, 6 + json.byteLength)).toEqual(json);
    expect(bytes.subarray(6 + json.byteLength)).toEqual(value);
    expect(bytes).toEqual(layout(JSON.stringify(entry.meta), value));
  });

  it('encodes the length big-endian even past one byte (>= 256 bytes of metadata)', () => {
    const entry = entryOf(new Uint8Array(0), { key: 'k'.repeat(70_000) });
    const bytes = encodeEntry(entry);
    const n = new TextEncoder().encode(JSON.stringify(entry.meta)).byteLength;
    expect(n).toBeGreaterThan(65_535);
    expect([...bytes.subarray(2, 6)]).toEqual([
      (n >>> 24) & 0xff,
      (n >>> 16) & 0xff,
      (n >>> 8) & 0xff,
      n & 0xff,
    ]);
    expect(decodeEntry(bytes)).toEqual(entry);
  });
});

describe('decodeEntry', () => {
  it('round-trips arbitrary metadata and values (empty, all 256 byte values, random)', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const decoded = decodeEntry(encodeEntry(entry));
        expect(decoded).toEqual(entry);
        expect(decoded.value).toEqual(entry.value);
        expectWellFormed(decoded);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips an entry with an empty value and with every byte value', () => {
    for (const value of [new Uint8Array(0), Uint8Array.from({ length: 256 }, (_, i) => i)]) {
      const entry = entryOf(value);
      expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
    }
  });

  it('decodes a view into a larger buffer (non-zero byteOffset), ignoring bytes outside it', () => {
    fc.assert(
      fc.property(entryArb, fc.nat({ max: 9 }), fc.nat({ max: 9 }), (entry, before, after) => {
        const encoded = encodeEntry(entry);
        const big = new Uint8Array(before + encoded.byteLength + after).fill(0x53);
        big.set(encoded, before);
        expect(decodeEntry(big.subarray(before, before + encoded.byteLength))).toEqual(entry);
      }),
      { numRuns: 200 },
    );
  });

  it('returns a value that does not alias the input buffer', () => {
    const bytes = encodeEntry(entryOf(Uint8Array.from([1, 2, 3])));
    const decoded = decodeEntry(bytes);
    bytes.fill(0);
    expect([...decoded.value]).toEqual([1, 2, 3]);
  });

  const good = JSON.stringify(meta({ size: 2 }));
  const two = Uint8Array.from([7, 8]);
  it.each([
    ['empty input', new Uint8Array(0), /not a Strata entry/],
    ['shorter than the header', Uint8Array.from([0x53, 1, 0, 0, 0]), /not a Strata entry/],
    ['wrong magic', layout(good, two, 0x54), /not a Strata entry/],
    ['lower-case magic', layout(good, two, 0x73), /not a Strata entry/],
    ['format 0', layout(good, two, 0x53, 0), /unknown entry format 0/],
    ['format 2', layout(good, two, 0x53, 2), /unknown entry format 2/],
    ['length beyond the input', layout(good, two, 0x53, 1, 10_000), /truncated/],
    ['length 0xffffffff', layout(good, two, 0x53, 1, 0xffffffff), /truncated/],
    ['length 0 (empty JSON)', layout(good, two, 0x53, 1, 0), /corrupt/],
    ['invalid UTF-8 in metadata', Uint8Array.from([0x53, 1, 0, 0, 0, 2, 0xc3, 0x28]), /corrupt/],
    ['metadata not JSON', layout('{"namespace":', new Uint8Array(0)), /corrupt/],
    ['metadata is null', layout('null', new Uint8Array(0)), /wrong shape/],
    ['metadata is an array', layout('[]', new Uint8Array(0)), /wrong shape/],
    ['metadata is a number', layout('42', new Uint8Array(0)), /wrong shape/],
    ['metadata is a string', layout('"meta"', new Uint8Array(0)), /wrong shape/],
    [
      'a field missing',
      layout(JSON.stringify({ ...meta({ size: 2 }), version: undefined }), two),
      /wrong shape/,
    ],
    ['size as a string', layout(JSON.stringify({ ...meta(), size: '2' }), two), /wrong shape/],
    [
      'createdAt null (NaN was stored)',
      layout(JSON.stringify({ ...meta({ size: 2 }), createdAt: null }), two),
      /wrong shape/,
    ],
    [
      'tags not an array',
      layout(JSON.stringify({ ...meta({ size: 2 }), tags: 'a,b' }), two),
      /wrong shape/,
    ],
    [
      'a tag not a string',
      layout(JSON.stringify({ ...meta({ size: 2 }), tags: ['a', 1] }), two),
      /wrong shape/,
    ],
    ['value one byte short', layout(good, two.subarray(0, 1)), /size does not match/],
    ['value one byte long', layout(good, Uint8Array.from([7, 8, 9])), /size does not match/],
    [
      'size negative',
      layout(JSON.stringify(meta({ size: -1 })), new Uint8Array(0)),
      /size does not match/,
    ],
    [
      'size fractional',
      layout(JSON.stringify(meta({ size: 1.5 })), Uint8Array.from([1])),
      /size does not match/,
    ],
  ])('rejects %s with EntryCodecError', (_name, bytes, message) => {
    expectCodecError(bytes, message);
  });

  it('accepts the hand-built documented layout', () => {
    expect(decodeEntry(layout(good, two))).toEqual({ meta: meta({ size: 2 }), value: two });
  });

  it('exhaustively: every strict prefix and every one-byte extension of a valid encoding is rejected', () => {
    const bytes = encodeEntry(entryOf(Uint8Array.from([1, 2, 3, 4, 5])));
    for (let n = 0; n < bytes.byteLength; n++) expectCodecError(bytes.subarray(0, n));
    for (let b = 0; b < 256; b++) {
      const longer = new Uint8Array(bytes.byteLength + 1);
      longer.set(bytes);
      longer[bytes.byteLength] = b;
      expectCodecError(longer, /size does not match/);
    }
  });

  it('exhaustively: flipping any bit of the header or metadata decodes well-formed or throws EntryCodecError', () => {
    const entry = entryOf(Uint8Array.from([9, 9]), { tags: ['a'] });
    const bytes = encodeEntry(entry);
    const metaEnd = bytes.byteLength - 2;
    for (let i = 0; i < metaEnd; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const corrupt = bytes.slice();
        corrupt[i] = (corrupt[i] as number) ^ (1 << bit);
        try {
          expectWellFormed(decodeEntry(corrupt));
        } catch (err) {
          expect(err, `byte ${i} bit ${bit}`).toBeInstanceOf(EntryCodecError);
        }
      }
    }
  });

  it('on arbitrary bytes, either throws EntryCodecError or returns a well-formed entry, never another exception', () => {
    // Three sources: raw noise, a valid header over noise, and a valid header
    // over arbitrary JSON (which gets past the UTF-8 and JSON.parse steps).
    const header = (n: number) => [
      0x53,
      1,
      (n >>> 24) & 0xff,
      (n >>> 16) & 0xff,
      (n >>> 8) & 0xff,
      n & 0xff,
    ];
    const noise = fc.uint8Array({ maxLength: 200 });
    const headerOverNoise = fc
      .tuple(fc.nat({ max: 210 }), fc.uint8Array({ maxLength: 200 }))
      .map(([n, rest]) => Uint8Array.from([...header(n), ...rest]));
    const headerOverJson = fc
      .tuple(
        fc.oneof(
          fc.json(),
          entryArb.map((e) => JSON.stringify(e.meta)),
          entryArb.map((e) => JSON.stringify({ ...e.meta, size: e.meta.size + 1 })),
        ),
        fc.uint8Array({ maxLength: 20 }),
        fc.integer({ min: -2, max: 2 }),
      )
      .map(([json, value, skew]) => {
        const j = new TextEncoder().encode(json);
        return Uint8Array.from([...header(Math.max(0, j.byteLength + skew)), ...j, ...value]);
      });
    // Valid encodings with a few bytes overwritten: most decode, some do not.
    const mutated = fc
      .tuple(entryArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }))
      .map(([entry, edits]) => {
        const bytes = encodeEntry(entry);
        for (const [at, b] of edits) bytes[at % bytes.byteLength] = b;
        return bytes;
      });
    fc.assert(
      fc.property(fc.oneof(noise, headerOverNoise, headerOverJson, mutated), (bytes) => {
        let decoded: Entry;
        try {
          decoded = decodeEntry(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(EntryCodecError);
          return;
        }
        expectWellFormed(decoded);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isFresh / remainingTtl / ageSeconds', () => {
  const m = meta({ createdAt: 10_000, expiresAt: 70_000 });

  it.each([
    // [now, fresh, remainingTtl, age]
    [0, true, 70, 0], // before createdAt (a writer's clock ahead of ours): age clamps to 0
    [9_999, true, 60, 0],
    [10_000, true, 60, 0],
    [10_999, true, 59, 0],
    [11_000, true, 59, 1],
    [68_999, true, 1, 58],
    [69_000, true, 1, 59],
    [69_001, true, 0, 59], // still servable, but under a second left
    [69_999, true, 0, 59],
    [70_000, false, 0, 60], // expiresAt itself is not fresh
    [70_001, false, 0, 60],
    [1_000_000, false, 0, 990],
  ])('at now=%i: fresh %s, remainingTtl %i, age %i', (now, fresh, ttl, age) => {
    expect(isFresh(m, now)).toBe(fresh);
    expect(remainingTtl(m, now)).toBe(ttl);
    expect(ageSeconds(m, now)).toBe(age);
  });

  it('exhaustively over every millisecond around the lifetime: invariants hold', () => {
    const violations: string[] = [];
    const check = (ok: boolean, now: number, what: string) => {
      if (!ok) violations.push(`now=${now}: ${what}`);
    };
    let prevAge = -1;
    let prevTtl = Number.POSITIVE_INFINITY;
    for (let now = 7_000; now <= 73_000; now++) {
      const fresh = isFresh(m, now);
      const ttl = remainingTtl(m, now);
      const age = ageSeconds(m, now);
      check(fresh === now < m.expiresAt, now, 'fresh iff now < expiresAt');
      check(Number.isInteger(ttl) && ttl >= 0, now, 'ttl is a non-negative integer');
      check(Number.isInteger(age) && age >= 0, now, 'age is a non-negative integer');
      // A back-fill that stores `ttl` seconds from now never outlives the original...
      check(!fresh || now + ttl * 1000 <= m.expiresAt, now, 'back-fill outlives the original');
      // ...and loses less than a second of it; an expired entry has no TTL left.
      check(
        fresh ? m.expiresAt - (now + ttl * 1000) < 1000 : ttl === 0,
        now,
        'ttl rounds down by < 1 s',
      );
      // Age never overstates the time since the write, and understates it by < 1 s.
      check(age * 1000 <= Math.max(0, now - m.createdAt), now, 'age overstated');
      check(Math.max(0, now - m.createdAt) - age * 1000 < 1000, now, 'age understated by >= 1 s');
      check(age >= prevAge && ttl <= prevTtl, now, 'age and ttl are monotonic');
      prevAge = age;
      prevTtl = ttl;
    }
    expect(violations).toEqual([]);
  });
});

/**
 * MurmurHash3 and rendezvous shard placement (src/hashing.ts).
 *
 * Placement is persistent state: a key's shard is the Durable Object that
 * holds it, so the hash must match the published MurmurHash3_x86_32 exactly
 * and placement must not drift between releases.
 *
 * Expected hashes come from the reference implementation,
 * aappleby/smhasher `src/MurmurHash3.cpp` (commit 0ff96f7), compiled with g++
 * and run on the same bytes; the "published" rows also appear in the widely
 * used MurmurHash3_x86_32 test-vector list (Ian Boyd, Stack Overflow 14747343).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur3, shardFor, shardName } from '../../src/hashing.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (h: string): Uint8Array =>
  Uint8Array.from(h.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

/**
 * An independent MurmurHash3_x86_32 written with BigInt arithmetic (no
 * Math.imul, no sign tricks), transcribed from the reference C++.
 */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const M = 0xffffffffn;
  const c1 = 0xcc9e2d51n;
  const c2 = 0x1b873593n;
  const mul = (a: bigint, b: bigint): bigint => (a * b) & M;
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & M;
  const byte = (i: number): bigint => BigInt(bytes[i] ?? 0);
  let h = BigInt(seed >>> 0);
  const nblocks = Math.floor(bytes.length / 4);
  for (let b = 0; b < nblocks; b++) {
    const i = b * 4;
    let k = byte(i) | (byte(i + 1) << 8n) | (byte(i + 2) << 16n) | (byte(i + 3) << 24n);
    k = mul(rotl(mul(k, c1), 15n), c2);
    h ^= k;
    h = (mul(rotl(h, 13n), 5n) + 0xe6546b64n) & M;
  }
  const tail = nblocks * 4;
  const rem = bytes.length & 3;
  let k1 = 0n;
  if (rem >= 3) k1 ^= byte(tail + 2) << 16n;
  if (rem >= 2) k1 ^= byte(tail + 1) << 8n;
  if (rem >= 1) {
    k1 ^= byte(tail);
    h ^= mul(rotl(mul(k1, c1), 15n), c2);
  }
  h ^= BigInt(bytes.length) & M;
  h ^= h >> 16n;
  h = mul(h, 0x85ebca6bn);
  h ^= h >> 13n;
  h = mul(h, 0xc2b2ae35n);
  h ^= h >> 16n;
  return Number(h);
}

describe('murmur3', () => {
  // [description, bytes, seed, expected]
  const published: [string, Uint8Array, number, number][] = [
    ["'' seed 0", utf8(''), 0, 0x00000000],
    ["'' seed 1", utf8(''), 1, 0x514e28b7],
    ["'' seed 0xffffffff", utf8(''), 0xffffffff, 0x81f16f39],
    ['00 00 00 00 seed 0', hex('00000000'), 0, 0x2362f9de],
    ['00 00 00 seed 0', hex('000000'), 0, 0x85f0b427],
    ['00 00 seed 0', hex('0000'), 0, 0x30f4c306],
    ['00 seed 0', hex('00'), 0, 0x514e28b7],
    ['ff ff ff ff seed 0', hex('ffffffff'), 0, 0x76293b50],
    ['21 43 65 87 seed 0', hex('21436587'), 0, 0xf55b516b],
    ['21 43 65 87 seed 0x5082edee', hex('21436587'), 0x5082edee, 0x2362f9de],
    ['21 43 65 seed 0', hex('214365'), 0, 0x7e4a8634],
    ['21 43 seed 0', hex('2143'), 0, 0xa0f7b07a],
    ['21 seed 0', hex('21'), 0, 0x72661cf4],
    ["'aaaa' seed 0x9747b28c", utf8('aaaa'), 0x9747b28c, 0x5a97808a],
    ["'aaa' seed 0x9747b28c", utf8('aaa'), 0x9747b28c, 0x283e0130],
    ["'aa' seed 0x9747b28c", utf8('aa'), 0x9747b28c, 0x5d211726],
    ["'a' seed 0x9747b28c", utf8('a'), 0x9747b28c, 0x7fa09ea6],
    ["'abcd' seed 0x9747b28c", utf8('abcd'), 0x9747b28c, 0xf0478627],
    ["'abc' seed 0", utf8('abc'), 0, 0xb3dd93fa],
    ["'hello' seed 0", utf8('hello'), 0, 0x248bfa47],
    ["'Hello, world!' seed 1234", utf8('Hello, world!'), 1234, 0xfaf6cdb3],
    ["'Hello, world!' seed 0x9747b28c", utf8('Hello, world!'), 0x9747b28c, 0x24884cba],
    ["'ππππππππ' (UTF-8) seed 0x9747b28c", utf8('ππππππππ'), 0x9747b28c, 0xd58063c1],
    ["'a' x 256 seed 0x9747b28c", utf8('a'.repeat(256)), 0x9747b28c, 0x37405bdc],
    ['quick brown fox seed 0', utf8('The quick brown fox jumps over the lazy dog'), 0, 0x2e4ff723],
    [
      'quick brown fox seed 0x9747b28c',
      utf8('The quick brown fox jumps over the lazy dog'),
      0x9747b28c,
      0x2fa826cd,
    ],
    ['bytes 0..255 seed 0', Uint8Array.from({ length: 256 }, (_, i) => i), 0, 0xe40a0e56],
    ['bytes 0..255 seed 42', Uint8Array.from({ length: 256 }, (_, i) => i), 42, 0xa89526f3],
  ];

  it.each(published)('%s', (_name, bytes, seed, expected) => {
    expect(murmur3(bytes, seed)).toBe(expected);
  });

  it('defaults the seed to 0', () => {
    expect(murmur3(utf8('hello'))).toBe(0x248bfa47);
  });

  // Lengths 0..9 cover an empty body, every tail length (0-3) with and
  // without whole blocks, and two blocks plus a tail. Three byte patterns:
  // 0x21, 0x43, 0x65, ... (mixed), all 0xff (sign-extension traps), all 0x00.
  // [seed, [mixed, ff, 00] for lengths 0..9], from the reference C++.
  const tails: [number, [number, number, number][]][] = [
    [
      0,
      [
        [0x00000000, 0x00000000, 0x00000000],
        [0x72661cf4, 0xfd6cf10d, 0x514e28b7],
        [0xa0f7b07a, 0x8619621f, 0x30f4c306],
        [0x7e4a8634, 0xbf12a026, 0x85f0b427],
        [0xf55b516b, 0x76293b50, 0x2362f9de],
        [0xc802d1c9, 0x7a12e75c, 0x2d4db2f0],
        [0xa29a98b7, 0x65410d52, 0xf256245d],
        [0x59d17d53, 0x011d1da7, 0xd50f2ee1],
        [0x3cbc040c, 0x627564e8, 0x63852afc],
        [0xadfe2d35, 0x140a9c1f, 0xf957d08f],
      ],
    ],
    [
      0x9747b28c,
      [
        [0xebb6c228, 0xebb6c228, 0xebb6c228],
        [0x1ea21610, 0x6b1dfad6, 0x2933bea8],
        [0x20a4e18e, 0xefdb6771, 0xa8e39363],
        [0x1d4825e6, 0x9d512d79, 0x1e2b63c7],
        [0xab97c41d, 0x9de672fb, 0xa366817d],
        [0xa6335e17, 0xffd9258d, 0x7ac3ec9a],
        [0xafc9c589, 0xe24fb082, 0x04d74b1d],
        [0xb388dd60, 0x0f3c708b, 0xafe66ec9],
        [0x80cd95b6, 0x7584c82b, 0x2e1d9bd8],
        [0x9d3850ac, 0x62900f90, 0xc2191ead],
      ],
    ],
    [
      0xffffffff,
      [
        [0x81f16f39, 0x81f16f39, 0x81f16f39],
        [0x53a43d7e, 0xa53811a1, 0x7995c304],
        [0x9283ded6, 0xa161921f, 0xaa36a1ec],
        [0x0a8d6f1b, 0x83e7bf6b, 0x4aa044bf],
        [0xace43367, 0xa5fe21d3, 0x2fb4abf3],
        [0x675dce82, 0x2eb7ea88, 0x96237591],
        [0x7febde56, 0xc29063b5, 0xb66544f3],
        [0x8f2db75a, 0x2ed13832, 0x65939ff0],
        [0x7ae747f1, 0xc6fd26e5, 0xf2d290ec],
        [0x00078722, 0xc255a77d, 0x27e674ed],
      ],
    ],
  ];
  const rows = tails.flatMap(([seed, byLength]) =>
    byLength.map(([mixed, ff, zero], length) => ({ seed, length, mixed, ff, zero })),
  );

  it.each(rows)('length $length seed $seed: every tail case matches the reference', (row) => {
    const mixed = Uint8Array.from({ length: row.length }, (_, i) => (0x21 + i * 0x22) & 0xff);
    expect(murmur3(mixed, row.seed)).toBe(row.mixed);
    expect(murmur3(new Uint8Array(row.length).fill(0xff), row.seed)).toBe(row.ff);
    expect(murmur3(new Uint8Array(row.length), row.seed)).toBe(row.zero);
  });

  it('agrees with an independent BigInt implementation on arbitrary bytes and seeds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 0xffffffff }), (bytes, seed) => {
        expect(murmur3(bytes, seed)).toBe(referenceMurmur3(bytes, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('returns an unsigned 32-bit integer and reads only the view it is given', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 7 }),
        (bytes, seed, pad) => {
          const h = murmur3(bytes, seed);
          expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
          // The same bytes inside a larger buffer (non-zero byteOffset, junk around).
          const big = new Uint8Array(pad + bytes.length + 5).fill(0xaa);
          big.set(bytes, pad);
          expect(murmur3(big.subarray(pad, pad + bytes.length), seed)).toBe(h);
        },
      ),
    );
  });
});

describe('shardFor', () => {
  const keys = (n: number, prefix = 'key-'): string[] =>
    Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it('is deterministic, an integer, and in [0, shards)', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ unit: 'grapheme' }),
        fc.integer({ min: 1, max: 64 }),
        (ns, key, n) => {
          const s = shardFor(ns, key, n);
          expect(Number.isInteger(s)).toBe(true);
          expect(s).toBeGreaterThanOrEqual(0);
          expect(s).toBeLessThan(n);
          expect(shardFor(ns, key, n)).toBe(s);
        },
      ),
    );
  });

  it('puts every key on shard 0 when there is one shard', () => {
    for (const key of keys(1000)) expect(shardFor('ns', key, 1)).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects shards = %s', (n) => {
    expect(() => shardFor('ns', 'k', n)).toThrow(RangeError);
  });

  // Golden placements: rendezvous over MurmurHash3_x86_32(utf8(namespace + "\0" + key), seed = shard),
  // scored with the reference C++ (see the file comment). If one of these
  // changes, every stored key moves to another Durable Object on deploy.
  it.each([
    ['users', 'u:42', 1, 0],
    ['users', 'u:42', 2, 0],
    ['users', 'u:42', 8, 0],
    ['img', 'photo/1.jpg', 16, 14],
    ['sessions', 'token', 64, 40],
    ['orders', 'order-2024-0001', 8, 3],
    ['orders', 'order-2024-0002', 8, 2],
    ['orders', 'order-2024-0003', 8, 4],
    ['a', '\u{1f600}', 4, 0],
    ['ns', 'キー', 8, 2],
    // Keys are bytes, not normalised text: NFC and NFD spellings of "é" are different keys.
    ['x', '\u00e9', 8, 4],
    ['x', 'e\u0301', 8, 3],
  ] as const)('places (%s, %s) over %i shards on shard %i', (ns, key, n, expected) => {
    expect(shardFor(ns, key, n)).toBe(expected);
  });

  it('spreads 100k keys evenly over 8 shards (chi-square and max deviation < 5%)', () => {
    const n = 8;
    const total = 100_000;
    const counts = new Array<number>(n).fill(0);
    for (const key of keys(total)) {
      const s = shardFor('bench', key, n);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    const expected = total / n;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // Chi-square critical value, 7 degrees of freedom, p = 0.001.
    expect(chi2).toBeLessThan(24.32);
    for (const c of counts) expect(Math.abs(c - expected) / expected).toBeLessThan(0.05);
  });

  it('growing from n to n+1 shards moves keys only to the new shard, about 1/(n+1) of them', () => {
    const sample = keys(20_000, 'item:');
    let before = sample.map((k) => shardFor('grow', k, 1));
    for (let n = 1; n <= 16; n++) {
      const after = sample.map((k) => shardFor('grow', k, n + 1));
      let moved = 0;
      for (let i = 0; i < sample.length; i++) {
        if (after[i] !== before[i]) {
          moved++;
          expect(after[i]).toBe(n);
        }
      }
      const p = 1 / (n + 1);
      // Four standard deviations of a binomial(20k, p) proportion.
      const tolerance = 4 * Math.sqrt((p * (1 - p)) / sample.length);
      expect(Math.abs(moved / sample.length - p)).toBeLessThan(tolerance);
      before = after;
    }
  });

  it('for any key, the owner over n+1 shards is the owner over n or the new shard n', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 40 }),
        fc.integer({ min: 1, max: 40 }),
        (ns, key, n) => {
          expect([shardFor(ns, key, n), n]).toContain(shardFor(ns, key, n + 1));
        },
      ),
    );
  });

  it('hashes the same key independently in two namespaces (8x8 table is uniform)', () => {
    const n = 8;
    const total = 64_000;
    const table = new Array<number>(n * n).fill(0);
    let same = 0;
    for (const key of keys(total)) {
      const a = shardFor('alpha', key, n);
      const b = shardFor('beta', key, n);
      if (a === b) same++;
      table[a * n + b] = (table[a * n + b] ?? 0) + 1;
    }
    // If the namespace were ignored every key would agree (same = total).
    expect(Math.abs(same / total - 1 / n)).toBeLessThan(0.01);
    const expected = total / (n * n);
    const chi2 = table.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // Chi-square critical value, 63 degrees of freedom, p = 0.001.
    expect(chi2).toBeLessThan(103.44);
  });

  it('keeps the namespace/key boundary: ("abc", "d…") and ("abcd", "…") are different keys', () => {
    const n = 8;
    const total = 16_000;
    let same = 0;
    for (const s of keys(total, 'abcdef-')) {
      if (shardFor(s.slice(0, 3), s.slice(3), n) === shardFor(s.slice(0, 4), s.slice(4), n)) same++;
    }
    // Concatenating without a separator would make every pair agree.
    expect(Math.abs(same / total - 1 / n)).toBeLessThan(0.015);
  });

  it('handles unicode keys: astral, CJK, combining marks, RTL, all in range and stable', () => {
    const unicode = [
      '\u{1f600}',
      '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}',
      '日本語のキー',
      'مفتاح',
      'a\u0301\u0302',
      '\u{10ffff}',
    ];
    for (const key of unicode) {
      for (const n of [1, 2, 3, 8, 17]) {
        const s = shardFor('unicode', key, n);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(n);
        expect(shardFor('unicode', key, n)).toBe(s);
      }
    }
    // Over many unicode keys the spread stays even (not all on one shard).
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 8000; i++) {
      const s = shardFor('unicode', `${String.fromCodePoint(0x4e00 + i)}\u{1f600}`, 4);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 2000) / 2000).toBeLessThan(0.1);
  });
});

describe('shardName', () => {
  it.each([
    ['us-east', 0, 'us-east:shard:0'],
    ['local', 7, 'local:shard:7'],
    ['eu-west-2', 4095, 'eu-west-2:shard:4095'],
  ] as const)('(%s, %i) → %s', (region, shard, name) => {
    expect(shardName(region, shard)).toBe(name);
  });

  it('gives every (region, shard) pair its own Durable Object name', () => {
    // Regions cannot contain ':' (see configFor), so the name is injective.
    const regions = ['a', 'a-b', 'ab', 'b', 'us-east', 'us-east-1'];
    const names = new Set<string>();
    for (const region of regions)
      for (let shard = 0; shard < 64; shard++) names.add(shardName(region, shard));
    expect(names.size).toBe(regions.length * 64);
  });
});

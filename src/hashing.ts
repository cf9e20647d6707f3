/**
 * Key → shard placement by rendezvous (highest-random-weight) hashing.
 *
 * Every shard scores the key with MurmurHash3 (x86, 32-bit) seeded by the
 * shard's index; the highest score owns the key. Adding a shard moves only
 * the keys the new shard wins (about 1/(n+1) of them), and no table is kept.
 */

const encoder = new TextEncoder();

/**
 * MurmurHash3 x86_32 of `bytes` with `seed`, as an unsigned 32-bit integer.
 * @example murmur3(new TextEncoder().encode('hello'), 0) // 0x248bfa47
 */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const len = bytes.length;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // Tail: the last 1-3 bytes, little-endian.
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The shard index in `[0, shards)` that owns `key` in `namespace`.
 *
 * Only the part of the key before its first newline places it, so keys
 * that share that part live on one shard: proxy mode keeps a URL's Vary
 * marker and all its variants (`<target>\n<variant>`) together, where one
 * shard collapses their origin requests. Key API keys cannot contain
 * control characters, so for them this is the whole key.
 * @example shardFor('users', 'u:42', 8) // a stable number in 0..7
 */
export function shardFor(namespace: string, key: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError('shards must be a positive integer');
  const newline = key.indexOf('\n');
  const placed = newline === -1 ? key : key.slice(0, newline);
  const bytes = encoder.encode(`${namespace}\u0000${placed}`);
  let best = 0;
  let bestScore = -1;
  for (let shard = 0; shard < shards; shard++) {
    const score = murmur3(bytes, shard);
    // Ties (2^-32 per pair) go to the lower index, deterministically.
    if (score > bestScore) {
      best = shard;
      bestScore = score;
    }
  }
  return best;
}

/** The Durable Object name of a shard: one object per (region, shard). */
export function shardName(region: string, shard: number): string {
  return `${region}:shard:${shard}`;
}

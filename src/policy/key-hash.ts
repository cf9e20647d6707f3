/**
 * A fast, allocation-free 32-bit hash of a cache key for the policies'
 * sketches and sampling: FNV-1a over the UTF-16 code units, finished with
 * MurmurHash3's fmix32 so every output bit depends on every input bit
 * (sketch indexes and sample filters take different bit ranges of it).
 * Not for placement: shards use murmur3 over UTF-8 bytes (`hashing.ts`).
 *
 * @example
 * const h = hashKey('user:42'); // a stable unsigned 32-bit integer
 */

/** MurmurHash3's 32-bit finaliser: a bijective mix of `h`. */
export function mix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The 32-bit hash of `key` (unsigned). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** LastSeen: previous read times by hash, NEVER for unseen or displaced keys. */
import { describe, expect, it } from 'vitest';
import { hashKey } from '../../../src/policy/key-hash.ts';
import { LastSeen, NEVER } from '../../../src/policy/last-seen.ts';

describe('LastSeen', () => {
  it('returns the previous read of a key, NEVER the first time', () => {
    const seen = new LastSeen(100);
    const a = hashKey('a');
    expect(seen.record(a, 1)).toBe(NEVER);
    expect(seen.record(hashKey('b'), 2)).toBe(NEVER);
    expect(seen.record(a, 5)).toBe(1);
    expect(seen.record(a, 9)).toBe(5);
  });

  it('reads a slot taken by another key as NEVER (fingerprint mismatch)', () => {
    const seen = new LastSeen(1); // 64 slots: collisions are easy to find
    const h = hashKey('x');
    // Another hash with the same slot index but a different fingerprint.
    const other = (h ^ 1) >>> 0;
    seen.record(h, 1);
    seen.record(other, 2);
    expect(seen.record(h, 3)).toBe(NEVER);
  });

  it('stays exact for access numbers beyond 2^24 (the stored value wraps)', () => {
    const seen = new LastSeen(16);
    const h = hashKey('k');
    seen.record(h, 2 ** 24 + 5);
    expect(seen.record(h, 2 ** 24 + 900)).toBe(2 ** 24 + 5);
  });

  it('keeps its answers when it grows and after a snapshot round trip', () => {
    const seen = new LastSeen(16);
    const keys = Array.from({ length: 20 }, (_, i) => hashKey(`k${i}`));
    keys.forEach((h, i) => {
      seen.record(h, i + 1);
    });
    seen.ensureCapacity(1000);
    const copy = LastSeen.load(JSON.parse(JSON.stringify(seen.save())));
    keys.forEach((h, i) => {
      const expected = seen.record(h, 100 + i);
      expect(copy.record(h, 100 + i)).toBe(expected);
    });
  });
});

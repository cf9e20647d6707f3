/** API key format, hashing, constant-time comparison, the record cache and key verification (node). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_PRINCIPAL,
  formatApiKey,
  generateApiKey,
  hashSecret,
  isBootstrapKey,
  isKeyId,
  isNamespacePattern,
  type KeyRecord,
  KeyRecordCache,
  parseApiKey,
  secretMatches,
  sha256,
  timingSafeEqual,
  toHex,
  verifyApiKey,
} from '../../src/auth/api-keys.ts';
import { StrataError } from '../../src/errors.ts';

const SECRET = `${'A'.repeat(42)}Q`; // 43 base64url characters
const ID = '0123456789abcdef';

describe('API key format', () => {
  it('parses the documented shape', () => {
    expect(parseApiKey(`strata_${ID}_${SECRET}`)).toEqual({ id: ID, secret: SECRET });
    // The secret alphabet includes "_" and "-": the fixed-length id keeps parsing unambiguous.
    const tricky = `_-${'x'.repeat(39)}_-`;
    expect(parseApiKey(`strata_${ID}_${tricky}`)).toEqual({ id: ID, secret: tricky });
  });

  it.each([
    ['empty', ''],
    ['no prefix', `${ID}_${SECRET}`],
    ['wrong prefix', `strata-${ID}_${SECRET}`],
    ['upper-case id', `strata_${ID.toUpperCase()}_${SECRET}`],
    ['short id', `strata_${ID.slice(1)}_${SECRET}`],
    ['non-hex id', `strata_0123456789abcdeg_${SECRET}`],
    ['short secret', `strata_${ID}_${SECRET.slice(1)}`],
    ['long secret', `strata_${ID}_${SECRET}A`],
    ['padded secret', `strata_${ID}_${SECRET.slice(0, 42)}=`],
    ['standard base64 secret', `strata_${ID}_${SECRET.slice(0, 42)}+`],
    ['trailing newline', `strata_${ID}_${SECRET}\n`],
  ])('rejects %s', (_name, raw) => {
    expect(parseApiKey(raw)).toBeNull();
  });

  it('generates keys that round-trip through format and parse', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const parts = generateApiKey();
      expect(isKeyId(parts.id)).toBe(true);
      expect(parts.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(parseApiKey(formatApiKey(parts))).toEqual(parts);
      seen.add(parts.id);
    }
    expect(seen.size).toBe(200);
  });

  it('format and parse are inverse for every id and 32-byte secret', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (idBytes, secretBytes) => {
          const id = toHex(idBytes);
          const secret = Buffer.from(secretBytes).toString('base64url');
          expect(parseApiKey(formatApiKey({ id, secret }))).toEqual({ id, secret });
        },
      ),
    );
  });
});

describe('hashing', () => {
  it('is SHA-256 of the UTF-8 bytes (FIPS 180-2 vectors)', async () => {
    expect(toHex(await sha256('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(await sha256(''))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(await hashSecret('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('matches a secret against its stored hash only', async () => {
    const hash = await hashSecret(SECRET);
    expect(await secretMatches(SECRET, hash)).toBe(true);
    expect(await secretMatches(`${SECRET.slice(0, 42)}R`, hash)).toBe(false);
    expect(await secretMatches(SECRET, '')).toBe(false);
    expect(await secretMatches(SECRET, hash.toUpperCase())).toBe(false);
  });
});

describe('timingSafeEqual', () => {
  const b = (...xs: number[]) => new Uint8Array(xs);
  it.each([
    ['equal', b(1, 2, 3), b(1, 2, 3), true],
    ['empty', b(), b(), true],
    ['first byte differs', b(0, 2, 3), b(1, 2, 3), false],
    ['last byte differs', b(1, 2, 3), b(1, 2, 4), false],
    ['one bit differs', b(0x80), b(0x00), false],
    ['lengths differ', b(1, 2), b(1, 2, 3), false],
  ])('%s', (_name, x, y, expected) => {
    expect(timingSafeEqual(x, y)).toBe(expected);
  });

  it('runs the portable loop in node (no crypto.subtle.timingSafeEqual here)', () => {
    expect(typeof (crypto.subtle as { timingSafeEqual?: unknown }).timingSafeEqual).toBe(
      'undefined',
    );
  });

  it('agrees with byte equality for any inputs of equal length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (x, y) => {
          expect(timingSafeEqual(x, y)).toBe(Buffer.compare(x, y) === 0);
          expect(timingSafeEqual(x, x.slice())).toBe(true);
        },
      ),
    );
  });
});

describe('namespace patterns', () => {
  it.each([
    ['*', true],
    ['a', true],
    ['team-a', true],
    ['team-a-*', true],
    ['t*', true],
    ['a'.repeat(64), true],
    [`${'a'.repeat(64)}*`, true],
    ['', false],
    ['**', false],
    ['*a', false],
    ['a*b', false],
    ['A', false],
    ['-a', false],
    ['a b', false],
    ['a'.repeat(65), false],
    ['a/b', false],
  ])('%j → %s', (pattern, ok) => {
    expect(isNamespacePattern(pattern)).toBe(ok);
  });
});

describe('KeyRecordCache', () => {
  const record = (id: string, revokedAt: number | null = null): KeyRecord => ({
    id,
    name: null,
    hash: 'h',
    namespaces: ['a'],
    scopes: ['read'],
    createdAt: 0,
    revokedAt,
  });

  it('serves a record for exactly the TTL', () => {
    const cache = new KeyRecordCache(10);
    cache.set(record(ID), 1000);
    expect(cache.get(ID, 1000)).toBeDefined();
    expect(cache.get(ID, 10_999)).toBeDefined();
    expect(cache.get(ID, 11_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets a record on delete', () => {
    const cache = new KeyRecordCache(10);
    cache.set(record(ID), 0);
    cache.delete(ID);
    expect(cache.get(ID, 1)).toBeUndefined();
  });

  it('holds nothing with a TTL of 0', () => {
    const cache = new KeyRecordCache(0);
    cache.set(record(ID), 0);
    expect(cache.size).toBe(0);
    expect(cache.get(ID, 0)).toBeUndefined();
  });

  it('drops the oldest entry beyond its bound', () => {
    const cache = new KeyRecordCache(10, 2);
    cache.set(record('1'), 0);
    cache.set(record('2'), 0);
    cache.set(record('3'), 0);
    expect(cache.size).toBe(2);
    expect(cache.get('1', 0)).toBeUndefined();
    expect(cache.get('3', 0)).toBeDefined();
  });

  it('rejects nonsense bounds', () => {
    expect(() => new KeyRecordCache(-1)).toThrow(RangeError);
    expect(() => new KeyRecordCache(Number.NaN)).toThrow(RangeError);
    expect(() => new KeyRecordCache(1, 0)).toThrow(RangeError);
  });
});

describe('verifyApiKey', () => {
  async function setup(overrides: Partial<KeyRecord> = {}) {
    const parts = generateApiKey();
    const stored: KeyRecord = {
      id: parts.id,
      name: 'ci',
      hash: await hashSecret(parts.secret),
      namespaces: ['a', 'team-*'],
      scopes: ['read', 'write'],
      createdAt: 0,
      revokedAt: null,
      ...overrides,
    };
    const db = new Map([[stored.id, stored]]);
    let lookups = 0;
    const lookup = async (id: string) => {
      lookups++;
      return db.get(id) ?? null;
    };
    return { key: formatApiKey(parts), parts, db, lookup, lookups: () => lookups };
  }

  async function rejection(p: Promise<unknown>): Promise<StrataError> {
    const err = await p.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StrataError);
    return err as StrataError;
  }

  it('maps an active key to its principal', async () => {
    const s = await setup();
    const p = await verifyApiKey(s.key, {
      lookup: s.lookup,
      cache: new KeyRecordCache(10),
      now: 0,
    });
    expect(p.id).toBe(`key:${s.parts.id}`);
    expect(p.kind).toBe('api-key');
    expect([...p.scopes]).toEqual(['read', 'write']);
    expect(p.namespaces).toEqual(['a', 'team-*']);
  });

  it('answers unknown, revoked and wrong-secret keys alike, with a 401 that never echoes the key', async () => {
    const s = await setup();
    const cache = new KeyRecordCache(0);
    const wrongSecret = formatApiKey({ id: s.parts.id, secret: generateApiKey().secret });
    const unknown = formatApiKey(generateApiKey());
    const revoked = await setup({ revokedAt: 5 });
    const errors = [
      await rejection(verifyApiKey(wrongSecret, { lookup: s.lookup, cache, now: 0 })),
      await rejection(verifyApiKey(unknown, { lookup: s.lookup, cache, now: 0 })),
      await rejection(verifyApiKey(revoked.key, { lookup: revoked.lookup, cache, now: 0 })),
    ];
    for (const err of errors) {
      expect(err.status).toBe(401);
      expect(err.message).toBe(errors[0]?.message);
      expect(err.headers['WWW-Authenticate']).toBe('Bearer realm="strata", error="invalid_token"');
    }
    for (const [err, key] of [
      [errors[0], wrongSecret],
      [errors[1], unknown],
    ] as const) {
      expect(err?.message).not.toContain(key);
    }
  });

  it('rejects a malformed key without a lookup', async () => {
    const s = await setup();
    const err = await rejection(
      verifyApiKey('strata_nope', { lookup: s.lookup, cache: new KeyRecordCache(10), now: 0 }),
    );
    expect(err.message).toContain('malformed');
    expect(err.message).not.toContain('strata_nope');
    expect(s.lookups()).toBe(0);
  });

  it('reuses a record for the TTL: a revocation elsewhere shows after at most AUTH_CACHE_TTL', async () => {
    const s = await setup();
    const cache = new KeyRecordCache(10);
    await verifyApiKey(s.key, { lookup: s.lookup, cache, now: 0 });
    await verifyApiKey(s.key, { lookup: s.lookup, cache, now: 9_999 });
    expect(s.lookups()).toBe(1);
    // Revoked in another isolate: this one still has the old record…
    s.db.set(s.parts.id, { ...(s.db.get(s.parts.id) as KeyRecord), revokedAt: 1 });
    await verifyApiKey(s.key, { lookup: s.lookup, cache, now: 9_999 });
    // …until the entry expires.
    const err = await rejection(verifyApiKey(s.key, { lookup: s.lookup, cache, now: 10_000 }));
    expect(err.status).toBe(401);
    expect(s.lookups()).toBe(2);
  });

  it('stops at once in the isolate that revoked (cache.delete)', async () => {
    const s = await setup();
    const cache = new KeyRecordCache(10);
    await verifyApiKey(s.key, { lookup: s.lookup, cache, now: 0 });
    s.db.set(s.parts.id, { ...(s.db.get(s.parts.id) as KeyRecord), revokedAt: 1 });
    cache.delete(s.parts.id);
    expect((await rejection(verifyApiKey(s.key, { lookup: s.lookup, cache, now: 1 }))).status).toBe(
      401,
    );
  });
});

describe('bootstrap admin key', () => {
  it('matches only the exact key, whatever the lengths', async () => {
    const digest = await sha256('test-admin-key');
    expect(await isBootstrapKey('test-admin-key', digest)).toBe(true);
    for (const other of [
      '',
      'test-admin-ke',
      'test-admin-key ',
      'TEST-ADMIN-KEY',
      'x'.repeat(4096),
    ]) {
      expect(await isBootstrapKey(other, digest)).toBe(false);
    }
  });

  it('grants every scope on every namespace', () => {
    expect(BOOTSTRAP_PRINCIPAL).toMatchObject({
      id: 'admin:bootstrap',
      kind: 'bootstrap',
      namespaces: ['*'],
    });
    expect([...BOOTSTRAP_PRINCIPAL.scopes].sort()).toEqual(['admin', 'read', 'write']);
  });
});

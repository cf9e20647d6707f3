/**
 * The Standard Webhooks verifier (src/webhooks/standard-webhooks.ts): the
 * spec's example, signatures made by an independent implementation (the
 * `standardwebhooks` package) and by node:crypto, rotation, the timestamp
 * window, and every way a header may be wrong.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  checkHeaders,
  MAX_SIGNATURES,
  parseSecret,
  type RawWebhookHeaders,
  signWebhook,
  TOLERANCE_SECONDS,
  verifyWebhook,
} from '../../src/webhooks/standard-webhooks.ts';

// The example in the spec ("Signature scheme").
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const NOW_S = 1_700_000_000;
const NOW_MS = NOW_S * 1000;

function newSecret(bytes = 24): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}

/** A second signer, independent of the code under test. */
function nodeSign(secret: string, id: string, ts: number, body: string | Buffer): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

function headers(id: string, ts: number | string, signature: string | null): RawWebhookHeaders {
  return { id, timestamp: String(ts), signature };
}

describe('the spec example', () => {
  it('node:crypto computes the documented signature', () => {
    expect(nodeSign(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.payload)).toBe(SPEC.signature);
  });

  it('signWebhook computes it too', async () => {
    const key = parseSecret(SPEC.secret);
    expect(key.byteLength).toBe(24);
    expect(await signWebhook(key, SPEC.id, SPEC.timestamp, SPEC.payload)).toBe(SPEC.signature);
  });

  it('is accepted at its own timestamp, as a string or as bytes', async () => {
    const keys = [parseSecret(SPEC.secret)];
    const raw = headers(SPEC.id, SPEC.timestamp, SPEC.signature);
    const now = SPEC.timestamp * 1000;
    expect((await verifyWebhook(raw, SPEC.payload, keys, now)).ok).toBe(true);
    const bytes = new TextEncoder().encode(SPEC.payload);
    expect((await verifyWebhook(raw, bytes, keys, now)).ok).toBe(true);
  });

  it('is refused a year later', async () => {
    const verdict = await verifyWebhook(
      headers(SPEC.id, SPEC.timestamp, SPEC.signature),
      SPEC.payload,
      [parseSecret(SPEC.secret)],
      (SPEC.timestamp + 365 * 86_400) * 1000,
    );
    expect(verdict).toMatchObject({ ok: false, reason: 'expired' });
  });
});

describe('against the standardwebhooks package', () => {
  it('accepts whatever it signs (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.integer({ min: -TOLERANCE_SECONDS, max: TOLERANCE_SECONDS }),
        async (id, body, skew) => {
          const secret = newSecret();
          const ts = NOW_S + skew;
          const signature = new Webhook(secret).sign(id, new Date(ts * 1000), body);
          const verdict = await verifyWebhook(
            headers(id, ts, signature),
            body,
            [parseSecret(secret)],
            NOW_MS,
          );
          expect(verdict.ok).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('its verify accepts what signWebhook produces', async () => {
    const secret = newSecret(32);
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      type: 'cache.invalidate',
      data: { namespace: 'pages', all: true },
    });
    const signature = await signWebhook(parseSecret(secret), id, ts, body);
    const parsed = new Webhook(secret).verify(body, {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signature,
    });
    expect(parsed).toEqual(JSON.parse(body));
  });

  it('both refuse the other secret', async () => {
    const [a, b] = [newSecret(), newSecret()];
    const signature = new Webhook(a).sign('msg_1', new Date(NOW_MS), 'x');
    const verdict = await verifyWebhook(
      headers('msg_1', NOW_S, signature),
      'x',
      [parseSecret(b)],
      NOW_MS,
    );
    expect(verdict).toMatchObject({ ok: false, reason: 'invalid-signature' });
  });
});

describe('rotation and signature lists', () => {
  const [oldSecret, newSecret_, otherSecret] = [newSecret(), newSecret(), newSecret()];
  const keys = [parseSecret(oldSecret), parseSecret(newSecret_)];
  const id = 'msg_rotation';
  const body = '{"type":"cache.invalidate"}';
  const sig = (secret: string) => nodeSign(secret, id, NOW_S, body);

  it.each([
    ['signed with the old secret', () => sig(oldSecret), true],
    ['signed with the new secret', () => sig(newSecret_), true],
    ['signed with both', () => `${sig(oldSecret)} ${sig(newSecret_)}`, true],
    ['signed with another secret', () => sig(otherSecret), false],
    ['another secret, then the new one', () => `${sig(otherSecret)} ${sig(newSecret_)}`, true],
    ['an unknown version first (v1a)', () => `v1a,${'A'.repeat(86)}== ${sig(oldSecret)}`, true],
    ['extra spaces between entries', () => `  ${sig(otherSecret)}   ${sig(oldSecret)} `, true],
    ['the right MAC under version v2', () => sig(oldSecret).replace('v1,', 'v2,'), false],
    ['the right MAC with no version', () => sig(oldSecret).slice(3), false],
    ['the right MAC, uppercase V1', () => sig(oldSecret).replace('v1,', 'V1,'), false],
  ])('%s: accepted=%s', async (_name, signature, accepted) => {
    const verdict = await verifyWebhook(headers(id, NOW_S, signature()), body, keys, NOW_MS);
    expect(verdict.ok).toBe(accepted);
    if (!accepted) expect(verdict).toMatchObject({ reason: 'invalid-signature' });
  });

  it(`reads at most ${MAX_SIGNATURES} entries`, async () => {
    const filler = Array.from({ length: MAX_SIGNATURES - 1 }, () => sig(otherSecret));
    const ten = [...filler, sig(oldSecret)].join(' ');
    expect((await verifyWebhook(headers(id, NOW_S, ten), body, keys, NOW_MS)).ok).toBe(true);
    const eleven = [...filler, sig(otherSecret), sig(oldSecret)].join(' ');
    expect(await verifyWebhook(headers(id, NOW_S, eleven), body, keys, NOW_MS)).toMatchObject({
      ok: false,
      reason: 'too-many-signatures',
    });
  });

  it.each([
    'v1',
    'v1,',
    ',',
    'v1,!!!!',
    'v1,abc',
    'v1,AAAA',
    `v1,${'A'.repeat(43)}`,
    `v1,${Buffer.alloc(31).toString('base64')}`,
    `v1,${Buffer.alloc(33).toString('base64')}`,
    `v1,${'A'.repeat(43)}=,x`,
    `v1,${'A='.repeat(22)}`,
  ])('a malformed entry (%j) is ignored, never accepted or thrown', async (piece) => {
    const verdict = await verifyWebhook(headers(id, NOW_S, piece), body, keys, NOW_MS);
    expect(verdict).toMatchObject({ ok: false, reason: 'invalid-signature' });
    const withGood = await verifyWebhook(
      headers(id, NOW_S, `${piece} ${sig(newSecret_)}`),
      body,
      keys,
      NOW_MS,
    );
    expect(withGood.ok).toBe(true);
  });
});

describe('what the signature covers', () => {
  const secret = newSecret();
  const keys = [parseSecret(secret)];
  const body = '{"type":"cache.invalidate","data":{"namespace":"pages","tags":["t1"]}}';
  const signature = nodeSign(secret, 'msg_a', NOW_S, body);

  it.each([
    ['the body, one character', 'msg_a', NOW_S, body.replace('t1', 't2')],
    ['the body, a trailing newline', 'msg_a', NOW_S, `${body}\n`],
    ['the id', 'msg_b', NOW_S, body],
    ['the timestamp, by one second', 'msg_a', NOW_S + 1, body],
    ['the timestamp, written with a leading zero', 'msg_a', `0${NOW_S}`, body],
  ])('changing %s breaks it', async (_name, id, ts, changed) => {
    const verdict = await verifyWebhook(headers(id, ts, signature), changed, keys, NOW_MS);
    expect(verdict).toMatchObject({ ok: false, reason: 'invalid-signature' });
  });

  it('covers the bytes as sent, even when they are not UTF-8', async () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const sig = nodeSign(secret, 'msg_bin', NOW_S, bytes);
    const ok = await verifyWebhook(
      headers('msg_bin', NOW_S, sig),
      new Uint8Array(bytes),
      keys,
      NOW_MS,
    );
    expect(ok.ok).toBe(true);
  });

  it('an endpoint without keys accepts nothing', async () => {
    const verdict = await verifyWebhook(headers('msg_a', NOW_S, signature), body, [], NOW_MS);
    expect(verdict).toMatchObject({ ok: false, reason: 'invalid-signature' });
  });
});

describe('the timestamp window', () => {
  const secret = newSecret();
  const keys = [parseSecret(secret)];

  it.each([
    [0, true],
    [-TOLERANCE_SECONDS, true],
    [TOLERANCE_SECONDS, true],
    [-(TOLERANCE_SECONDS + 1), false],
    [TOLERANCE_SECONDS + 1, false],
    [-86_400, false],
    [86_400, false],
  ])('a timestamp %i s from now: accepted=%s', async (skew, accepted) => {
    const ts = NOW_S + skew;
    const verdict = await verifyWebhook(
      headers('msg_t', ts, nodeSign(secret, 'msg_t', ts, 'b')),
      'b',
      keys,
      NOW_MS,
    );
    expect(verdict.ok).toBe(accepted);
    if (!accepted) expect(verdict).toMatchObject({ reason: 'expired', skewSeconds: skew });
  });

  it('uses whole seconds of the clock (now = 300.999 s after the timestamp passes)', () => {
    const check = checkHeaders(
      headers('m', NOW_S, 'v1,x'),
      NOW_MS + TOLERANCE_SECONDS * 1000 + 999,
    );
    expect(check.ok).toBe(true);
  });

  it('checks the window before the signature: a forged old delivery is "expired"', async () => {
    const verdict = await verifyWebhook(headers('m', NOW_S - 3600, 'v1,forged'), 'b', keys, NOW_MS);
    expect(verdict).toMatchObject({ ok: false, reason: 'expired' });
  });
});

describe('missing and malformed headers', () => {
  const good = { id: 'msg_1', timestamp: String(NOW_S), signature: 'v1,x' };

  it.each<[string, Partial<RawWebhookHeaders>, string]>([
    ['no signature', { signature: null }, 'missing-signature'],
    ['an empty signature', { signature: '' }, 'missing-signature'],
    ['a blank signature', { signature: '   ' }, 'missing-signature'],
    ['no signature and no id', { signature: undefined, id: undefined }, 'missing-signature'],
    ['no id', { id: null }, 'missing-id'],
    ['an id with a space', { id: 'msg 1' }, 'malformed-id'],
    ['an id of 257 characters', { id: 'm'.repeat(257) }, 'malformed-id'],
    ['an id with non-ASCII', { id: 'msg_é' }, 'malformed-id'],
    ['no timestamp', { timestamp: null }, 'missing-timestamp'],
    ['a timestamp in milliseconds', { timestamp: String(NOW_MS) }, 'malformed-timestamp'],
    ['a fractional timestamp', { timestamp: `${NOW_S}.5` }, 'malformed-timestamp'],
    ['a negative timestamp', { timestamp: `-${NOW_S}` }, 'malformed-timestamp'],
    ['a timestamp with a sign', { timestamp: `+${NOW_S}` }, 'malformed-timestamp'],
    ['a timestamp with trailing text', { timestamp: `${NOW_S}abc` }, 'malformed-timestamp'],
    ['an exponent', { timestamp: '1.7e9' }, 'malformed-timestamp'],
    ['an ISO date', { timestamp: new Date(NOW_MS).toISOString() }, 'malformed-timestamp'],
    ['12 digits (year 33658)', { timestamp: '9'.repeat(12) }, 'expired'],
  ])('%s → %s', (_name, change, reason) => {
    expect(checkHeaders({ ...good, ...change }, NOW_MS)).toMatchObject({ ok: false, reason });
  });

  it('an id of 256 visible characters is fine', () => {
    expect(checkHeaders({ ...good, id: '~'.repeat(256) }, NOW_MS).ok).toBe(true);
  });
});

describe('parseSecret', () => {
  it('decodes whsec_ secrets, padded or not', () => {
    const key = randomBytes(32);
    const b64 = key.toString('base64');
    expect(Buffer.from(parseSecret(`whsec_${b64}`))).toEqual(key);
    expect(Buffer.from(parseSecret(`whsec_${b64.replace(/=+$/, '')}`))).toEqual(key);
  });

  it.each([
    ['without the prefix', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'starts with "whsec_"'],
    ['with another prefix', 'whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'starts with "whsec_"'],
    ['upper-case prefix', 'WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'starts with "whsec_"'],
    ['the prefix alone', 'whsec_', 'standard base64'],
    ['not base64', 'whsec_MfKQ9r8GKYqrTwjU-D8ILPZIo2LaLaS!', 'standard base64'],
    ['base64url', 'whsec_MfKQ9r8GKYqrTwjU_D8ILPZIo2LaLaSw', 'standard base64'],
    ['with spaces', 'whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw', 'standard base64'],
    ['a 16-byte key', `whsec_${randomBytes(16).toString('base64')}`, 'this one is 16'],
    ['a 65-byte key', `whsec_${randomBytes(65).toString('base64')}`, 'this one is 65'],
  ])('refuses a secret %s, without repeating it', (_name, secret, message) => {
    let error: Error | undefined;
    try {
      parseSecret(secret);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toContain(message);
    const body = secret.slice(6, 20);
    if (body) expect(error?.message).not.toContain(body);
  });

  it('the standardwebhooks package would take a bare base64 secret; Strata asks for the prefix', () => {
    const bare = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(new Webhook(bare).sign(SPEC.id, new Date(SPEC.timestamp * 1000), SPEC.payload)).toBe(
      SPEC.signature,
    );
    expect(() => parseSecret(bare)).toThrow(/whsec_/);
  });
});

/**
 * StrataError and its RFC 9457 problem+json rendering (src/errors.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, problemResponse, problemType, StrataError } from '../../src/errors.ts';

// [code, HTTP status, title]: the whole ErrorCode union.
const CODES = [
  ['bad-request', 400, 'Bad request'],
  ['invalid-namespace', 400, 'Invalid namespace'],
  ['invalid-key', 400, 'Invalid key'],
  ['invalid-cache-control', 400, 'Invalid Cache-Control'],
  ['invalid-tag', 400, 'Invalid Cache-Tag'],
  ['invalid-content-type', 400, 'Invalid Content-Type'],
  ['invalid-priority', 400, 'Invalid Cache-Priority or Cache-Cost'],
  ['payload-too-large', 413, 'Payload too large'],
  ['unauthorized', 401, 'Unauthorized'],
  ['forbidden', 403, 'Forbidden'],
  ['not-found', 404, 'Not found'],
  ['method-not-allowed', 405, 'Method not allowed'],
  ['tier-unavailable', 503, 'Tier unavailable'],
  ['invalid-consistency', 400, 'Invalid Strata-Consistency'],
  ['quorum-not-reached', 503, 'Quorum not reached'],
  ['home-unreachable', 503, 'Home region unreachable'],
  ['conflict', 409, 'Conflict'],
  ['invalid-purge', 400, 'Invalid purge'],
  ['invalid-signature', 401, 'Invalid webhook signature'],
  ['uri-too-long', 414, 'URI too long'],
  ['origin-unreachable', 502, 'Origin unreachable'],
  ['origin-timeout', 504, 'Origin timeout'],
  ['not-cached', 504, 'Not in cache'],
  ['internal', 500, 'Internal error'],
] as const satisfies readonly (readonly [ErrorCode, number, string])[];

// Compile-time check that the table covers every code: adding a code to
// ErrorCode without a row here fails `tsc`.
type Missing = Exclude<ErrorCode, (typeof CODES)[number][0]>;
const everyCodeCovered: [Missing] extends [never] ? true : false = true;

async function problemOf(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as Record<string, unknown>;
}

describe('StrataError', () => {
  it('has a row for every ErrorCode', () => {
    expect(everyCodeCovered).toBe(true);
    expect(new Set(CODES.map(([code]) => code)).size).toBe(CODES.length);
  });

  it.each(CODES)('%s → status %i', (code, status) => {
    const err = new StrataError(code, 'something specific');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(StrataError);
    expect(err.name).toBe('StrataError');
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.message).toBe('something specific');
    expect(err.extensions).toEqual({});
    expect(err.headers).toEqual({});
  });

  it('keeps cause, extensions and headers', () => {
    const cause = new Error('redis: connection reset');
    const err = new StrataError('tier-unavailable', 'L3 is down.', {
      cause,
      extensions: { tier: 'L3' },
      headers: { 'retry-after': '5' },
    });
    expect(err.cause).toBe(cause);
    expect(err.extensions).toEqual({ tier: 'L3' });
    expect(err.headers).toEqual({ 'retry-after': '5' });
  });

  it('lets a switch on code narrow (discriminated by code)', () => {
    const describeErr = (e: StrataError): string => {
      switch (e.code) {
        case 'unauthorized':
        case 'forbidden':
          return 'auth';
        case 'internal':
          return 'bug';
        default:
          return 'other';
      }
    };
    expect(describeErr(new StrataError('forbidden', 'x'))).toBe('auth');
    expect(describeErr(new StrataError('internal', 'x'))).toBe('bug');
    expect(describeErr(new StrataError('invalid-key', 'x'))).toBe('other');
  });
});

describe('problemType', () => {
  it.each(CODES)('%s → urn:strata:problem:%s', (code) => {
    expect(problemType(code)).toBe(`urn:strata:problem:${code}`);
  });
});

describe('problemResponse', () => {
  it.each(CODES)(
    'renders %s as status %i with type, title, status and detail',
    async (code, status, title) => {
      const res = problemResponse(new StrataError(code, `detail for ${code}`));
      expect(res.status).toBe(status);
      expect(await problemOf(res)).toEqual({
        type: `urn:strata:problem:${code}`,
        title,
        status,
        detail: `detail for ${code}`,
      });
    },
  );

  it('adds instance when given, and omits it otherwise', async () => {
    const err = new StrataError('not-found', 'No such key.');
    expect(await problemOf(problemResponse(err, '/v1/cache/users/u%3A42'))).toMatchObject({
      instance: '/v1/cache/users/u%3A42',
    });
    expect(await problemOf(problemResponse(err))).not.toHaveProperty('instance');
    expect(await problemOf(problemResponse(err, ''))).not.toHaveProperty('instance');
  });

  it('merges extensions as top-level members (RFC 9457 §3.2)', async () => {
    const err = new StrataError('invalid-key', 'Key is 600 bytes.', {
      extensions: { limit: 512, hint: ['a', 'b'] },
    });
    expect(await problemOf(problemResponse(err))).toEqual({
      type: 'urn:strata:problem:invalid-key',
      title: 'Invalid key',
      status: 400,
      detail: 'Key is 600 bytes.',
      limit: 512,
      hint: ['a', 'b'],
    });
  });

  it('sends the error headers and keeps the problem+json content type', () => {
    const err = new StrataError('unauthorized', 'Missing token.', {
      headers: { 'WWW-Authenticate': 'Bearer realm="strata"', 'retry-after': '1' },
    });
    const res = problemResponse(err);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="strata"');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it.each([
    [
      'an Error with a secret message',
      new Error('connect ECONNREFUSED 10.0.0.7:6379 password=hunter2'),
    ],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'meta')")],
    ['a thrown string', 'hunter2'],
    ['null', null],
    ['undefined', undefined],
    [
      'a plain object that looks like a StrataError',
      { code: 'not-found', status: 404, message: 'hunter2' },
    ],
  ])('turns %s into a generic 500 that leaks nothing', async (_name, thrown) => {
    const res = problemResponse(thrown);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(/hunter2|ECONNREFUSED|10\.0\.0\.7|reading 'meta'/);
    expect(JSON.parse(text)).toEqual({
      type: 'urn:strata:problem:internal',
      title: 'Internal error',
      status: 500,
      detail: 'The request could not be completed.',
    });
  });

  it('for any StrataError: HTTP status equals body status, and the body is valid JSON', async () => {
    const codeArb = fc.constantFrom(...CODES.map(([code]) => code));
    await fc.assert(
      fc.asyncProperty(codeArb, fc.string({ unit: 'binary' }), async (code, detail) => {
        const res = problemResponse(new StrataError(code, detail));
        const body = await problemOf(res);
        expect(body.status).toBe(res.status);
        expect(body.detail).toBe(detail);
        expect(body.type).toBe(problemType(code));
      }),
      { numRuns: 200 },
    );
  });

  // Regression: extensions used to be spread after the standard members, so
  // an extension named `status` (or type/title/detail) replaced them, and the
  // body's status could differ from the HTTP status, which RFC 9457 §3.1.3
  // forbids ("MUST use the same status code in the actual HTTP response").
  it('never lets an extension override a standard member', async () => {
    const err = new StrataError('invalid-key', 'Key too long.', {
      extensions: { status: 200, type: 'about:blank', title: 'OK', detail: 'fine' },
    });
    const res = problemResponse(err);
    const body = await problemOf(res);
    expect(res.status).toBe(400);
    expect(body).toMatchObject({
      type: 'urn:strata:problem:invalid-key',
      title: 'Invalid key',
      status: 400,
      detail: 'Key too long.',
    });
  });

  it('never lets an extension override instance, and keeps the other extensions', async () => {
    const err = new StrataError('not-found', 'No such key.', {
      extensions: { instance: '/forged', limit: 1 },
    });
    const body = await problemOf(problemResponse(err, '/v1/cache/a/b'));
    expect(body.instance).toBe('/v1/cache/a/b');
    expect(body.limit).toBe(1);
  });

  it('for any extensions, the standard members and status still describe the error', async () => {
    const codeArb = fc.constantFrom(...CODES.map(([code]) => code));
    const extArb = fc.dictionary(
      fc.oneof(fc.constantFrom('type', 'title', 'status', 'detail', 'instance'), fc.string()),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(codeArb, extArb, async (code, extensions) => {
        const res = problemResponse(new StrataError(code, 'd', { extensions }), '/i');
        const body = await problemOf(res);
        expect(body).toMatchObject({
          type: problemType(code),
          status: res.status,
          detail: 'd',
          instance: '/i',
        });
      }),
      { numRuns: 200 },
    );
  });
});

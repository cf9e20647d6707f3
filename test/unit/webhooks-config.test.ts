/**
 * Webhook endpoint configuration (src/webhooks/config.ts): the two
 * variables, what is a deploy error, and what answers 404.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  endpointFor,
  MAX_SECRETS,
  parseWebhookEndpoints,
  webhookEndpointsFor,
} from '../../src/webhooks/config.ts';

const secret = (bytes = 24) => `whsec_${randomBytes(bytes).toString('base64')}`;
const [A, B, C] = [secret(), secret(32), secret(64)];
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s.slice(6), 'base64'));

describe('STRATA_WEBHOOK_SECRET', () => {
  it('one secret configures "default" for every namespace', () => {
    const endpoints = parseWebhookEndpoints({ STRATA_WEBHOOK_SECRET: A });
    expect([...endpoints.keys()]).toEqual(['default']);
    const endpoint = endpoints.get('default');
    expect(endpoint?.keys).toEqual([bytesOf(A)]);
    expect(endpoint?.namespaces).toBeNull();
  });

  it('a space-separated pair is a rotation: both keys, in order', () => {
    const endpoint = parseWebhookEndpoints({ STRATA_WEBHOOK_SECRET: ` ${A}  ${B}\n` }).get(
      'default',
    );
    expect(endpoint?.keys).toEqual([bytesOf(A), bytesOf(B)]);
  });

  it('empty or blank: no endpoint', () => {
    expect(parseWebhookEndpoints({ STRATA_WEBHOOK_SECRET: '' }).size).toBe(0);
    expect(parseWebhookEndpoints({ STRATA_WEBHOOK_SECRET: '  ' }).size).toBe(0);
    expect(parseWebhookEndpoints({}).size).toBe(0);
  });

  it('a secret without the prefix is a deploy error that does not print it', () => {
    const bare = A.slice(6);
    expect(() => parseWebhookEndpoints({ STRATA_WEBHOOK_SECRET: bare })).toThrow(
      'STRATA_WEBHOOK_SECRET[0]: a webhook secret starts with "whsec_"',
    );
    expect(() => parseWebhookEndpoints({ STRATA_WEBHOOK_SECRET: `${A} ${bare}` })).toThrow(
      /^STRATA_WEBHOOK_SECRET\[1\]: [^A-Za-z0-9+/]*[a-z ",_-]*$/,
    );
  });
});

describe('WEBHOOK_ENDPOINTS', () => {
  it('reads secrets and namespaces per endpoint', () => {
    const endpoints = parseWebhookEndpoints({
      WEBHOOK_ENDPOINTS: JSON.stringify({
        cms: { secrets: [A, B], namespaces: ['pages', 'assets'] },
        'ci_deploy-2': { secrets: [C] },
      }),
    });
    expect(endpoints.get('cms')?.keys).toEqual([bytesOf(A), bytesOf(B)]);
    expect([...(endpoints.get('cms')?.namespaces ?? [])]).toEqual(['pages', 'assets']);
    expect(endpoints.get('ci_deploy-2')?.namespaces).toBeNull();
  });

  it('sits beside STRATA_WEBHOOK_SECRET', () => {
    const endpoints = parseWebhookEndpoints({
      WEBHOOK_ENDPOINTS: JSON.stringify({ cms: { secrets: [A] } }),
      STRATA_WEBHOOK_SECRET: B,
    });
    expect([...endpoints.keys()].sort()).toEqual(['cms', 'default']);
  });

  it.each<[string, unknown, RegExp]>([
    ['not JSON', '{cms:', /must be a JSON object/],
    ['an array', [], /must be a JSON object/],
    ['a string', 'whsec_x', /must be a JSON object/],
    ['an upper-case name', { CMS: { secrets: [A] } }, /"CMS" is not a valid endpoint name/],
    ['a name with a slash', { 'a/b': { secrets: [A] } }, /"a\/b" is not a valid endpoint name/],
    ['a name of 65 characters', { ['a'.repeat(65)]: { secrets: [A] } }, /not a valid endpoint/],
    ['a bare list of secrets', { cms: [A] }, /WEBHOOK_ENDPOINTS\.cms must be an object/],
    ['no secrets', { cms: { namespaces: ['pages'] } }, /cms\.secrets must be an array/],
    ['secrets as a string', { cms: { secrets: A } }, /cms\.secrets must be an array/],
    ['a number among secrets', { cms: { secrets: [A, 1] } }, /cms\.secrets must be an array/],
    ['a bad secret', { cms: { secrets: [A, 'whsec_!!'] } }, /cms\.secrets\[1\]: .*base64/],
    ['a short key', { cms: { secrets: [secret(8)] } }, /cms\.secrets\[0\]: .*this one is 8/],
    ['a misspelt field', { cms: { secret: [A] } }, /unknown fields \(secret\)/],
    ['empty namespaces', { cms: { secrets: [A], namespaces: [] } }, /non-empty array/],
    ['namespaces as a string', { cms: { secrets: [A], namespaces: 'p' } }, /non-empty array/],
    ['a bad namespace', { cms: { secrets: [A], namespaces: ['Pages'] } }, /"Pages" is not a valid/],
    [
      'too many secrets',
      { cms: { secrets: Array.from({ length: MAX_SECRETS + 1 }, () => A) } },
      /at most 10/,
    ],
  ])('%s is a deploy error', (_name, value, message) => {
    const raw = typeof value === 'string' ? value : JSON.stringify(value);
    let error: Error | undefined;
    try {
      parseWebhookEndpoints({ WEBHOOK_ENDPOINTS: raw });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    // A message never carries a secret's value.
    for (const s of [A, B, C]) expect(error?.message).not.toContain(s.slice(6));
  });

  it('"default" in both variables is a deploy error', () => {
    expect(() =>
      parseWebhookEndpoints({
        WEBHOOK_ENDPOINTS: JSON.stringify({ default: { secrets: [A] } }),
        STRATA_WEBHOOK_SECRET: B,
      }),
    ).toThrow(/both configure the endpoint "default"/);
  });

  it('"default" may be configured in WEBHOOK_ENDPOINTS alone, with namespaces', () => {
    const endpoint = parseWebhookEndpoints({
      WEBHOOK_ENDPOINTS: JSON.stringify({ default: { secrets: [A], namespaces: ['pages'] } }),
    }).get('default');
    expect([...(endpoint?.namespaces ?? [])]).toEqual(['pages']);
  });
});

describe('endpointFor', () => {
  const env = {
    WEBHOOK_ENDPOINTS: JSON.stringify({ cms: { secrets: [A] }, paused: { secrets: [] } }),
    STRATA_WEBHOOK_SECRET: B,
  };

  it('finds configured endpoints', () => {
    expect(endpointFor(env, 'cms')?.name).toBe('cms');
    expect(endpointFor(env, 'default')?.keys).toEqual([bytesOf(B)]);
  });

  it.each(['paused', 'unknown', 'CMS', '', '../cms', 'constructor', '__proto__', 'x'.repeat(65)])(
    '%j: null (the route answers 404)',
    (name) => {
      expect(endpointFor(env, name)).toBeNull();
    },
  );

  it('parses once per env object', () => {
    const first = webhookEndpointsFor(env);
    expect(webhookEndpointsFor(env)).toBe(first);
    expect(webhookEndpointsFor({ ...env })).not.toBe(first);
  });

  it('a malformed env throws on every use, never caching a half-parsed result', () => {
    const bad = { WEBHOOK_ENDPOINTS: '{' };
    expect(() => endpointFor(bad, 'cms')).toThrow();
    expect(() => endpointFor(bad, 'cms')).toThrow();
  });
});

/** Consistency levels and homes (src/replication/consistency.ts) from configuration. */
import { describe, expect, it } from 'vitest';
import { configFor, type Env } from '../../src/env.ts';
import { StrataError } from '../../src/errors.ts';
import {
  homeOf,
  parseConsistency,
  quorumOf,
  readLevel,
  writeLevel,
} from '../../src/replication/consistency.ts';

const config = configFor({
  REGION: 'eu-west',
  PEERS: JSON.stringify({ 'us-east': 'http://us.test/', 'ap-southeast': 'http://ap.test' }),
  NAMESPACE_CONSISTENCY: JSON.stringify({ orders: 'strong', carts: 'quorum' }),
  NAMESPACE_HOMES: JSON.stringify({ orders: 'us-east' }),
} as unknown as Env);

describe('consistency levels', () => {
  it('reads the namespace level, eventual by default', () => {
    expect(writeLevel(config, 'pages')).toBe('eventual');
    expect(writeLevel(config, 'carts')).toBe('quorum');
    expect(readLevel(config, 'orders')).toBe('strong');
  });

  it('lets a write ask for more, never less, than its namespace', () => {
    expect(writeLevel(config, 'pages', 'quorum')).toBe('quorum');
    expect(writeLevel(config, 'pages', 'strong')).toBe('strong');
    expect(writeLevel(config, 'orders', 'eventual')).toBe('strong');
    expect(writeLevel(config, 'carts', 'eventual')).toBe('quorum');
  });

  it('lets a read ask for either', () => {
    expect(readLevel(config, 'orders', 'eventual')).toBe('eventual');
    expect(readLevel(config, 'pages', 'strong')).toBe('strong');
  });

  it('parses the header case-insensitively and rejects anything else with 400', () => {
    expect(parseConsistency(undefined)).toBeUndefined();
    expect(parseConsistency(' Quorum ')).toBe('quorum');
    for (const bad of ['', 'linearizable', 'strong,quorum']) {
      let err: unknown = null;
      try {
        parseConsistency(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StrataError);
      expect((err as StrataError).status).toBe(400);
    }
  });

  it('names each namespace’s home; the default is the first region by name, the same everywhere', () => {
    expect(config.regions).toEqual(['ap-southeast', 'eu-west', 'us-east']);
    expect(homeOf(config, 'orders')).toBe('us-east');
    expect(homeOf(config, 'anything')).toBe('ap-southeast');
    expect(config.peers['us-east']).toBe('http://us.test');
  });

  it('a majority of regions, this one included', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
  });

  it('refuses homes and levels that do not exist', () => {
    const bad = (vars: Record<string, string>) => () =>
      configFor({ REGION: 'eu-west', ...vars } as unknown as Env);
    expect(bad({ NAMESPACE_HOMES: '{"orders":"mars"}' })).toThrow(/region/);
    expect(bad({ NAMESPACE_CONSISTENCY: '{"orders":"linear"}' })).toThrow(/eventual/);
    expect(bad({ PEERS: '{"us-east":"ftp://x"}' })).toThrow(/URL/);
    expect(bad({ LOCATION_HINT: 'mars' })).toThrow(/LOCATION_HINT/);
  });
});

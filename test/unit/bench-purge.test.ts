/** The purge benchmark's pure parts (scripts/bench/purge.ts): the sample plan, purge bodies, and the summaries it reports. */
import { describe, expect, it } from 'vitest';
import {
  answeringTier,
  meetsTarget,
  PURGE_KINDS,
  planSample,
  purgeOf,
  purgeTable,
  type RegionSeen,
  type Sample,
  sampleOf,
  seriesSummary,
  settingResult,
} from '../../scripts/bench/purge-report.ts';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];
const seen = (ms: number | null, lastTier: string | null = 'strata-l1'): RegionSeen => ({
  ms,
  lastTier,
  polls: 1,
  answerMs: ms === null ? null : 5,
});

describe('planSample', () => {
  it('crosses kinds and accepting regions: every pair once in each 9 samples', () => {
    for (const start of [0, 9, 27]) {
      const pairs = new Set<string>();
      for (let i = start; i < start + 9; i++) {
        const { kind, region } = planSample(i, REGIONS);
        pairs.add(`${kind}@${region}`);
      }
      expect(pairs.size).toBe(9);
    }
  });

  it('takes the kinds in turn and rotates the region', () => {
    expect([0, 1, 2, 3].map((i) => planSample(i, REGIONS))).toEqual([
      { kind: 'tag', region: 'us-east' },
      { kind: 'key', region: 'eu-west' },
      { kind: 'prefix', region: 'ap-southeast' },
      { kind: 'tag', region: 'eu-west' },
    ]);
  });
});

describe('purgeOf', () => {
  it('names exactly the sample key, by tag, key or prefix', () => {
    expect(purgeOf('tag', 'ns', 4)).toEqual({
      key: 's4/item',
      tag: 't4',
      body: { namespace: 'ns', tags: ['t4'] },
    });
    expect(purgeOf('key', 'ns', 4).body).toEqual({ namespace: 'ns', keys: ['s4/item'] });
    expect(purgeOf('prefix', 'ns', 4).body).toEqual({ namespace: 'ns', prefixes: ['s4/'] });
  });

  it("a prefix never covers another sample's key", () => {
    const prefix = (purgeOf('prefix', 'ns', 1).body.prefixes as string[])[0] as string;
    for (const i of [10, 11, 100, 21])
      expect(purgeOf('tag', 'ns', i).key.startsWith(prefix)).toBe(false);
  });
});

describe('answeringTier', () => {
  it.each([
    ['strata-l1; hit; ttl=299', 'strata-l1'],
    ['strata-l2; hit; ttl=59, strata-l1; fwd=miss; stored', 'strata-l2'],
    ['strata-l3; fwd=miss, strata-l2; fwd=miss, strata-l1; fwd=miss', null],
    [null, null],
  ])('%s → %s', (header, tier) => {
    expect(answeringTier(header)).toBe(tier);
  });
});

describe('seriesSummary and meetsTarget', () => {
  it('counts missed samples apart from the percentiles', () => {
    const s = seriesSummary([30, null, 10, 20]);
    expect(s).toMatchObject({ samples: 4, missed: 1, p50: 20, max: 30, min: 10 });
  });

  it('is met only below the target, with every sample done', () => {
    expect(meetsTarget(seriesSummary([10, 149]), 150)).toBe(true);
    expect(meetsTarget(seriesSummary([10, 150]), 150)).toBe(false);
    expect(meetsTarget(seriesSummary([10, null]), 150)).toBe(false);
    expect(meetsTarget(seriesSummary([]), 150)).toBe(false);
  });
});

describe('sampleOf', () => {
  it('is done when the slowest region is, with that region’s last GET', () => {
    const s = sampleOf(
      'purge',
      'us-east',
      20,
      { 'us-east': seen(3), 'eu-west': seen(40) },
      [],
      'key',
    );
    expect(s).toMatchObject({ series: 'purge', kind: 'key', ms: 40, finalGetMs: 5 });
  });

  it('is missed when any region is', () => {
    expect(sampleOf('write', 'eu-west', 9, { a: seen(3), b: seen(null) }, []).ms).toBeNull();
  });
});

describe('settingResult and purgeTable', () => {
  const samples: Sample[] = [];
  for (let i = 0; i < 9; i++) {
    const { kind, region } = planSample(i, REGIONS);
    const views = Object.fromEntries(
      REGIONS.map((r) => [r, r === region ? seen(10, null) : seen(40 + i, 'strata-l1')]),
    );
    samples.push({
      ...sampleOf('purge', region, 20, views, [], kind),
      appliedInPeers: Object.fromEntries(REGIONS.filter((r) => r !== region).map((r) => [r, 20])),
    });
    samples.push(sampleOf('write', region, 15, { a: seen(18), b: seen(20) }, []));
  }
  const result = settingResult(null, { L1_MAX_TTL: '300' }, samples, [1, 1, 1], [1, 1, 1]);

  it('summarises per kind, overall, the writes and the peers', () => {
    for (const k of PURGE_KINDS) expect(result.purge[k].samples).toBe(3);
    expect(result.purge.all).toMatchObject({ samples: 9, max: 48, missed: 0 });
    expect(result.write).toMatchObject({ samples: 9, p99: 20 });
    expect(result.purgePeers).toMatchObject({ samples: 18, lastFromL1: 18, lastFromL2: 0 });
    expect(result.purgeApplied).toMatchObject({ samples: 18, p50: 20 });
    expect(result.purgeFeedMs).toBe(1000);
    expect(result.purgeFeedMsSet).toBe(false);
  });

  it('prints the verdict with the figure and the ratio to the write lag', () => {
    const text = purgeTable([result], {
      command: 'npm run bench -- --purge',
      commit: 'abc',
      cpus: 2,
      wallS: 60,
    });
    expect(text).toContain(
      '| 1000 (default) | **purge, all kinds** | 9 | 44.0 | 48.0 | 48.0 | 0 |',
    );
    expect(text).toContain('**met** (p99 48.0 ms over 9 purges); purge p99 / write p99 = 2.40×');
    const slow = settingResult(
      100,
      {},
      samples.map((s) => ({ ...s, ms: s.series === 'purge' ? 400 : s.ms })),
      [1],
      [1],
    );
    expect(purgeTable([slow], { command: '', commit: '', cpus: 2, wallS: 1 })).toContain(
      '**NOT met** (p99 400.0 ms',
    );
  });
});

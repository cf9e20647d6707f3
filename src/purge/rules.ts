/**
 * Purges as versioned rules. Pure; no runtime imports.
 *
 * A purge is stamped with an HLC version `P` when it is accepted, and each
 * of its selectors becomes a rule: "in namespace N, every entry matching
 * (key K | prefix X | tag T | everything) whose version is older than P is
 * gone (hard) or stale (soft)". Comparing versions, not arrival times, is
 * what makes a purge behave the same in every region and tier: a write
 * stamped after P survives it wherever it lands, a write stamped before P is
 * purged even if it arrives after the purge (a late replication, an L3
 * copy, a region that was partitioned).
 *
 * Shards keep the rules they were given for the retention period
 * (`retentionMs`) and consult a `PurgeIndex` whenever an entry is served or
 * stored; rows are also removed physically in the background (sweeps), but
 * correctness never waits for a sweep.
 */
import type { EntryMeta } from '../entry.ts';
import { compareHlc, type Hlc, parseHlc } from '../hlc.ts';
import { LIMITS } from '../limits.ts';
import type { PurgeRequest, PurgeSelectors } from './request.ts';

export type PurgeKind = 'key' | 'prefix' | 'tag' | 'namespace';

/** One accepted purge as it is stored and replicated between regions. */
export interface Purge {
  id: string;
  /** The region that accepted it. */
  origin: string;
  /** Formatted HLC assigned on acceptance. */
  version: string;
  /** Wall-clock ms of acceptance (soft purges are stale from here). */
  at: number;
  soft: boolean;
  selectors: PurgeSelectors;
  /** Who asked: `api:<principal>` or `webhook:<endpoint>`. */
  source: string;
}

export interface PurgeRule {
  id: string;
  ns: string;
  kind: PurgeKind;
  /** The key, prefix or tag; '' for a namespace rule. */
  value: string;
  version: string;
  soft: boolean;
  at: number;
  /** When the rule may be forgotten (see `ruleRetentionMs`). */
  expiresAt: number;
}

/** What the rules say about one stored entry. */
export type PurgeEffect =
  | { kind: 'none' }
  /** Gone: a hard rule (or a soft one past the entry's stale window) newer than the entry. */
  | { kind: 'purged'; rule: PurgeRule }
  /** Soft-purged: servable stale from `since` until `until` (ms) while one refresh runs. */
  | { kind: 'stale'; since: number; until: number; rule: PurgeRule };

/**
 * How long a shard keeps a rule: the tombstone grace period (a region
 * partitioned for longer catches up by anti-entropy, as for deletes), and
 * for soft rules at least the longest stale window an entry can have, so a
 * soft-purged entry never turns fresh again.
 */
export function ruleRetentionMs(soft: boolean, tombstoneGraceMs: number): number {
  return soft ? Math.max(tombstoneGraceMs, LIMITS.maxStale * 1000) : tombstoneGraceMs;
}

/** A purge request stamped for acceptance. */
export function purgeOf(
  request: PurgeRequest,
  id: string,
  origin: string,
  version: string,
  at: number,
  source: string,
): Purge {
  const { soft, ...selectors } = request;
  return { id, origin, version, at, soft, selectors, source };
}

/** The rules a purge stands for, one per selector. */
export function rulesOf(purge: Purge, tombstoneGraceMs: number): PurgeRule[] {
  const { selectors: s } = purge;
  const expiresAt = purge.at + ruleRetentionMs(purge.soft, tombstoneGraceMs);
  const rule = (kind: PurgeKind, value: string): PurgeRule => ({
    id: purge.id,
    ns: s.namespace,
    kind,
    value,
    version: purge.version,
    soft: purge.soft,
    at: purge.at,
    expiresAt,
  });
  if (s.all) return [rule('namespace', '')];
  return [
    ...s.keys.map((k) => rule('key', k)),
    ...s.prefixes.map((p) => rule('prefix', p)),
    ...s.tags.map((t) => rule('tag', t)),
  ];
}

/** True when `rule` selects `meta` (ignoring versions). */
export function selects(rule: PurgeRule, meta: Pick<EntryMeta, 'namespace' | 'key' | 'tags'>) {
  if (rule.ns !== meta.namespace) return false;
  switch (rule.kind) {
    case 'namespace':
      return true;
    case 'key':
      return meta.key === rule.value;
    case 'prefix':
      return meta.key.startsWith(rule.value);
    case 'tag':
      return meta.tags.includes(rule.value);
  }
}

const ZERO: Hlc = { wall: 0, counter: 0, region: '' };

/** Orders formatted HLC versions; an unparsable one sorts first. */
export function compareVersionText(a: string, b: string): number {
  return compareHlc(parseHlc(a) ?? ZERO, parseHlc(b) ?? ZERO);
}

interface NamespaceRules {
  all: PurgeRule[];
  keys: Map<string, PurgeRule[]>;
  tags: Map<string, PurgeRule[]>;
  prefixes: PurgeRule[];
}

/**
 * The rules a shard holds, indexed so that checking an entry costs a map
 * lookup per key and tag plus one `startsWith` per prefix rule of its
 * namespace, and nothing at all for namespaces without purges.
 */
export class PurgeIndex {
  private readonly byNs = new Map<string, NamespaceRules>();
  private count = 0;

  constructor(rules: Iterable<PurgeRule> = []) {
    for (const r of rules) this.add(r);
  }

  get size(): number {
    return this.count;
  }

  add(rule: PurgeRule): void {
    let ns = this.byNs.get(rule.ns);
    if (!ns) {
      ns = { all: [], keys: new Map(), tags: new Map(), prefixes: [] };
      this.byNs.set(rule.ns, ns);
    }
    switch (rule.kind) {
      case 'namespace':
        ns.all.push(rule);
        break;
      case 'prefix':
        ns.prefixes.push(rule);
        break;
      case 'key':
        push(ns.keys, rule.value, rule);
        break;
      case 'tag':
        push(ns.tags, rule.value, rule);
        break;
    }
    this.count++;
  }

  /** True when no rule concerns the namespace (the common case, checked first). */
  quiet(namespace: string): boolean {
    return !this.byNs.has(namespace);
  }

  /**
   * What the rules say about an entry at `now`: purged if a hard rule newer
   * than the entry selects it, or a soft one whose stale window (the entry's
   * `stale-while-revalidate` from the purge) has passed; stale within that
   * window; otherwise none.
   */
  effect(meta: EntryMeta, now: number): PurgeEffect {
    const ns = this.byNs.get(meta.namespace);
    if (!ns) return { kind: 'none' };
    let soft: PurgeRule | null = null;
    const consider = (rule: PurgeRule): PurgeRule | null => {
      if (compareVersionText(meta.version, rule.version) >= 0) return null;
      if (!rule.soft) return rule;
      if (!soft || rule.at < soft.at) soft = rule;
      return null;
    };
    for (const r of ns.all) if (consider(r)) return { kind: 'purged', rule: r };
    for (const r of ns.keys.get(meta.key) ?? [])
      if (consider(r)) return { kind: 'purged', rule: r };
    for (const tag of meta.tags)
      for (const r of ns.tags.get(tag) ?? []) if (consider(r)) return { kind: 'purged', rule: r };
    for (const r of ns.prefixes)
      if (meta.key.startsWith(r.value) && consider(r)) return { kind: 'purged', rule: r };
    if (!soft) return { kind: 'none' };
    const rule: PurgeRule = soft;
    const until = rule.at + meta.staleWhileRevalidate * 1000;
    return until > now ? { kind: 'stale', since: rule.at, until, rule } : { kind: 'purged', rule };
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

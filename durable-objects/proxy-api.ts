/**
 * Proxy mode's RPC surface between the Worker and the shard that owns a
 * URL (shard-proxy.ts): the plan the Worker sends and the answer it gets.
 * Types only, so the Worker and tests can name them without the object.
 */
import type { Entry } from '../src/entry.ts';
import type { FreshnessRules, NotStoredReason } from '../src/http/freshness.ts';
import type { HeaderMap } from '../src/http/headers.ts';
import type { OriginFailure } from '../src/proxy/origin.ts';
import type { StoredResponse } from '../src/proxy/stored-response.ts';

/** What the Worker asks the shard for one GET or HEAD of a proxied URL. */
export interface ProxyPlan {
  namespace: string;
  /** Normalised path and query (src/http/cache-key.ts). */
  target: string;
  originUrl: string;
  /** The client's request fields, lower-case (hop-by-hop ones already gone). */
  headers: HeaderMap;
  /** This hop's `Via` member, e.g. `1.1 strata-us-east`. */
  via: string;
  timeoutMs: number;
  maxBodyBytes: number;
  keepStaleSeconds: number;
  /** Seconds of hit-for-pass to hand back for an uncacheable response (0: none). */
  passSeconds: number;
  rules: FreshnessRules;
}

export type ProxyOutcome =
  | 'hit'
  | 'stale-while-revalidate'
  | 'revalidated'
  | 'fetched'
  | 'stale-if-error'
  | 'error';

export type NotStored =
  | NotStoredReason
  | 'too-large'
  | 'raced'
  | 'stale-on-arrival'
  | 'validator-mismatch';

export interface ProxyAnswer {
  outcome: ProxyOutcome;
  /** What the lookup found before any origin request. */
  lookup: 'miss' | 'vary-miss' | 'found';
  /** Where the stored response came from, for hits. */
  tier: 'L2' | 'L3' | null;
  /** The response to send (stored or fresh from the origin); null on an error. */
  response: StoredResponse | null;
  /** Entries to copy into this data centre's L1 (the marker and the response). */
  entries: Entry[];
  stored: boolean;
  notStored?: NotStored;
  /** Status the origin answered this request with, when it was asked. */
  fwdStatus?: number;
  /** Why the stored response was not used as is. */
  because?: 'no-cache' | 'request' | 'stale';
  collapsed: boolean;
  failure?: OriginFailure | 'only-if-cached';
}

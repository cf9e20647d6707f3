/**
 * Proxy mode inside the shard that owns a URL (README "Proxy mode"): the
 * one place a region asks the origin for a cacheable URL, so concurrent
 * misses, revalidations and background refreshes of one URL (and variant)
 * make one origin request per region, and every waiter gets its answer.
 *
 *   serve(plan):  stored response (L2, else L3, via the shard's read)
 *                 → fresh: answer it
 *                 → stale within stale-while-revalidate: answer it, and
 *                   refresh in the background (joined to any fetch in flight)
 *                 → stale / no-cache: revalidate with its validators; a 304
 *                   refreshes the stored fields (RFC 9111 §3.2, §4.3.4)
 *                 → nothing stored: fetch
 *                 origin down, timing out or 5xx: stale-if-error when allowed
 *
 * Responses are stored through the shard's own write path (versioned,
 * replicated, written to L3). A response with `Vary` goes under its
 * variant key, with a marker at the URL's key naming the `Vary` fields.
 * A fill that a purge or a write raced is answered but not stored: what
 * the origin said before the purge must not outlive it.
 *
 * A waiter only takes the leader's response when it was stored (so it is
 * shareable) and its `Vary` selection matches the waiter's request;
 * otherwise the waiter asks the origin itself.
 */
import type { Entry, EntryMeta } from '../src/entry.ts';
import { remainingTtl } from '../src/entry.ts';
import { responseKey, variantKey } from '../src/http/cache-key.ts';
import {
  hasValidator,
  mergeNotModified,
  revalidationHeaders,
  selectsStored,
} from '../src/http/conditional.ts';
import {
  assessResponse,
  currentAge,
  evaluate,
  type Freshness,
  freshnessLeft,
  requestDirectives,
  staleOnErrorAllowed,
} from '../src/http/freshness.ts';
import type { HeaderMap } from '../src/http/headers.ts';
import { selectingValues, variantId, varyMatches, varyNames } from '../src/http/vary.ts';
import { LIMITS } from '../src/limits.ts';
import { CLIENT_CONDITIONALS, fetchOrigin, originRequestHeaders } from '../src/proxy/origin.ts';
import { decodeStored, encodeStored, type StoredResponse } from '../src/proxy/stored-response.ts';
import { tagsOf } from '../src/proxy/tags.ts';
import type { ProxyAnswer, ProxyPlan } from './proxy-api.ts';
import type { ShardRead, ShardWrite, ShardWriteInput } from './shard-api.ts';

export type * from './proxy-api.ts';

export interface ShardProxyDeps {
  read(namespace: string, key: string): Promise<ShardRead>;
  write(input: ShardWriteInput): Promise<ShardWrite>;
  now(): number;
}

/**
 * Reasons for hit-for-pass: the response itself says no cache may store it,
 * so it says so to every request for the URL. Not statuses (a passing 503
 * must not stop a URL being cached) and not request directives.
 */
const PASS_REASONS: ReadonlySet<string> = new Set([
  'no-store',
  'private',
  'set-cookie',
  'vary-star',
]);

interface Flight {
  promise: Promise<ProxyAnswer>;
  /** Set when a purge or a write touches the key while the origin request is out. */
  raced: boolean;
}

/** Entries found for a plan: the stored response (if its selection matches) and where it lives. */
interface Found {
  key: string;
  response: StoredResponse | null;
  lookup: ProxyAnswer['lookup'];
  tier: 'L2' | 'L3' | null;
  entries: Entry[];
  /** A soft purge made it stale at this time (epoch ms). */
  staleSince?: number;
}

export class ShardProxy {
  private readonly flights = new Map<string, Flight>();
  /** Origin requests made, for tests and /v1/stats. */
  originRequests = 0;

  constructor(private readonly deps: ShardProxyDeps) {}

  /** A write, delete or purge is about to change `key` (or, without one, anything). */
  raced(namespace: string, key?: string): void {
    for (const [id, flight] of this.flights)
      if (key === undefined || id === `${namespace}\u0000${key}`) flight.raced = true;
  }

  async serve(plan: ProxyPlan): Promise<ProxyAnswer> {
    const found = await this.lookup(plan);
    const base = { lookup: found.lookup, tier: found.tier, collapsed: false };
    // RFC 9111 §5.2.1.7: only a stored response may answer, or a 504.
    const onlyIfCached = requestDirectives(plan.headers).has('only-if-cached');
    const unsatisfiable = failed(base, 'only-if-cached');
    if (!found.response) {
      if (onlyIfCached) return unsatisfiable;
      return this.joined(plan, found.key, () => this.fill(plan, found, base));
    }
    const stored = found.response;
    const freshness = softPurged(stored.freshness, found.staleSince);
    const now = this.deps.now();
    const verdict = evaluate(freshness, plan.headers, now);
    if (verdict.reuse === 'fresh' || verdict.reuse === 'stale-allowed') {
      return { ...base, outcome: 'hit', response: stored, entries: found.entries, stored: true };
    }
    if (verdict.reuse === 'stale-while-revalidate') {
      // One background refresh per key: it joins whatever fetch is in flight.
      void this.joined(plan, found.key, () =>
        this.revalidate(plan, found, stored, freshness, base),
      ).catch(() => {});
      return {
        ...base,
        outcome: 'stale-while-revalidate',
        response: stored,
        entries: [],
        stored: true,
      };
    }
    if (onlyIfCached) return unsatisfiable;
    const answer = await this.joined(plan, found.key, () =>
      this.revalidate(plan, found, stored, freshness, base),
    );
    return verdict.because ? { ...answer, because: verdict.because } : answer;
  }

  /** Runs `work` for `key` unless a flight for it is out; waiters take its answer when they may. */
  private async joined(
    plan: ProxyPlan,
    key: string,
    work: () => Promise<ProxyAnswer>,
  ): Promise<ProxyAnswer> {
    const id = `${plan.namespace}\u0000${key}`;
    const flight = this.flights.get(id);
    if (flight) {
      const answer = await flight.promise;
      if (answer.stored && answer.response && selectionMatches(answer.response, plan.headers))
        return { ...answer, collapsed: true };
      // Not shareable (private, Set-Cookie, too large, another variant): ask for ourselves.
      return this.fill(
        plan,
        { key, response: null, lookup: answer.lookup, tier: null, entries: [] },
        {
          lookup: answer.lookup,
          tier: null,
          collapsed: false,
        },
      );
    }
    const mine: Flight = {
      promise: Promise.resolve() as unknown as Promise<ProxyAnswer>,
      raced: false,
    };
    mine.promise = work().finally(() => this.flights.delete(id));
    this.flights.set(id, mine);
    return mine.promise;
  }

  private flightOf(plan: ProxyPlan, key: string): Flight | undefined {
    return this.flights.get(`${plan.namespace}\u0000${key}`);
  }

  /** The stored response for the plan's URL and variant, through the Vary marker if there is one. */
  private async lookup(plan: ProxyPlan): Promise<Found> {
    const key = responseKey(plan.target);
    const read = await this.deps.read(plan.namespace, key);
    const stored = read.entry ? decodeStored(read.entry.value) : null;
    if (!stored || !read.entry)
      return { key, response: null, lookup: 'miss', tier: null, entries: [] };
    const since = read.stale?.since;
    // A pass marker lives in L0/L1 only; met here, it is a miss.
    if (stored.kind === 'pass')
      return { key, response: null, lookup: 'miss', tier: null, entries: [] };
    if (stored.kind === 'response') {
      const matches = selectionMatches(stored, plan.headers);
      return {
        key,
        response: matches ? stored : null,
        lookup: matches ? 'found' : 'vary-miss',
        tier: read.source,
        entries: read.stale ? [] : [read.entry],
        ...(since !== undefined ? { staleSince: since } : {}),
      };
    }
    const vkey = variantKey(
      plan.target,
      variantId(stored.names, selectingValues(stored.names, plan.headers)),
    );
    const marker = read.stale ? [] : [read.entry];
    const vread = await this.deps.read(plan.namespace, vkey);
    const variant = vread.entry ? decodeStored(vread.entry.value) : null;
    if (variant?.kind !== 'response' || !vread.entry || !selectionMatches(variant, plan.headers))
      return { key: vkey, response: null, lookup: 'vary-miss', tier: null, entries: marker };
    const vsince = vread.stale?.since;
    return {
      key: vkey,
      response: variant,
      lookup: 'found',
      tier: vread.source,
      entries: vread.stale ? marker : [...marker, vread.entry],
      ...(vsince !== undefined ? { staleSince: vsince } : {}),
    };
  }

  /** Revalidates a stored response with its validators (or refetches it when it has none). */
  private async revalidate(
    plan: ProxyPlan,
    found: Found,
    stored: StoredResponse,
    freshness: Freshness,
    base: Pick<ProxyAnswer, 'lookup' | 'tier' | 'collapsed'>,
  ): Promise<ProxyAnswer> {
    const flight = this.flightOf(plan, found.key);
    const got = await this.ask(plan, revalidationHeaders(stored.headers));
    const now = this.deps.now();
    const broken = !got.ok || got.status >= 500;
    if (broken && staleOnErrorAllowed(freshness, plan.headers, now)) {
      return {
        ...base,
        outcome: 'stale-if-error',
        response: stored,
        entries: [],
        stored: true,
        ...(got.ok ? { fwdStatus: got.status } : { failure: got.failure }),
      };
    }
    if (!got.ok) return failed(base, got.failure);
    if (got.status !== 304) return this.keep(plan, found, got, base, flight);
    if (!selectsStored(stored.headers, got.headers)) {
      // RFC 9111 §4.3.4: a 304 whose validator selects nothing updates nothing. It still
      // answered the validator Strata sent, so this request gets the stored body with the
      // 304's fields, and the stored response stays as it was.
      const fields = mergeNotModified(stored.headers, got.headers);
      return {
        ...base,
        outcome: 'revalidated',
        fwdStatus: 304,
        response: { ...stored, headers: fields },
        entries: [],
        stored: false,
        notStored: 'validator-mismatch',
      };
    }
    const merged = {
      ...got,
      status: stored.status,
      headers: mergeNotModified(stored.headers, got.headers),
      body: stored.body,
    };
    const answer = await this.keep(plan, found, merged, base, flight);
    return { ...answer, outcome: 'revalidated', fwdStatus: 304 };
  }

  /** Fetches the URL unconditionally and keeps the response if it may be stored. */
  private async fill(
    plan: ProxyPlan,
    found: Found,
    base: Pick<ProxyAnswer, 'lookup' | 'tier' | 'collapsed'>,
  ): Promise<ProxyAnswer> {
    const flight = this.flightOf(plan, found.key);
    const got = await this.ask(plan, {});
    if (!got.ok) return failed(base, got.failure);
    return this.keep(plan, found, got, base, flight);
  }

  private ask(plan: ProxyPlan, validators: HeaderMap) {
    this.originRequests++;
    // Whole responses only: a client's Range is cut from the stored response (src/http/range.ts).
    const headers = originRequestHeaders(plan.headers, plan.via, validators, [
      ...CLIENT_CONDITIONALS,
      'range',
    ]);
    // A HEAD is filled with a GET: the stored response then answers both.
    return fetchOrigin(
      plan.originUrl,
      { method: 'GET', headers },
      plan.timeoutMs,
      plan.maxBodyBytes,
      this.deps.now,
    );
  }

  /** Stores an origin response when the rules allow (and no purge raced it); answers it either way. */
  private async keep(
    plan: ProxyPlan,
    found: Found,
    got: {
      status: number;
      headers: HeaderMap;
      body: Uint8Array;
      requestTime: number;
      responseTime: number;
    },
    base: Pick<ProxyAnswer, 'lookup' | 'tier' | 'collapsed'>,
    flight: Flight | undefined,
  ): Promise<ProxyAnswer> {
    const assessment = assessResponse(
      {
        method: 'GET',
        target: plan.target,
        requestHeaders: plan.headers,
        status: got.status,
        responseHeaders: got.headers,
        requestTime: got.requestTime,
        responseTime: got.responseTime,
      },
      plan.rules,
    );
    const names = varyNames(got.headers);
    const values = selectingValues(names, plan.headers);
    const freshness: Freshness = assessment.store
      ? assessment.freshness
      : {
          lifetime: 0,
          initialAge: 0,
          responseTime: got.responseTime,
          noCache: true,
          mustRevalidate: true,
          staleWhileRevalidate: 0,
          staleIfError: 0,
          heuristic: false,
        };
    const response: StoredResponse = {
      kind: 'response',
      status: got.status,
      headers: got.headers,
      freshness,
      vary: names.length > 0 ? { names, values } : null,
      body: got.body,
    };
    const answer = { ...base, outcome: 'fetched' as const, response, fwdStatus: got.status };
    if (!assessment.store) {
      const pass = PASS_REASONS.has(assessment.reason)
        ? this.passMarker(plan, assessment.reason)
        : [];
      return { ...answer, entries: pass, stored: false, notStored: assessment.reason };
    }
    if (flight?.raced) return { ...answer, entries: [], stored: false, notStored: 'raced' };
    const ttl = storageTtl(freshness, got.headers, plan.keepStaleSeconds, this.deps.now());
    if (ttl < 1) return { ...answer, entries: [], stored: false, notStored: 'stale-on-arrival' };

    const entries: Entry[] = [];
    const tags = tagsOf(got.headers);
    let key = responseKey(plan.target);
    if (response.vary) {
      // The marker lives as long as its longest-lived variant.
      const marker = encodeStored({ kind: 'vary', names });
      const current = found.entries.find((e) => e.meta.key === key);
      const markerTtl = Math.max(ttl, current ? remainingTtl(current.meta, this.deps.now()) : 0);
      entries.push(await this.put(plan, key, marker, 'application/octet-stream', [], markerTtl, 0));
      key = variantKey(plan.target, variantId(names, values));
    }
    const type = got.headers['content-type'] ?? 'application/octet-stream';
    const swr = Math.min(freshness.staleWhileRevalidate, LIMITS.maxStale);
    entries.push(await this.put(plan, key, encodeStored(response), type, tags, ttl, swr));
    return { ...answer, entries, stored: true };
  }

  /**
   * Hit-for-pass for this data centre: an entry for L0/L1 only (never
   * written to L2, L3 or other regions), so the Worker sends the URL's next
   * requests straight to the origin for `passSeconds`.
   */
  private passMarker(plan: ProxyPlan, reason: string): Entry[] {
    if (plan.passSeconds <= 0) return [];
    const value = encodeStored({ kind: 'pass', reason });
    const now = this.deps.now();
    const meta: EntryMeta = {
      namespace: plan.namespace,
      key: responseKey(plan.target),
      version: `${now}-0-pass`,
      createdAt: now,
      expiresAt: now + plan.passSeconds * 1000,
      staleWhileRevalidate: 0,
      staleIfError: 0,
      tags: [],
      contentType: 'application/octet-stream',
      size: value.byteLength,
    };
    return [{ meta, value }];
  }

  private async put(
    plan: ProxyPlan,
    key: string,
    value: Uint8Array,
    contentType: string,
    tags: string[],
    ttl: number,
    staleWhileRevalidate: number,
  ): Promise<Entry> {
    const written = await this.deps.write({
      namespace: plan.namespace,
      key,
      value,
      contentType:
        contentType.length <= LIMITS.maxContentTypeBytes ? contentType : 'application/octet-stream',
      tags,
      ttl,
      staleWhileRevalidate,
      staleIfError: 0,
    });
    return { meta: written.meta, value };
  }
}

/** The answer when the origin could not give one (or only-if-cached forbade asking). */
function failed(
  base: Pick<ProxyAnswer, 'lookup' | 'tier' | 'collapsed'>,
  failure: NonNullable<ProxyAnswer['failure']>,
): ProxyAnswer {
  return { ...base, outcome: 'error', response: null, entries: [], stored: false, failure };
}

/** True when a stored response's Vary selection (if any) matches the request. */
function selectionMatches(stored: StoredResponse, headers: HeaderMap): boolean {
  return !stored.vary || varyMatches(stored.vary.names, stored.vary.values, headers);
}

/** A soft purge ends freshness at the purge: the lifetime is cut to the age it had then. */
function softPurged(f: Freshness, since: number | undefined): Freshness {
  if (since === undefined) return f;
  return { ...f, lifetime: Math.min(f.lifetime, currentAge(f, since)) };
}

/**
 * How long the tiers keep a response, in whole seconds: its freshness left,
 * plus the longest window it may be served stale in, plus `keepStale` when
 * it can be revalidated (a 304 is cheaper than a refetch).
 */
function storageTtl(f: Freshness, headers: HeaderMap, keepStale: number, now: number): number {
  const left = Math.max(0, freshnessLeft(f, now));
  const stale = Math.max(
    f.mustRevalidate ? 0 : Math.max(f.staleWhileRevalidate, f.staleIfError),
    hasValidator(headers) ? keepStale : 0,
  );
  return Math.min(Math.ceil(left + stale), LIMITS.maxTtl);
}

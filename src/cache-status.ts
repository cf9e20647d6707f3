/**
 * `Cache-Status` (RFC 9211). Each Strata tier is a cache in the chain, named
 * `strata-l1`, `strata-l2`, `strata-l3`; members are listed from the one
 * nearest the source outwards (RFC 9211 §2), so the first member with `hit`
 * is the tier that answered.
 *
 * @example
 * formatCacheStatus([{ cache: 'strata-l2', hit: true, ttl: 59 }, { cache: 'strata-l1', fwd: 'miss', stored: true }])
 * // 'strata-l2; hit; ttl=59, strata-l1; fwd=miss; stored'
 */

export type TierName = 'L0' | 'L1' | 'L2' | 'L3';

export interface CacheStatusMember {
  cache: string;
  hit?: boolean;
  fwd?: 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'partial';
  /** Status the next hop answered with (RFC 9211 §2.3). */
  fwdStatus?: number;
  ttl?: number;
  stored?: boolean;
  collapsed?: boolean;
  /** Implementation detail token, e.g. `unavailable` when a tier was down. */
  detail?: string;
}

export function cacheName(tier: TierName): string {
  return `strata-${tier.toLowerCase()}`;
}

export function formatCacheStatus(members: CacheStatusMember[]): string {
  return members
    .map((m) => {
      const parts = [m.cache];
      if (m.hit) parts.push('hit');
      if (m.fwd) parts.push(`fwd=${m.fwd}`);
      if (m.fwdStatus !== undefined) parts.push(`fwd-status=${m.fwdStatus}`);
      if (m.ttl !== undefined) parts.push(`ttl=${Math.floor(m.ttl)}`);
      if (m.stored) parts.push('stored');
      if (m.collapsed) parts.push('collapsed');
      if (m.detail) parts.push(`detail=${sfTokenOrString(m.detail)}`);
      return parts.join('; ');
    })
    .join(', ');
}

/** An RFC 8941 token if the text is one, else a quoted sf-string (RFC 9211 §2.8 allows either). */
function sfTokenOrString(text: string): string {
  if (/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(text)) return text;
  return `"${text.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, '\\$&')}"`;
}

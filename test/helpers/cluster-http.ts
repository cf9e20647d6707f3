/**
 * HTTP helpers for the sim tests that drive a local cluster
 * (scripts/lib/cluster.ts): requests with the admin key, the key API's
 * PUT and GET, and a polling `until`.
 */
import { onTestFailed } from 'vitest';
import type { Cluster } from '../../scripts/lib/cluster.ts';

export interface Answer {
  status: number;
  body: string;
  /** The ETag, or a PUT's version from its body. */
  version: string | null;
  /** The tier that answered (`strata-l2`, …), from `Cache-Status`. */
  tier: string | null;
  headers: Headers;
}

export interface RequestInit {
  body?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Requests against a cluster's regions, all with its admin key. */
export function clusterHttp(cluster: () => Cluster) {
  async function req(
    region: string,
    method: string,
    path: string,
    init: RequestInit = {},
  ): Promise<Answer> {
    const c = cluster();
    const res = await fetch(`${c.url(region)}${path}`, {
      method,
      headers: { authorization: `Bearer ${c.adminKey}`, ...init.headers },
      body: init.body ?? null,
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
    const body = await res.text();
    const etag = res.headers.get('etag');
    const hit = (res.headers.get('cache-status') ?? '').split(',').find((m) => m.includes('; hit'));
    return {
      status: res.status,
      body,
      version: etag
        ? etag.replace(/"/g, '')
        : method === 'PUT' && res.status === 201
          ? (JSON.parse(body) as { version: string }).version
          : null,
      tier: hit ? (hit.split(';')[0] as string).trim() : null,
      headers: res.headers,
    };
  }
  const path = (ns: string, key: string) => `/v1/cache/${ns}/${encodeURIComponent(key)}`;
  return {
    req,
    put: (region: string, ns: string, key: string, value: string, headers = {}) =>
      req(region, 'PUT', path(ns, key), { body: value, headers }),
    get: (region: string, ns: string, key: string, headers: Record<string, string> = {}) =>
      req(region, 'GET', path(ns, key), { headers }),
    /** Prints every region's kept output if the current test fails. */
    printOutputOnFailure(): void {
      onTestFailed(() => {
        console.error(cluster().output());
      });
    },
  };
}

/** Polls `probe` every 50 ms until it returns something other than null/false; throws after `ms`. */
export async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | null | false>,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Helpers for proxy mode's workerd tests: requests through the proxy, and the scriptable origin. */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import type { ShardDO } from '../../durable-objects/shard.ts';
import type { RecordedRequest, ScriptedResponse } from '../../scripts/lib/scripted-origin.ts';
import { responseKey } from '../../src/http/cache-key.ts';
import { l3, shardStub } from '../workers/helpers.ts';

export const NS = 'proxy';
const BASE = 'https://cdn.test';

/** A path no other test uses. */
export function uniquePath(label = 'p'): string {
  return `/${label}/${crypto.randomUUID().slice(0, 12)}`;
}

/** A request through proxy mode (no Strata credential: proxied traffic needs none). */
export function get(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
) {
  return SELF.fetch(`${BASE}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
}

/** Fetches and reads the body, so the response is complete before the next step. */
export async function fetchText(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
) {
  const res = await get(path, headers, method);
  return { res, text: await res.text(), status: res.headers.get('cache-status') ?? '' };
}

async function control(op: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${env.ORIGIN_URL}/__origin/${op}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return res.json();
}

/** Queues responses the origin gives for the next requests to `path` (query strings ignored). */
export function script(path: string, responses: ScriptedResponse[]): Promise<unknown> {
  return control('script', { path, responses });
}

/** What the origin received for `path`. */
export async function originRequests(path: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${env.ORIGIN_URL}/__origin/requests?path=${encodeURIComponent(path)}`);
  return (await res.json()) as RecordedRequest[];
}

/** `up`, `down` (connections dropped) or `error` (every answer 503). */
export function originMode(mode: 'up' | 'down' | 'error'): Promise<unknown> {
  return control('mode', { mode });
}

/** The keys L2 holds for a target (the response, the Vary marker and the variants). */
export async function l2Keys(target: string): Promise<string[]> {
  return runInDurableObject(shardStub(NS, responseKey(target)), (_s: ShardDO, state) =>
    state.storage.sql
      .exec<{ key: string }>(
        'SELECT key FROM entries WHERE ns = ? AND key >= ? AND key < ?',
        NS,
        target,
        `${target}\u000b`,
      )
      .toArray()
      .map((r) => r.key),
  );
}

/** True when L3 holds the response key of a target. */
export async function inL3(target: string): Promise<boolean> {
  return (await l3().get(NS, responseKey(target))) !== null;
}

/** The origin's requests counted until `n` arrive, or `ms` pass. */
export async function waitForRequests(
  path: string,
  n: number,
  ms = 3000,
): Promise<RecordedRequest[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = await originRequests(path);
    if (seen.length >= n || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The proxy namespace's admin purge through the key API. */
export function purge(body: Record<string, unknown>): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/purge`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-admin-key', 'content-type': 'application/json' },
    body: JSON.stringify({ namespace: NS, ...body }),
  });
}

export { env };

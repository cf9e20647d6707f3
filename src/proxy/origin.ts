/**
 * Talking to the origin in proxy mode: the request Strata sends (client
 * fields filtered by `forwardableRequestHeaders`, `Via` added, redirects
 * passed through, never followed) and the failures it maps to problems:
 * no answer within `PROXY_ORIGIN_TIMEOUT_MS` is a 504, a connection that
 * fails is a 502 (RFC 9110 §15.6.3, §15.6.5).
 *
 * Used by the shard (collapsed, stored fills) and by the Worker (methods
 * and requests that are never stored, streamed through).
 *
 * @example
 * const got = await fetchOrigin('https://o.example/a', { method: 'GET', headers: {} }, 5000, 1 << 20);
 * if (got.ok) got.body; // the whole body, at most 1 MiB
 */
import { readUpTo } from '../body.ts';
import {
  forwardableRequestHeaders,
  type HeaderMap,
  headerMap,
  withoutHopByHop,
} from '../http/headers.ts';

/** Conditional fields of the client: Strata revalidates with its own validators (conditional.ts). */
export const CLIENT_CONDITIONALS = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
];

/** `invalid`: a final status outside 200–599, which no proxy can relay. */
export type OriginFailure = 'timeout' | 'unreachable' | 'too-large' | 'invalid';

export type OriginResult =
  | {
      ok: true;
      status: number;
      headers: HeaderMap;
      body: Uint8Array;
      requestTime: number;
      responseTime: number;
    }
  | { ok: false; failure: OriginFailure; status?: number };

/** The fields sent to the origin: the client's, filtered, then `extra`, then `Via` appended to. */
export function originRequestHeaders(
  client: HeaderMap,
  via: string,
  extra: HeaderMap = {},
  drop: readonly string[] = [],
): HeaderMap {
  const out = { ...forwardableRequestHeaders(client, drop), ...extra };
  out.via = out.via ? `${out.via}, ${via}` : via;
  return out;
}

/**
 * Fetches `url` and reads the whole body (at most `maxBody` bytes) within
 * `timeoutMs`. Never throws for network trouble: it is a result.
 */
export async function fetchOrigin(
  url: string,
  init: { method: string; headers: HeaderMap },
  timeoutMs: number,
  maxBody: number,
  now: () => number = Date.now,
): Promise<OriginResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const requestTime = now();
  try {
    const res = await fetch(url, { ...init, redirect: 'manual', signal: controller.signal });
    const responseTime = now();
    if (res.status < 200 || res.status > 599) {
      await res.body?.cancel();
      return { ok: false, failure: 'invalid', status: res.status };
    }
    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    if (length > maxBody) {
      await res.body?.cancel();
      return { ok: false, failure: 'too-large', status: res.status };
    }
    const body = init.method === 'HEAD' ? new Uint8Array(0) : await readUpTo(res.body, maxBody);
    if (body === null) return { ok: false, failure: 'too-large', status: res.status };
    return {
      ok: true,
      status: res.status,
      headers: withoutHopByHop(headerMap(res.headers)),
      body,
      requestTime,
      responseTime,
    };
  } catch {
    return { ok: false, failure: controller.signal.aborted ? 'timeout' : 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Fetches `url` for a response that is streamed to the client, not stored:
 * the `Response` as the origin sent it, or the failure.
 */
export async function streamOrigin(
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ ok: true; response: Response } | { ok: false; failure: OriginFailure }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, { ...init, redirect: 'manual', signal: controller.signal });
    if (response.status < 200 || response.status > 599) {
      await response.body?.cancel();
      return { ok: false, failure: 'invalid' };
    }
    return { ok: true, response };
  } catch {
    return { ok: false, failure: controller.signal.aborted ? 'timeout' : 'unreachable' };
  } finally {
    // The deadline covers the response head; the body streams at its own pace.
    clearTimeout(timer);
  }
}

/**
 * Which header fields a caching reverse proxy passes on, in each direction
 * (RFC 9110 §7.6.1 hop-by-hop fields; cache-poisoning hygiene for the rest).
 *
 * Requests: hop-by-hop fields and the fields `Connection` names are dropped;
 * so are the fields that are not part of Strata's cache key but that
 * origins and frameworks are known to act on (`X-Forwarded-Host`,
 * `X-Original-URL`, `X-HTTP-Method-Override`, …): forwarding them would let
 * one client change what is stored for everyone (unkeyed-input cache
 * poisoning). Strata adds `Via` instead.
 *
 * Responses: hop-by-hop fields are dropped before storing and serving.
 *
 * Pure: header maps are plain objects of lower-case names.
 *
 * @example
 * forwardableRequestHeaders({ host: 'a', 'x-forwarded-host': 'evil', accept: '*\/*' });
 * // { accept: '*\/*' }
 */

/** Lower-case field name → value (repeated fields joined with ", ", as `Headers` does). */
export type HeaderMap = Record<string, string>;

/** RFC 9110 §7.6.1, plus the proxy-specific fields of RFC 9111 §3.1. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request fields that are never forwarded: they are outside the cache key,
 * and origins act on them (routing, URL rewriting, method override, client
 * identity). `host` and `content-length` are set by the proxy itself.
 */
export const UNKEYED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-proto',
  'x-forwarded-scheme',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-uri',
  'x-original-url',
  'x-original-uri',
  'x-original-host',
  'x-rewrite-url',
  'x-host',
  'x-real-ip',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'true-client-ip',
]);

/** Fields named by `Connection` (RFC 9110 §7.6.1), lower-cased. */
function connectionOptions(headers: HeaderMap): Set<string> {
  const out = new Set<string>();
  for (const token of (headers.connection ?? '').split(',')) {
    const name = token.trim().toLowerCase();
    if (name) out.add(name);
  }
  return out;
}

/** A copy without hop-by-hop fields and without the fields `Connection` names. */
export function withoutHopByHop(headers: HeaderMap): HeaderMap {
  const named = connectionOptions(headers);
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * The client's fields that may go to the origin: no hop-by-hop fields, no
 * unkeyed routing/override fields, nothing Cloudflare adds (`cf-*`; the
 * platform sets its own on the way out), and none of `drop`.
 */
export function forwardableRequestHeaders(
  headers: HeaderMap,
  drop: readonly string[] = [],
): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(withoutHopByHop(headers))) {
    if (UNKEYED_REQUEST_HEADERS.has(name) || name.startsWith('cf-') || drop.includes(name))
      continue;
    out[name] = value;
  }
  return out;
}

/**
 * `Headers` as a `HeaderMap` (names are already lower-case in `Headers`).
 * `Set-Cookie` cannot be joined with commas (cookie dates contain them), so
 * its lines are joined with a newline, which no field value contains;
 * `toHeaders` splits them again.
 */
export function headerMap(headers: Headers): HeaderMap {
  const out: HeaderMap = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  const cookies = headers.getSetCookie?.() ?? [];
  if (cookies.length > 0) out['set-cookie'] = cookies.join('\n');
  return out;
}

/** A `HeaderMap` back as `Headers`, one `Set-Cookie` line per cookie. */
export function toHeaders(map: HeaderMap): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(map)) {
    if (name === 'set-cookie') for (const line of value.split('\n')) out.append(name, line);
    else out.set(name, value);
  }
  return out;
}

/** Removes hop-by-hop fields (and those `Connection` names) from `Headers` in place. */
export function stripHopByHop(headers: Headers): Headers {
  for (const name of connectionOptions({ connection: headers.get('connection') ?? '' }))
    headers.delete(name);
  for (const name of HOP_BY_HOP) headers.delete(name);
  return headers;
}

/** The comma-separated members of a list field, trimmed, empty members dropped. */
export function listMembers(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const member = part.trim();
    if (member) out.push(member);
  }
  return out;
}

/**
 * The request target as proxy mode keys and forwards it: one normalised
 * string, so that the cache key and the origin always see the same
 * resource (a key built from one spelling of a path and a fetch of another
 * is how cache deception starts).
 *
 * Normalisation (RFC 3986 §6.2.2, as WHATWG URL parsing leaves it): dot
 * segments resolved and backslashes read as slashes (by `URL`), then every
 * percent-encoding upper-cased and percent-encoded unreserved characters
 * (`A-Z a-z 0-9 - . _ ~`) decoded. Everything else is kept byte for byte:
 * `%2F` stays distinct from `/`, the query keeps its order, and the
 * fragment is dropped (it is never sent).
 *
 * Keys: `<target>` for the response (or the Vary marker) and
 * `<target>\n<variant>` for one variant of it. A purge of the key
 * `<target>` in the proxy namespace also purges the prefix `<target>\n`
 * (src/purge/submit.ts): every variant of that URL, and nothing else, since
 * no target contains a newline. Shards are placed by the part of a key
 * before its first newline (src/hashing.ts), so all of a URL's keys share
 * one shard.
 *
 * @example
 * normaliseTarget(new URL('https://a/x/../%7euser/%2f?q=%4a'));
 * // '/~user/%2F?q=J'
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Upper-cases percent-encodings and decodes the unreserved ones. */
function normalisePercent(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

/** Path and query of `url`, normalised; the string both the key and the origin request use. */
export function normaliseTarget(url: URL): string {
  return normalisePercent(url.pathname) + normalisePercent(url.search);
}

/** The key of the response stored for a target (or of its Vary marker). */
export function responseKey(target: string): string {
  return target;
}

/** The key of one variant of a target's response. */
export function variantKey(target: string, variant: string): string {
  return `${target}\n${variant}`;
}

/**
 * Tags an origin puts on its responses (README "Proxy mode"): `Cache-Tag`
 * (comma-separated, as Cloudflare reads it) and `Surrogate-Key`
 * (space-separated, as Fastly reads it). They become the stored entry's
 * tags, so `POST /v1/purge` and webhooks purge proxied responses by tag.
 *
 * An origin is not a client: a tag that breaks the key API's rules (visible
 * ASCII, at most 128 bytes) is skipped rather than failing the response,
 * and tags past the 32nd are dropped.
 *
 * @example
 * tagsOf({ 'cache-tag': 'a,b', 'surrogate-key': 'b c' }); // ['a', 'b', 'c']
 */
import type { HeaderMap } from '../http/headers.ts';
import { LIMITS } from '../limits.ts';

export const TAG_FIELDS = ['cache-tag', 'surrogate-key'] as const;

export function tagsOf(headers: HeaderMap): string[] {
  const raw = [
    ...(headers['cache-tag'] ?? '').split(','),
    ...(headers['surrogate-key'] ?? '').split(/[ \t]+/),
  ];
  const tags: string[] = [];
  for (const part of raw) {
    const tag = part.trim();
    if (tag === '' || tag.length > LIMITS.maxTagBytes || !/^[\x21-\x7e]+$/.test(tag)) continue;
    if (tag.includes(',') || tags.includes(tag)) continue;
    tags.push(tag);
    if (tags.length === LIMITS.maxTags) break;
  }
  return tags;
}

/** The fields without the tag fields (what clients see unless `PROXY_EXPOSE_TAGS`). */
export function withoutTagFields(headers: HeaderMap): HeaderMap {
  const out = { ...headers };
  for (const name of TAG_FIELDS) delete out[name];
  return out;
}

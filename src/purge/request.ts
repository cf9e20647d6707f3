/**
 * What a purge asks for, as `POST /v1/purge` and signed webhooks carry it
 * (webhooks in `data`). Pure; no runtime imports.
 *
 *   { "namespace": "pages",
 *     "keys": ["home"], "prefixes": ["blog/"], "tags": ["product-42"],
 *     "all": false,            // true: every entry in the namespace
 *     "soft": false }          // true: mark stale instead of removing
 *
 * A purge names one namespace (authorisation is per namespace) and at least
 * one selector; together they may name at most `MAX_PURGE_SELECTORS` keys,
 * prefixes and tags.
 */
import * as z from 'zod/mini';
import { StrataError } from '../errors.ts';
import { LIMITS } from '../limits.ts';
import { parseCacheTags, parseKey, parseNamespace } from '../validation.ts';

/** Keys + prefixes + tags in one purge (Cloudflare's zone purge takes 100 items a call, too). */
export const MAX_PURGE_SELECTORS = 100;

export interface PurgeSelectors {
  namespace: string;
  keys: string[];
  prefixes: string[];
  tags: string[];
  /** The whole namespace. */
  all: boolean;
}

export interface PurgeRequest extends PurgeSelectors {
  /** Mark stale (served while one refresh runs, within `stale-while-revalidate`) instead of removing. */
  soft: boolean;
}

const shape = z.object({
  namespace: z.string(),
  keys: z.optional(z.array(z.string())),
  prefixes: z.optional(z.array(z.string())),
  tags: z.optional(z.array(z.string())),
  all: z.optional(z.boolean()),
  soft: z.optional(z.boolean()),
});

/** Validates a purge body; throws a 400 `invalid-purge` problem naming what is wrong. */
export function parsePurgeRequest(body: unknown): PurgeRequest {
  const parsed = shape.safeParse(body);
  if (!parsed.success) {
    throw new StrataError(
      'invalid-purge',
      'A purge is a JSON object: {"namespace": string, "keys"?: string[], "prefixes"?: string[], "tags"?: string[], "all"?: boolean, "soft"?: boolean}.',
      { extensions: { issues: parsed.error.issues.slice(0, 5).map((i) => i.message) } },
    );
  }
  const p = parsed.data;
  const namespace = parseNamespace(p.namespace);
  const count = (p.keys?.length ?? 0) + (p.prefixes?.length ?? 0) + (p.tags?.length ?? 0);
  if (count > MAX_PURGE_SELECTORS) {
    throw new StrataError(
      'invalid-purge',
      `A purge names at most ${MAX_PURGE_SELECTORS} keys, prefixes and tags together; this one names ${count}.`,
      { extensions: { limit: MAX_PURGE_SELECTORS } },
    );
  }
  if (count === 0 && p.all !== true) {
    throw new StrataError(
      'invalid-purge',
      'Name at least one key, prefix or tag, or set "all": true to purge the whole namespace.',
    );
  }
  const keys = unique((p.keys ?? []).map(parseKey));
  const prefixes = unique((p.prefixes ?? []).map(parseKey));
  const tags = unique(
    (p.tags ?? []).map((t) => {
      const [tag, ...rest] = parseCacheTags(t);
      if (tag === undefined || rest.length > 0 || tag !== t)
        throw new StrataError(
          'invalid-tag',
          `"${t.slice(0, LIMITS.maxTagBytes)}" is not one tag: tags are 1-${LIMITS.maxTagBytes} bytes of visible ASCII without commas.`,
        );
      return tag;
    }),
  );
  return { namespace, keys, prefixes, tags, all: p.all === true, soft: p.soft === true };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

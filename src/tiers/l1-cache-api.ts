/**
 * L1: the Workers Cache API of the data centre serving the request.
 *
 * Entries live under synthetic URLs, one path per namespace and generation
 * (`https://l1.strata.invalid/<namespace>/<generation>/<encoded key>`; the
 * generation changes with every purge of the namespace, see
 * src/purge/generations.ts), as responses whose
 * body is the value and whose `Cache-Control: max-age` is the entry's
 * *remaining* TTL capped by `L1_MAX_TTL` (L1 is per data centre and is not
 * told about writes elsewhere, so the cap bounds how stale it can be).
 * The metadata rides in a header and the expiry is checked again on read,
 * since the Cache API works in whole seconds.
 */
import type { Clock } from '../clock.ts';
import type { Entry, EntryMeta } from '../entry.ts';
import { remainingTtl } from '../entry.ts';
import type { Tier } from './tier.ts';

const META_HEADER = 'x-strata-meta';

export function l1Url(namespace: string, key: string, generation = '0'): string {
  return `https://l1.strata.invalid/${namespace}/${generation}/${encodeURIComponent(key)}`;
}

/** L1 as `TieredCache` uses it: every call names the namespace's generation. */
export interface GenerationalTier {
  get(namespace: string, key: string, generation: string): Promise<Entry | null>;
  set(entry: Entry, generation: string): Promise<void>;
  delete(namespace: string, key: string, tombstone: undefined, generation: string): Promise<void>;
}

export class CacheApiTier implements Tier, GenerationalTier {
  readonly name = 'L1' as const;

  constructor(
    private readonly cache: Cache,
    private readonly clock: Clock,
    private readonly maxTtl: number,
  ) {}

  async get(namespace: string, key: string, generation = '0'): Promise<Entry | null> {
    const res = await this.cache.match(l1Url(namespace, key, generation));
    if (!res) return null;
    const header = res.headers.get(META_HEADER);
    if (!header) return null;
    const meta = JSON.parse(decodeURIComponent(header)) as EntryMeta;
    const value = new Uint8Array(await res.arrayBuffer());
    if (value.byteLength !== meta.size) return null;
    return { meta, value };
  }

  async set(entry: Entry, generation = '0'): Promise<void> {
    const ttl = Math.min(remainingTtl(entry.meta, this.clock.now()), this.maxTtl);
    if (ttl < 1) return; // less than a second left: not worth a copy
    await this.cache.put(
      l1Url(entry.meta.namespace, entry.meta.key, generation),
      new Response(entry.value, {
        headers: {
          'cache-control': `max-age=${ttl}`,
          'content-type': 'application/octet-stream',
          // Header values must be ByteStrings: percent-encode the JSON.
          [META_HEADER]: encodeURIComponent(JSON.stringify(entry.meta)),
        },
      }),
    );
  }

  async delete(namespace: string, key: string, _tombstone?: unknown, generation = '0') {
    await this.cache.delete(l1Url(namespace, key, generation));
  }
}

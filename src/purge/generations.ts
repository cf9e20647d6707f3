/**
 * L1 (and L0) generations: how a purge reaches copies held in every data
 * centre without visiting them.
 *
 * L1 is the Cache API of one data centre: a purge cannot delete what other
 * data centres hold. Instead, L1 keys embed their namespace's generation —
 * the version of the latest purge of that namespace this region received
 * within L1_MAX_TTL — so after a purge every copy made before it sits under
 * a key nobody asks for any more and ages out (copies live at most
 * L1_MAX_TTL). Each isolate learns generations from its region's PurgeDO and
 * reuses what it learned for PURGE_FEED_MS, so a purge stops L1 and L0 hits
 * everywhere within that bound; the isolate that accepted the purge bumps
 * its own view at once.
 *
 * The generation of a namespace with no recent purge is '0'.
 */
import type { Config, Env } from '../env.ts';
import { compareVersionText } from './rules.ts';
import { purgeStub } from './submit.ts';

interface Feed {
  gens: Map<string, string>;
  /** When each local bump happened: a bump during a refresh survives that refresh's answer. */
  bumpedAt: Map<string, number>;
  fetchedAt: number;
  inflight: Promise<boolean> | null;
}

/** One view per isolate (per `env` object). */
const feeds = new WeakMap<object, Feed>();

function feedOf(env: object): Feed {
  let feed = feeds.get(env);
  if (!feed) {
    feed = {
      gens: new Map(),
      bumpedAt: new Map(),
      fetchedAt: Number.NEGATIVE_INFINITY,
      inflight: null,
    };
    feeds.set(env, feed);
  }
  return feed;
}

/**
 * The namespace's current generation, asking the PurgeDO if this isolate's
 * view is older than PURGE_FEED_MS; null when it cannot be known (then the
 * caller must not use L0 or L1 for this read).
 */
export async function generationOf(
  env: Env,
  config: Config,
  namespace: string,
  now: number = Date.now(),
): Promise<string | null> {
  const feed = feedOf(env);
  if (now - feed.fetchedAt >= config.purgeFeedMs) {
    if (!feed.inflight) {
      feed.inflight = refresh(env, config, feed, now).finally(() => {
        feed.inflight = null;
      });
    }
    if (!(await feed.inflight)) return null;
  }
  return feed.gens.get(namespace) ?? '0';
}

/** Moves this isolate's view of a namespace to `version` if that is newer (a purge it just accepted or received). */
export function bumpGeneration(env: object, namespace: string, version: string): void {
  const feed = feedOf(env);
  const current = feed.gens.get(namespace);
  if (current === undefined || compareVersionText(version, current) > 0) {
    feed.gens.set(namespace, version);
    feed.bumpedAt.set(namespace, Date.now());
  }
}

async function refresh(env: Env, config: Config, feed: Feed, now: number): Promise<boolean> {
  try {
    const gens = (await purgeStub(env, config).generations()) as Record<string, string>;
    const next = new Map(Object.entries(gens));
    // Keep bumps made while the answer was on its way: it may predate them.
    for (const [ns, at] of feed.bumpedAt) {
      const local = feed.gens.get(ns);
      const fetched = next.get(ns);
      if (at < now) feed.bumpedAt.delete(ns);
      else if (local && (fetched === undefined || compareVersionText(local, fetched) > 0))
        next.set(ns, local);
    }
    feed.gens = next;
    feed.fetchedAt = now;
    return true;
  } catch {
    return false;
  }
}

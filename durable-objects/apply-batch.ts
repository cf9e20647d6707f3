/**
 * Applying a peer's batch of events to one shard, by last-writer-wins on
 * HLC versions. Runs inside the caller's SQLite transaction.
 *
 * Stream events (`direct` false) at or below the origin's high-water mark
 * are skipped unseen; every other event is compared with the version the
 * shard knows (`key_versions`, tombstones included), so duplicates and
 * reordered deliveries change nothing. Each applied version moves the
 * shard's clock past it, so later local writes order after it.
 */
import { base64ToBytes } from '../src/base64.ts';
import type { Entry, EntryMeta } from '../src/entry.ts';
import { formatHlc, type HlcClock, parseHlc } from '../src/hlc.ts';
import type { ReplicationEvent } from '../src/replication/events.ts';
import type { KeyVersions } from './key-versions.ts';
import type { Outbox } from './outbox.ts';
import type { ApplyResult } from './shard-api.ts';
import type { ShardStore } from './shard-store.ts';

export interface ApplyDeps {
  store: ShardStore;
  versions: KeyVersions;
  outbox: Outbox;
  hlc: HlcClock;
  /** Called before a key changes (in-flight L3 fills must not overwrite it). */
  changing(ns: string, key: string): void;
  /**
   * True when a purge this shard knows selects the entry (it then records
   * the purge's tombstone instead): a write older than a purge that arrives
   * after it stays purged.
   */
  purged(meta: EntryMeta, now: number): boolean;
}

export function applyBatch(
  deps: ApplyDeps,
  origin: string,
  direct: boolean,
  events: ReplicationEvent[],
  now: number,
): ApplyResult {
  const { store, versions, outbox, hlc } = deps;
  const result: ApplyResult = { applied: 0, stale: 0, duplicate: 0, hwm: 0, changed: [] };
  const mark = outbox.inboundMark(origin);
  let top = mark;
  for (const event of events) {
    if (!direct && event.seq <= mark) {
      result.duplicate++;
      continue;
    }
    if (!direct) top = Math.max(top, event.seq);
    const remote = parseHlc(event.version);
    if (!remote || !versions.isNewer(event.ns, event.key, event.version)) {
      result.stale++;
      continue;
    }
    hlc.observe(remote);
    deps.changing(event.ns, event.key);
    applyEvent(deps, event, now);
    result.applied++;
    result.changed.push({ ns: event.ns, key: event.key });
  }
  if (!direct && top > mark) outbox.advanceInbound(origin, top, result.applied, now);
  else if (direct && result.applied > 0) outbox.advanceInbound(origin, 0, result.applied, now);
  store.saveHlc(formatHlc(hlc.peek()));
  result.hwm = Math.max(top, mark);
  return result;
}

function applyEvent(deps: ApplyDeps, event: ReplicationEvent, now: number): void {
  const { store, versions } = deps;
  const { ns, key, version, expiresAt } = event;
  if (event.op === 'delete') {
    store.delete(ns, key);
    versions.record({ ns, key, version, expiresAt, deleted: true }, 0);
    return;
  }
  if (event.meta && deps.purged(event.meta, now)) return;
  if (event.meta && event.value !== undefined && expiresAt > now) {
    const entry: Entry = { meta: event.meta, value: base64ToBytes(event.value) };
    store.put(entry, now);
  } else {
    // The version exists but its bytes did not come along: drop any older copy, read through L3.
    store.delete(ns, key);
  }
  versions.record({ ns, key, version, expiresAt, deleted: false }, 0);
}

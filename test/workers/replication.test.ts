/**
 * Replication inside one shard, in real workerd: applying peers' events by
 * last-writer-wins on HLC versions, high-water marks that make re-deliveries
 * no-ops, tombstones that stop resurrection (from peers and from a lagging
 * L3), and the digests anti-entropy compares. The cross-region paths (alarms
 * delivering over HTTP, quorum, strong) run in test/sim with real regions.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ShardDO } from '../../durable-objects/shard.ts';
import { bytesToBase64 } from '../../src/base64.ts';
import type { EntryMeta } from '../../src/entry.ts';
import { shardFor } from '../../src/hashing.ts';
import { compareHlc, formatHlc, parseHlc } from '../../src/hlc.ts';
import type { ReplicationEvent } from '../../src/replication/events.ts';
import { call, freshNamespace, keyPath, l3, shardStub } from './helpers.ts';

const encoder = new TextEncoder();

function putEvent(
  ns: string,
  key: string,
  value: string,
  wall: number,
  seq = 0,
  region = 'eu-west',
): ReplicationEvent {
  const version = formatHlc({ wall, counter: 0, region });
  const bytes = encoder.encode(value);
  const meta: EntryMeta = {
    namespace: ns,
    key,
    version,
    createdAt: wall,
    expiresAt: wall + 600_000,
    staleWhileRevalidate: 0,
    staleIfError: 0,
    tags: [],
    contentType: 'text/plain',
    size: bytes.byteLength,
  };
  return {
    seq,
    op: 'put',
    ns,
    key,
    version,
    expiresAt: meta.expiresAt,
    meta,
    value: bytesToBase64(bytes),
  };
}

function deleteEvent(
  ns: string,
  key: string,
  wall: number,
  seq = 0,
  region = 'eu-west',
): ReplicationEvent {
  return {
    seq,
    op: 'delete',
    ns,
    key,
    version: formatHlc({ wall, counter: 0, region }),
    expiresAt: wall + 600_000,
  };
}

async function read(
  ns: string,
  key: string,
): Promise<{ status: number; body: string; etag: string | null }> {
  const res = await call('GET', keyPath(ns, key));
  return { status: res.status, body: await res.text(), etag: res.headers.get('etag') };
}

describe('applying a peer’s events', () => {
  it('stores a newer remote write, and ignores an older one', async () => {
    const ns = freshNamespace('rep');
    const now = Date.now();
    const shard = shardStub(ns, 'k');
    const first = await shard.applyRemote('eu-west', true, [putEvent(ns, 'k', 'v2', now + 5)]);
    expect(first.applied).toBe(1);
    const older = await shard.applyRemote('eu-west', true, [putEvent(ns, 'k', 'v1', now)]);
    expect(older).toMatchObject({ applied: 0, stale: 1 });
    const got = await read(ns, 'k');
    expect(got).toMatchObject({ status: 200, body: 'v2' });
    expect(got.etag).toBe(`"${formatHlc({ wall: now + 5, counter: 0, region: 'eu-west' })}"`);
  });

  it('breaks a tie on wall time and counter by region name, the same way everywhere', async () => {
    const ns = freshNamespace('rep');
    const wall = Date.now();
    const shard = shardStub(ns, 'tie');
    await shard.applyRemote('ap-southeast', true, [
      putEvent(ns, 'tie', 'from-ap', wall, 0, 'ap-southeast'),
    ]);
    await shard.applyRemote('us-east', true, [putEvent(ns, 'tie', 'from-us', wall, 0, 'us-east')]);
    await shard.applyRemote('eu-west', true, [putEvent(ns, 'tie', 'from-eu', wall, 0, 'eu-west')]);
    expect((await read(ns, 'tie')).body).toBe('from-us');
  });

  it('skips stream events at or below the origin’s high-water mark: duplicates and re-runs change nothing', async () => {
    const ns = freshNamespace('rep');
    const now = Date.now();
    const shard = shardStub(ns, 'a');
    const d1 = [putEvent(ns, 'a', 'one', now, 1)];
    const d2 = [putEvent(ns, 'a', 'two', now + 1, 2), deleteEvent(ns, 'a', now + 2, 3)];
    const d3 = [putEvent(ns, 'a', 'three', now + 3, 4)];
    expect((await shard.applyRemote('eu-west', false, d1)).hwm).toBe(1);
    expect((await shard.applyRemote('eu-west', false, d2)).hwm).toBe(3);
    expect((await shard.applyRemote('eu-west', false, d3)).hwm).toBe(4);
    const before = await read(ns, 'a');
    // Every batch again, in another order, twice: all below the mark.
    for (const batch of [d2, d1, d3, d3, d1, d2]) {
      const r = await shard.applyRemote('eu-west', false, batch);
      expect(r.applied).toBe(0);
      expect(r.duplicate).toBe(batch.length);
      expect(r.hwm).toBe(4);
    }
    expect(await read(ns, 'a')).toEqual(before);
    expect(before.body).toBe('three');
    // The same events pushed directly (quorum, anti-entropy) are compared by version: still nothing.
    const direct = await shard.applyRemote('eu-west', true, [...d1, ...d2, ...d3]);
    expect(direct.applied).toBe(0);
  });

  it('a tombstone beats every older write, from peers and from a lagging L3', async () => {
    const ns = freshNamespace('rep');
    const now = Date.now();
    const shard = shardStub(ns, 'gone');
    const write = putEvent(ns, 'gone', 'alive', now);
    await shard.applyRemote('eu-west', true, [write]);
    await shard.applyRemote('eu-west', true, [deleteEvent(ns, 'gone', now + 10)]);
    expect((await read(ns, 'gone')).status).toBe(404);
    // The older write arriving late from another region does not resurrect it.
    const late = await shard.applyRemote('us-east', true, [
      putEvent(ns, 'gone', 'zombie', now + 5, 0, 'us-east'),
    ]);
    expect(late.stale).toBe(1);
    // Nor does L3 still holding the old version (say, its delete is pending in another region).
    await l3().set({ meta: write.meta as EntryMeta, value: encoder.encode('alive') });
    const res = await call('GET', keyPath(ns, 'gone'));
    expect(res.status).toBe(404);
    // A write after the delete does land.
    await shard.applyRemote('eu-west', true, [putEvent(ns, 'gone', 'reborn', now + 20)]);
    expect((await read(ns, 'gone')).body).toBe('reborn');
  });

  it('a local delete is a versioned tombstone that older remote writes cannot undo', async () => {
    const ns = freshNamespace('rep');
    const put = await call('PUT', keyPath(ns, 'k'), { body: 'local' });
    expect(put.status).toBe(201);
    const written = parseHlc(((await put.json()) as { version: string }).version);
    expect((await call('DELETE', keyPath(ns, 'k'))).status).toBe(204);
    const shard = shardStub(ns, 'k');
    const r = await shard.applyRemote('eu-west', true, [
      putEvent(ns, 'k', 'older', (written?.wall ?? 0) - 1),
    ]);
    expect(r.stale).toBe(1);
    expect((await read(ns, 'k')).status).toBe(404);
  });

  it('a version without bytes drops the older copy and reads through L3', async () => {
    const ns = freshNamespace('rep');
    const now = Date.now();
    const shard = shardStub(ns, 'thin');
    await shard.applyRemote('eu-west', true, [putEvent(ns, 'thin', 'old', now)]);
    const newer = putEvent(ns, 'thin', 'new', now + 7);
    await l3().set({ meta: newer.meta as EntryMeta, value: encoder.encode('new') });
    const { meta: _m, value: _v, ...bare } = newer;
    await shard.applyRemote('eu-west', true, [bare]);
    const res = await call('GET', keyPath(ns, 'thin'));
    expect(await res.text()).toBe('new');
    expect(res.headers.get('cache-status')).toContain('strata-l3; hit');
  });

  it('observing a remote version moves the shard’s clock past it', async () => {
    const ns = freshNamespace('rep');
    const future = Date.now() + 60_000;
    await shardStub(ns, 'k').applyRemote('eu-west', true, [putEvent(ns, 'k', 'remote', future)]);
    const res = await call('PUT', keyPath(ns, 'k'), { body: 'local' });
    const version = parseHlc(((await res.json()) as { version: string }).version);
    const remote = parseHlc(formatHlc({ wall: future, counter: 0, region: 'eu-west' }));
    expect(version && remote && compareHlc(version, remote) > 0).toBe(true);
    expect((await read(ns, 'k')).body).toBe('local');
  });
});

describe('L3 orders writes by version, not by arrival', () => {
  it('an older write or delete arriving late changes nothing; newer ones apply', async () => {
    const ns = freshNamespace('rep');
    const now = Date.now();
    const tier = l3();
    const entryOf = (e: ReplicationEvent, text: string) => ({
      meta: e.meta as EntryMeta,
      value: encoder.encode(text),
    });
    const v1 = putEvent(ns, 'k', 'one', now);
    const v2 = putEvent(ns, 'k', 'two', now + 10);
    await tier.set(entryOf(v2, 'two'));
    await tier.set(entryOf(v1, 'one'));
    expect((await tier.get(ns, 'k'))?.meta.version).toBe(v2.version);
    await tier.delete(ns, 'k', { version: v1.version, expiresAt: now + 60_000 });
    expect((await tier.get(ns, 'k'))?.meta.version).toBe(v2.version);
    const tombstone = formatHlc({ wall: now + 20, counter: 0, region: 'eu-west' });
    await tier.delete(ns, 'k', { version: tombstone, expiresAt: now + 60_000 });
    expect(await tier.get(ns, 'k')).toBeNull();
    await tier.set(entryOf(v2, 'two'));
    expect(await tier.get(ns, 'k')).toBeNull();
    const v3 = putEvent(ns, 'k', 'three', now + 30);
    await tier.set(entryOf(v3, 'three'));
    expect((await tier.get(ns, 'k'))?.meta.version).toBe(v3.version);
  });
});

describe('shard identity', () => {
  it('a shard knows its index from its name (it tags its outbox batches with it)', async () => {
    const ns = freshNamespace('rep');
    const stats = await shardStub(ns, 'k').replicationStats();
    expect(stats.shard).toBe(shardFor(ns, 'k', Number(env.SHARDS)));
  });

  it('a shard the runtime does not name learns its index from callers and remembers it', async () => {
    const stub = env.SHARD.get(env.SHARD.newUniqueId());
    await stub.write(
      {
        namespace: 'rep',
        key: 'k',
        value: new Uint8Array([1]),
        contentType: 'application/octet-stream',
        tags: [],
        ttl: 60,
        staleWhileRevalidate: 0,
        staleIfError: 0,
      },
      3,
    );
    expect((await stub.replicationStats()).shard).toBe(3);
    const rows = await runInDurableObject(stub, (_shard, state) =>
      state.storage.sql.exec<{ v: string }>("SELECT v FROM shard_meta WHERE k = 'shard'").toArray(),
    );
    expect(rows[0]?.v).toBe('3');
  });
});

describe('key versions are kept only as long as they matter', () => {
  it('expired versions and tombstones past their grace are pruned; fresh ones stay', async () => {
    const ns = freshNamespace('rep');
    expect((await call('PUT', keyPath(ns, 'live'), { body: 'x' })).status).toBe(201);
    expect((await call('PUT', keyPath(ns, 'gone'), { body: 'x' })).status).toBe(201);
    expect((await call('DELETE', keyPath(ns, 'gone'))).status).toBe(204);
    // Both keys may live in one shard: check every key is kept before pruning the far future anywhere.
    const keys = ['live', 'gone'];
    for (const key of keys) {
      await runInDurableObject(shardStub(ns, key), (shard: ShardDO) => {
        const versions = shard['versions'];
        expect(versions.get(ns, key)).not.toBeNull();
        versions.prune(Date.now(), 0);
        expect(versions.get(ns, key)).not.toBeNull();
      });
    }
    for (const key of keys) {
      await runInDurableObject(shardStub(ns, key), (shard: ShardDO) => {
        // Two hours on: past the tombstone grace (1 h) and the entry's expiry (1 h default TTL) plus retention.
        shard['versions'].prune(Date.now() + 2 * 3_600_000, 0);
        expect(shard['versions'].get(ns, key)).toBeNull();
      });
    }
  });
});

describe('digests for anti-entropy', () => {
  it('change with every applied version and list what is in a bucket', async () => {
    const ns = freshNamespace('rep');
    const now = Date.now();
    const shard = shardStub(ns, 'd');
    const before = await shard.digest(now);
    await shard.applyRemote('eu-west', true, [putEvent(ns, 'd', 'x', now)]);
    const after = await shard.digest(now);
    const changed = after.map((v, i) => (v !== before[i] ? i : -1)).filter((i) => i >= 0);
    expect(changed).toHaveLength(1);
    const rows = await shard.listVersions(changed, now, 100);
    expect(rows.some((r) => r.ns === ns && r.key === 'd' && !r.deleted)).toBe(true);
  });
});

describe('/internal in a region without replication keys', () => {
  it('answers 404 problem+json, whatever the credential', async () => {
    const res = await call('POST', '/internal/replicate', { body: '{}' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

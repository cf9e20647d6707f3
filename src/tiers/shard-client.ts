/**
 * The Worker's handle on L2: finds the shard Durable Object that owns a key
 * in this region (rendezvous hashing over SHARDS) and calls it over RPC.
 * Retries only errors the runtime marks `retryable` and not `overloaded`,
 * with full-jitter backoff (an overloaded object needs less traffic, not more).
 */
import type { KeyVersion } from '../../durable-objects/key-versions.ts';
import type {
  ApplyResult,
  ReplicationStats,
  ShardDO,
  ShardRead,
  ShardRemove,
  ShardStats,
  ShardWrite,
  ShardWriteInput,
} from '../../durable-objects/shard.ts';
import type { ProxyAnswer, ProxyPlan } from '../../durable-objects/shard-proxy.ts';
import type { Config, Env } from '../env.ts';
import { shardFor, shardName } from '../hashing.ts';
import { responseKey } from '../http/cache-key.ts';
import type { ReplicationEvent } from '../replication/events.ts';

const ATTEMPTS = 3;
const BASE_DELAY_MS = 20;

export class ShardClient {
  constructor(
    private readonly namespace: DurableObjectNamespace<ShardDO>,
    private readonly config: Config,
  ) {}

  static fromEnv(env: Env, config: Config): ShardClient {
    return new ShardClient(env.SHARD, config);
  }

  /** The stub for the shard owning (namespace, key). Stubs are cheap; a broken one is never reused. */
  stubFor(namespace: string, key: string): DurableObjectStub<ShardDO> {
    return this.stubForShard(shardFor(namespace, key, this.config.shards));
  }

  /** The location hint only matters when the object is first created: placed in this region. */
  stubForShard(shard: number): DurableObjectStub<ShardDO> {
    const id = this.namespace.idFromName(shardName(this.config.region, shard));
    const hint = this.config.locationHint;
    return hint ? this.namespace.get(id, { locationHint: hint }) : this.namespace.get(id);
  }

  read(namespace: string, key: string): Promise<ShardRead> {
    return retrying(() => this.stubFor(namespace, key).read(namespace, key) as Promise<ShardRead>);
  }

  /** The shard index travels with the call: a shard that cannot read its own name learns it (and needs it to replicate). */
  write(input: ShardWriteInput): Promise<ShardWrite> {
    const shard = shardFor(input.namespace, input.key, this.config.shards);
    return retrying(() => this.stubForShard(shard).write(input, shard) as Promise<ShardWrite>);
  }

  remove(namespace: string, key: string): Promise<ShardRemove> {
    return retrying(() => {
      const shard = shardFor(namespace, key, this.config.shards);
      return this.stubForShard(shard).remove(namespace, key, shard) as Promise<ShardRemove>;
    });
  }

  /** Proxy mode: the shard owning the URL serves one GET or HEAD of it (durable-objects/shard-proxy.ts). */
  proxyServe(plan: ProxyPlan): Promise<ProxyAnswer> {
    return retrying(
      () =>
        this.stubFor(plan.namespace, responseKey(plan.target)).proxyServe(
          plan,
        ) as Promise<ProxyAnswer>,
    );
  }

  applyRemote(
    shard: number,
    origin: string,
    direct: boolean,
    events: ReplicationEvent[],
  ): Promise<ApplyResult> {
    return retrying(
      () =>
        this.stubForShard(shard).applyRemote(origin, direct, events, shard) as Promise<ApplyResult>,
    );
  }

  digest(shard: number, asOf: number): Promise<number[]> {
    return retrying(() => this.stubForShard(shard).digest(asOf) as Promise<number[]>);
  }

  listVersions(
    shard: number,
    buckets: number[],
    asOf: number,
    limit: number,
    after?: { ns: string; key: string },
  ): Promise<KeyVersion[]> {
    return retrying(
      () =>
        this.stubForShard(shard).listVersions(buckets, asOf, limit, after) as Promise<KeyVersion[]>,
    );
  }

  replicationStats(shard: number): Promise<ReplicationStats> {
    return retrying(() => this.stubForShard(shard).replicationStats() as Promise<ReplicationStats>);
  }

  antiEntropyNow(shard: number): Promise<unknown> {
    return retrying(() => this.stubForShard(shard).antiEntropyNow() as Promise<unknown>);
  }

  stats(shard: number): Promise<ShardStats> {
    return retrying(() => this.stubForShard(shard).stats() as Promise<ShardStats>);
  }
}

interface DurableObjectError {
  retryable?: boolean;
  overloaded?: boolean;
}

async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const e = err as DurableObjectError;
      if (attempt >= ATTEMPTS || !e?.retryable || e.overloaded) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * BASE_DELAY_MS * 2 ** attempt));
    }
  }
}

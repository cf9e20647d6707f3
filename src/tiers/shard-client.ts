/**
 * The Worker's handle on L2: finds the shard Durable Object that owns a key
 * in this region (rendezvous hashing over SHARDS) and calls it over RPC.
 * Retries only errors the runtime marks `retryable` and not `overloaded`,
 * with full-jitter backoff (an overloaded object needs less traffic, not more).
 */
import type {
  L3Outcome,
  ShardDO,
  ShardRead,
  ShardStats,
  ShardWrite,
  ShardWriteInput,
} from '../../durable-objects/shard.ts';
import type { Config, Env } from '../env.ts';
import { shardFor, shardName } from '../hashing.ts';

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
    const shard = shardFor(namespace, key, this.config.shards);
    return this.namespace.get(this.namespace.idFromName(shardName(this.config.region, shard)));
  }

  stubForShard(shard: number): DurableObjectStub<ShardDO> {
    return this.namespace.get(this.namespace.idFromName(shardName(this.config.region, shard)));
  }

  read(namespace: string, key: string): Promise<ShardRead> {
    return retrying(() => this.stubFor(namespace, key).read(namespace, key) as Promise<ShardRead>);
  }

  write(input: ShardWriteInput): Promise<ShardWrite> {
    return retrying(
      () => this.stubFor(input.namespace, input.key).write(input) as Promise<ShardWrite>,
    );
  }

  remove(namespace: string, key: string): Promise<{ existed: boolean; l3: L3Outcome }> {
    return retrying(
      () =>
        this.stubFor(namespace, key).remove(namespace, key) as Promise<{
          existed: boolean;
          l3: L3Outcome;
        }>,
    );
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

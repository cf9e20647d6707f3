/**
 * The Worker's side of `quorum` and `strong` (the shard's alarm does the
 * `eventual` part for every write anyway):
 *
 * - `pushToQuorum`: after the local shard stored a write, send its event to
 *   every peer at once and return when a majority of regions (this one
 *   counts) holds it, or when `QUORUM_TIMEOUT_MS` passes. The pushes are
 *   `direct` deliveries, applied by version; the outbox later re-delivers the
 *   same event and the peers ignore it.
 * - `forwardToHome`: a `strong` operation from a region that is not the
 *   namespace's home runs in the home region instead, which orders it.
 */
import type { Config, Env } from '../env.ts';
import { StrataError } from '../errors.ts';
import { quorumOf } from './consistency.ts';
import type { ReplicationBatch, ReplicationEvent } from './events.ts';
import { callPeer, PeerError } from './peer-client.ts';
import { signerFor } from './signing.ts';

export interface QuorumResult {
  acknowledged: number;
  required: number;
  regions: number;
  failures: Record<string, string>;
}

export async function pushToQuorum(
  env: Env,
  config: Config,
  shard: number,
  event: ReplicationEvent,
): Promise<QuorumResult> {
  const peers = Object.entries(config.peers);
  const regions = peers.length + 1;
  const required = quorumOf(regions);
  const result: QuorumResult = { acknowledged: 1, required, regions, failures: {} };
  if (result.acknowledged >= required) return result;
  const signer = await signerFor(env);
  if (!signer) throw new StrataError('internal', 'Replication keys are not configured.');
  const batch: ReplicationBatch = {
    origin: config.region,
    shard,
    shards: config.shards,
    direct: true,
    events: [event],
  };
  return new Promise<QuorumResult>((resolve) => {
    let settled = 0;
    const timer = setTimeout(() => resolve(result), config.quorumTimeoutMs);
    const done = () => {
      if (result.acknowledged >= required || settled === peers.length) {
        clearTimeout(timer);
        resolve(result);
      }
    };
    for (const [region, url] of peers) {
      callPeer(signer, { region, url }, 'replicate', batch, config.quorumTimeoutMs)
        .then(() => {
          result.acknowledged++;
        })
        .catch((err: unknown) => {
          result.failures[region] = err instanceof PeerError ? err.reason : String(err);
        })
        .finally(() => {
          settled++;
          done();
        });
    }
  });
}

/** Runs a `strong` operation in the namespace's home region and returns its answer. */
export async function forwardToHome<T>(
  env: Env,
  config: Config,
  home: string,
  payload: unknown,
): Promise<T> {
  const url = config.peers[home];
  const signer = await signerFor(env);
  if (!url || !signer)
    throw new StrataError('home-unreachable', `Home region "${home}" is not configured here.`);
  try {
    return await callPeer<T>(
      signer,
      { region: home, url },
      'strong',
      payload,
      config.peerTimeoutMs,
    );
  } catch (err) {
    if (err instanceof PeerError && err.status !== undefined && err.status < 500) {
      throw new StrataError('home-unreachable', `Home region "${home}" refused: ${err.reason}`);
    }
    throw new StrataError(
      'home-unreachable',
      `Home region "${home}" did not answer: ${err instanceof PeerError ? err.reason : String(err)}`,
      { extensions: { home } },
    );
  }
}

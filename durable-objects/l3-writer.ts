/**
 * A shard's writes to L3, in order and never lost.
 *
 * Every change to one key goes to L3 after the previous change to that key
 * has (a promise chain per key), so Redis sees one key's versions in order.
 * A failed write puts the key in `l3_pending` (pending-l3.ts); the shard's
 * alarm later pushes the key's *current* state with `retryDue`, and L3
 * applies it only if nothing newer landed meanwhile.
 */

import type { Tier } from '../src/tiers/tier.ts';
import type { PendingL3 } from './pending-l3.ts';
import type { L3Outcome } from './shard-api.ts';

export class L3Writer {
  private readonly chains = new Map<string, Promise<L3Outcome>>();
  /** Failed L3 writes since the object started. */
  errors = 0;

  constructor(
    /** The L3 tier now, or null (a getter: tests swap the shard's tier). */
    private readonly tier: () => Tier | null,
    private readonly pending: PendingL3,
    /** Called after a failure queued a key, so the alarm is armed for its retry. */
    private readonly onQueued: () => Promise<void>,
  ) {}

  /** Runs `op` against L3 after every earlier operation on the same key. */
  run(namespace: string, key: string, op: (tier: Tier) => Promise<void>): Promise<L3Outcome> {
    const l3 = this.tier();
    if (!l3) return Promise.resolve('skipped');
    const id = `${namespace}\u0000${key}`;
    const previous = this.chains.get(id) ?? Promise.resolve<L3Outcome>('ok');
    const run = previous.then(async (): Promise<L3Outcome> => {
      try {
        await op(l3);
        this.pending.clear(namespace, key);
        return 'ok';
      } catch {
        this.errors++;
        this.pending.add(namespace, key, Date.now());
        await this.onQueued();
        return 'error';
      }
    });
    this.chains.set(id, run);
    void run.finally(() => {
      if (this.chains.get(id) === run) this.chains.delete(id);
    });
    return run;
  }

  /** Retries up to `limit` queued keys whose backoff has passed, pushing what `push` says is current. */
  async retryDue(
    now: number,
    limit: number,
    push: (ns: string, key: string, tier: Tier) => Promise<void>,
  ): Promise<void> {
    if (!this.tier()) return;
    for (const { ns, key } of this.pending.due(now, limit))
      await this.run(ns, key, (tier) => push(ns, key, tier));
  }
}

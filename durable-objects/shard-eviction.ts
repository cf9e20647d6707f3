/**
 * Eviction for one shard: which rows leave SQLite when the byte budget is
 * full, decided by the policies in src/policy/.
 *
 * Each namespace names a policy (`NAMESPACE_POLICIES`, else `EVICTION_POLICY`).
 * One policy instance per name holds that name's namespaces; all instances
 * share the shard's budget. A policy evicts on its own when its entries alone
 * exceed the budget; when the sum does, the heaviest partition gives up the
 * overflow in its own order (`Policy.resize`). With one policy in use (the
 * common case) this is exactly that policy over the whole shard.
 */

import { createPolicy, restorePolicy } from '../src/policy/index.ts';
import type { EntryInfo, Policy, PolicySnapshot } from '../src/policy/policy.ts';

/** A row, by namespace and key. */
export type RowId = [namespace: string, key: string];

const SEP = '\u0000';

function policyKey(ns: string, key: string): string {
  return `${ns}${SEP}${key}`;
}

function rowId(k: string): RowId {
  const i = k.indexOf(SEP);
  return [k.slice(0, i), k.slice(i + 1)];
}

export interface EvictionSnapshot {
  budget: number;
  partitions: PolicySnapshot[];
}

export class ShardEviction {
  private readonly partitions = new Map<string, Policy>();

  constructor(
    private readonly budget: number,
    private readonly policyOf: (namespace: string) => string,
    snapshot?: EvictionSnapshot,
  ) {
    for (const snap of snapshot?.partitions ?? []) {
      try {
        this.partitions.set(snap.name, restorePolicy(snap, { maxWeight: budget }));
      } catch {
        // An unknown or incompatible snapshot is dropped: the rows rebuild it.
      }
    }
  }

  /** True if the policy for `ns` holds the row. */
  holds(ns: string, key: string): boolean {
    return this.partitions.get(this.policyOf(ns))?.has(policyKey(ns, key)) ?? false;
  }

  /** A read of a row SQLite holds and found fresh. */
  touch(ns: string, key: string, now: number): void {
    this.partition(ns).get(policyKey(ns, key), now);
  }

  /**
   * A row was written (new or replaced). Returns the rows to evict, which
   * include this one when the policy declines to keep it.
   */
  admit(ns: string, key: string, info: EntryInfo, now: number): RowId[] {
    const evicted = this.partition(ns).set(policyKey(ns, key), info, now);
    const out = evicted.map(rowId);
    if (this.partitions.size > 1) out.push(...this.enforceBudget(now));
    return out;
  }

  /** A row left SQLite for another reason (delete, expiry seen on read). */
  remove(ns: string, key: string): void {
    this.partitions.get(this.policyOf(ns))?.delete(policyKey(ns, key));
  }

  /** Drops rows a policy holds that SQLite does not (after a restore). */
  retainOnly(exists: (ns: string, key: string) => boolean): void {
    for (const policy of this.partitions.values()) {
      for (const k of [...policy.keys()]) {
        const [ns, key] = rowId(k);
        // A namespace whose policy changed since the snapshot leaves its old partition.
        if (!exists(ns, key) || this.policyOf(ns) !== policy.name) policy.delete(k);
      }
    }
  }

  get weight(): number {
    let total = 0;
    for (const p of this.partitions.values()) total += p.weight;
    return total;
  }

  snapshot(): EvictionSnapshot {
    return {
      budget: this.budget,
      partitions: [...this.partitions.values()].map((p) => p.snapshot()),
    };
  }

  private partition(ns: string): Policy {
    const name = this.policyOf(ns);
    let policy = this.partitions.get(name);
    if (!policy) {
      policy = createPolicy(name, { maxWeight: this.budget });
      this.partitions.set(name, policy);
    }
    return policy;
  }

  private enforceBudget(now: number): RowId[] {
    const out: RowId[] = [];
    for (let total = this.weight; total > this.budget; total = this.weight) {
      let heaviest: Policy | undefined;
      for (const p of this.partitions.values())
        if (!heaviest || p.weight > heaviest.weight) heaviest = p;
      if (!heaviest) break;
      const target = Math.max(0, heaviest.weight - (total - this.budget));
      for (const k of heaviest.resize({ maxWeight: target }, now)) out.push(rowId(k));
      heaviest.resize({ maxWeight: this.budget }, now);
    }
    return out;
  }
}

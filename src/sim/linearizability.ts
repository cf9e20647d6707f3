/**
 * Linearizability checker for a read/write register, one register per key.
 *
 * A history is linearizable (Herlihy & Wing, "Linearizability: a correctness
 * condition for concurrent objects", TOPLAS 12(3), 1990) when every operation
 * can be given a single instant inside its [invoke, complete] interval such
 * that, replayed in the order of those instants, the operations behave like
 * one sequential register: each read returns the value of the latest write
 * before it (or the initial value). Linearizability is local, i.e.
 * compositional (Herlihy & Wing): a history over many keys is linearizable iff
 * the sub-history of each key is, so each key is checked on its own — this is
 * also what keeps the search small (Horn & Kroening, "Faster linearizability
 * checking via P-compositionality", FORTE 2015).
 *
 * Per key the search is Wing & Gong's ("Testing and verifying concurrent
 * objects", J. Parallel Distrib. Comput. 17, 1993), with the memoisation Lowe
 * added ("Testing for linearizability", Concurrency and Computation: Practice
 * and Experience 29(4), 2017); Porcupine and Knossos's `wgl` checker work the
 * same way:
 *
 *   1. Turn each operation into a call event (at invoke) and a return event
 *      (at complete) and keep the events in one time-ordered linked list.
 *   2. Walk the list from its head. At a call, try to linearize that
 *      operation now: a write always can, a read only if it returns the
 *      current register value. On success, unlink the operation's call and
 *      return events, push it on a stack and restart from the head.
 *   3. Reaching a return event means the operation it closes completed before
 *      anything still in the list could be placed ahead of it, and it was not
 *      placed itself: this branch is dead. Pop the last linearized operation,
 *      relink its events, undo its effect and try the next call after it.
 *   4. Lowe's improvement: a configuration is the set of linearized
 *      operations (a bitset) plus the register value. Two branches reaching
 *      the same configuration have the same future, so every configuration is
 *      remembered and never entered twice. Without it the search is
 *      exponential in the number of overlapping operations on almost every
 *      history; with it the work is bounded by the number of distinct
 *      configurations, which is small when few operations overlap.
 *   5. Unknown writes never return, so each pending one would double the
 *      configurations (placed yet or not). Since only reads observe a
 *      register, an unknown write is placed only where it changes the value
 *      and is followed at once by a read, and of the unknown writes of one
 *      value the earliest-invoked unused one is taken. Any linearization can
 *      be rewritten to obey both rules (drop the invisible writes, swap
 *      same-valued ones), so no verdict changes; see `admissible`. Whether
 *      the last op placed was an unknown write is part of the configuration.
 *
 * The search succeeds when every required operation has been linearized, and
 * fails when the stack is empty at a return event. The general problem is
 * NP-complete (Gibbons & Korach, SIAM J. Comput. 26(4), 1997), so the number of
 * configurations is capped by `maxStates`; running out is reported as a
 * failure ("search limit exceeded"), never as a pass.
 *
 * Conventions:
 *   - `value: null` is "absent": a delete is a write of null, a read of null
 *     is "not found". The register starts at `initial` (default null).
 *   - A write with `ok: false` definitely did not take effect and is ignored.
 *     A write with `ok: 'unknown'` (timeout, crash) may take effect at any
 *     instant after its invoke, or never: it has no return event (it
 *     "completes at +Infinity"), and it is optional — the search may finish
 *     without linearizing it.
 *   - Timestamps must come from one clock. An operation that completes at the
 *     same instant another is invoked counts as concurrent with it, so clock
 *     resolution never produces a false violation.
 *
 * On failure the result names the key and gives a witness: the operations of
 * that key invoked up to the earliest completion time at which the history is
 * already not linearizable (found by binary search over completion times; a
 * prefix of a linearizable history is linearizable, so this is monotone). The
 * witness is itself a non-linearizable history.
 *
 * @example
 * checkLinearizable([
 *   { kind: 'write', key: 'k', value: 'a', invoke: 0, complete: 10, ok: true },
 *   { kind: 'read', key: 'k', value: null, invoke: 20, complete: 30 },
 * ]).ok // false: a stale read after a completed write
 */
import { searchKey } from './linearizability-search.ts';

export type RegisterOp =
  | {
      kind: 'write';
      key: string;
      value: string | null;
      invoke: number;
      complete: number;
      ok: boolean | 'unknown';
    }
  | { kind: 'read'; key: string; value: string | null; invoke: number; complete: number };

export interface CheckResult {
  ok: boolean;
  /** The first key whose history failed (absent when `ok`). */
  key?: string;
  /** Configurations entered by the search, over all keys checked. */
  explored: number;
  reason?: string;
  /** A minimal-ish witness: the ops of the failing key (a non-linearizable prefix of them). */
  ops?: RegisterOp[];
}

export interface CheckOptions {
  /** Value of every register before the history starts; null = absent. */
  initial?: string | null;
  /** Cap on configurations entered over the whole check. */
  maxStates?: number;
}

export const DEFAULT_MAX_STATES = 2_000_000;

export const SEARCH_LIMIT_REASON = 'search limit exceeded';

/**
 * Checks that `history` is linearizable as a set of independent read/write
 * registers, one per key. Throws a RangeError on malformed operations
 * (non-finite or reversed timestamps), since no verdict about them means
 * anything.
 */
export function checkLinearizable(history: RegisterOp[], opts: CheckOptions = {}): CheckResult {
  const initial = opts.initial ?? null;
  const maxStates = opts.maxStates ?? DEFAULT_MAX_STATES;
  history.forEach(validateOp);

  let explored = 0;
  for (const [key, ops] of groupByKey(history)) {
    const outcome = searchKey(ops, initial, maxStates - explored);
    explored += outcome.explored;
    if (outcome.verdict === 'linearizable') continue;
    if (outcome.verdict === 'limit') {
      return { ok: false, key, explored, reason: SEARCH_LIMIT_REASON, ops };
    }
    // Shrinking re-runs the search on prefixes; give it a budget in proportion
    // to what the failing search needed, and do not bill it to `explored`.
    const shrinkBudget = Math.min(maxStates, Math.max(10_000, 2 * outcome.explored));
    const witness = shortestFailingPrefix(ops, initial, shrinkBudget) ?? {
      ops,
      reason: outcome.reason,
    };
    return { ok: false, key, explored, reason: witness.reason, ops: witness.ops };
  }
  return { ok: true, explored };
}

function validateOp(op: RegisterOp, index: number): void {
  const where = `history[${index}] (${op.kind} on key ${JSON.stringify(op.key)})`;
  if (!Number.isFinite(op.invoke)) throw new RangeError(`${where}: invoke must be finite`);
  // An unknown write's completion is irrelevant (it is modelled as +Infinity).
  if (op.kind === 'write' && op.ok === 'unknown') return;
  if (Number.isNaN(op.complete) || op.complete < op.invoke) {
    throw new RangeError(`${where}: complete must be >= invoke`);
  }
  if (!Number.isFinite(op.complete)) {
    throw new RangeError(`${where}: complete must be finite (use ok: 'unknown' for a lost write)`);
  }
}

/** Sub-histories per key, keys in order of first appearance. */
function groupByKey(history: RegisterOp[]): Map<string, RegisterOp[]> {
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of history) {
    const ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, [op]);
    else ops.push(op);
  }
  return byKey;
}

/**
 * The key's history as observed up to time `cut`: ops invoked after it are
 * gone, ops still running at it are pending — a pending read constrains
 * nothing and is dropped, a pending successful write may or may not have
 * taken effect yet, i.e. it is unknown.
 */
function prefixAt(keyOps: RegisterOp[], cut: number): RegisterOp[] {
  const prefix: RegisterOp[] = [];
  for (const op of keyOps) {
    if (op.invoke > cut) continue;
    if (op.kind === 'write' && op.ok !== 'unknown' && op.complete > cut) {
      prefix.push({ ...op, ok: op.ok === true ? 'unknown' : false });
    } else if (op.kind === 'write' || op.complete <= cut) {
      prefix.push(op);
    }
  }
  return prefix;
}

/**
 * Binary search for the earliest completion time whose prefix is already not
 * linearizable; returns the original ops invoked by then (with their real
 * completions, which only adds constraints, so the witness fails too). A
 * prefix whose search hits the budget is treated as "not shown to fail",
 * so the answer is always a proven violation; undefined if none was found.
 */
function shortestFailingPrefix(
  keyOps: RegisterOp[],
  initial: string | null,
  budget: number,
): { ops: RegisterOp[]; reason: string } | undefined {
  const cuts = [
    ...new Set(
      keyOps
        .filter((op) => op.kind === 'read' || op.ok === true)
        .map((op) => op.complete)
        .sort((a, b) => a - b),
    ),
  ];
  let best: { cut: number; reason: string } | undefined;
  let low = 0;
  let high = cuts.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const cut = cuts[mid] as number;
    const outcome = searchKey(prefixAt(keyOps, cut), initial, budget);
    if (outcome.verdict === 'violation') {
      best = { cut, reason: outcome.reason };
      high = mid - 1;
    } else {
      low = mid + 1;
    }
  }
  if (best === undefined) return undefined;
  const cut = best.cut;
  return { ops: keyOps.filter((op) => op.invoke <= cut), reason: best.reason };
}

/**
 * The per-key search of the linearizability checker (linearizability.ts has
 * the overview and references): Wing & Gong's backtracking over which
 * pending operation takes effect next, with Lowe's cache of configurations
 * already seen, on one key's operations.
 */
import type { RegisterOp } from './linearizability.ts';

// ---------------------------------------------------------------------------
// One key: the Wing & Gong search with Lowe's configuration cache.

export type KeyOutcome =
  | { verdict: 'linearizable'; explored: number }
  | { verdict: 'violation'; explored: number; reason: string }
  | { verdict: 'limit'; explored: number };

/**
 * One key's operations in the form the search works on: ops with `ok: false`
 * dropped, values interned to small integers (null is 0) so a register state
 * is one number.
 */
interface KeyProblem {
  ops: RegisterOp[];
  isRead: Uint8Array;
  valueId: Int32Array;
  /** 1 unless the op is an unknown write, which the search may leave out. */
  required: Uint8Array;
  /**
   * For an unknown write, its position among the unknown writes of the same
   * value in call order (see `admissible`); -1 for every other op.
   */
  unknownRank: Int32Array;
  /** Number of distinct values, the initial one included. */
  valueCount: number;
  initialId: number;
}

function buildProblem(keyOps: RegisterOp[], initial: string | null): KeyProblem {
  const ops = keyOps.filter((op) => op.kind === 'read' || op.ok !== false);
  const ids = new Map<string | null, number>([[null, 0]]);
  const intern = (value: string | null): number => {
    let id = ids.get(value);
    if (id === undefined) {
      id = ids.size;
      ids.set(value, id);
    }
    return id;
  };
  const isRead = new Uint8Array(ops.length);
  const valueId = new Int32Array(ops.length);
  const required = new Uint8Array(ops.length);
  ops.forEach((op, i) => {
    isRead[i] = op.kind === 'read' ? 1 : 0;
    valueId[i] = intern(op.value);
    required[i] = op.kind === 'write' && op.ok === 'unknown' ? 0 : 1;
  });
  const initialId = intern(initial);
  return {
    ops,
    isRead,
    valueId,
    required,
    unknownRank: rankUnknownWrites(ops, required, valueId, ids.size),
    valueCount: ids.size,
    initialId,
  };
}

/** Ranks each value's unknown writes in the order their calls sit in the event list. */
function rankUnknownWrites(
  ops: RegisterOp[],
  required: Uint8Array,
  valueId: Int32Array,
  valueCount: number,
): Int32Array {
  const rank = new Int32Array(ops.length).fill(-1);
  const seenPerValue = new Int32Array(valueCount);
  const unknown = ops.map((_, i) => i).filter((i) => required[i] === 0);
  unknown.sort((a, b) => (ops[a] as RegisterOp).invoke - (ops[b] as RegisterOp).invoke || a - b);
  for (const op of unknown) {
    const value = valueId[op] as number;
    rank[op] = seenPerValue[value] as number;
    seenPerValue[value] = (seenPerValue[value] as number) + 1;
  }
  return rank;
}

/**
 * A read of a value that no surviving write produces (and that is not the
 * initial value) can never be linearized. Checking this first gives a precise
 * reason instead of a search failure, and costs nothing.
 */
function findUnwrittenRead(problem: KeyProblem): number | undefined {
  const written = new Set<number>([problem.initialId]);
  problem.ops.forEach((_, i) => {
    if (problem.isRead[i] === 0) written.add(problem.valueId[i] as number);
  });
  const index = problem.ops.findIndex(
    (_, i) => problem.isRead[i] === 1 && !written.has(problem.valueId[i] as number),
  );
  return index === -1 ? undefined : index;
}

const NIL = -1;

/**
 * The time-ordered doubly linked list of call and return events. The call
 * event of op i is entry 2i and its return event 2i + 1 (absent for optional
 * ops); the head sentinel is entry 2n. Unlinked entries keep their own
 * prev/next, so relinking in reverse order of unlinking restores the list.
 */
class EventList {
  readonly head: number;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly problem: KeyProblem;

  constructor(problem: KeyProblem) {
    this.problem = problem;
    const n = problem.ops.length;
    this.head = 2 * n;
    this.next = new Int32Array(2 * n + 1).fill(NIL);
    this.prev = new Int32Array(2 * n + 1).fill(NIL);
    let last = this.head;
    for (const entry of sortedEvents(problem)) {
      this.next[last] = entry;
      this.prev[entry] = last;
      last = entry;
    }
  }

  first(): number {
    return this.next[this.head] as number;
  }

  after(entry: number): number {
    return this.next[entry] as number;
  }

  /** Takes op's call and return events out of the list (op is linearized). */
  lift(op: number): void {
    this.unlink(2 * op);
    if (this.problem.required[op] === 1) this.unlink(2 * op + 1);
  }

  /** Puts back what `lift(op)` took out; must be undone in stack order. */
  unlift(op: number): void {
    if (this.problem.required[op] === 1) this.relink(2 * op + 1);
    this.relink(2 * op);
  }

  private unlink(entry: number): void {
    const before = this.prev[entry] as number;
    const after = this.next[entry] as number;
    this.next[before] = after;
    if (after !== NIL) this.prev[after] = before;
  }

  private relink(entry: number): void {
    const after = this.next[entry] as number;
    this.next[this.prev[entry] as number] = entry;
    if (after !== NIL) this.prev[after] = entry;
  }
}

/**
 * Entry ids sorted by time. At equal times calls come before returns, so
 * intervals that merely touch count as concurrent (the permissive reading).
 */
function sortedEvents(problem: KeyProblem): number[] {
  const time = (entry: number): number => {
    const op = problem.ops[entry >> 1] as RegisterOp;
    return entry % 2 === 0 ? op.invoke : op.complete;
  };
  const entries: number[] = [];
  problem.ops.forEach((_, i) => {
    entries.push(2 * i);
    if (problem.required[i] === 1) entries.push(2 * i + 1);
  });
  return entries.sort((a, b) => time(a) - time(b) || (a % 2) - (b % 2) || a - b);
}

/** Set of linearized ops, 16 per word so a word is one UTF-16 code unit of the cache key. */
class OpBitset {
  private readonly words: Uint16Array;

  constructor(size: number) {
    this.words = new Uint16Array(Math.ceil(size / 16));
  }

  set(op: number): void {
    this.words[op >> 4] = (this.words[op >> 4] as number) | (1 << (op & 15));
  }

  clear(op: number): void {
    this.words[op >> 4] = (this.words[op >> 4] as number) & ~(1 << (op & 15));
  }

  /**
   * The configuration (this set, a code for the register state) as a string
   * for the cache. The bitset part has a fixed length per key, so appending
   * the state is unambiguous. Chunked because fromCharCode takes its codes as
   * arguments.
   */
  configurationKey(state: number): string {
    const CHUNK = 4096;
    let key = '';
    for (let start = 0; start < this.words.length; start += CHUNK) {
      key += String.fromCharCode(...this.words.subarray(start, start + CHUNK));
    }
    return key + String.fromCharCode(state & 0xffff, state >>> 16);
  }
}

/** Searches for a linearization of one key's ops, entering at most `budget` configurations. */
export function searchKey(
  keyOps: RegisterOp[],
  initial: string | null,
  budget: number,
): KeyOutcome {
  const problem = buildProblem(keyOps, initial);
  const unwritten = findUnwrittenRead(problem);
  if (unwritten !== undefined) {
    const reason = `${describeOp(problem.ops[unwritten] as RegisterOp)} returned a value that no write that may have taken effect produced, and that is not the initial value`;
    return { verdict: 'violation', explored: 0, reason };
  }
  return new KeySearch(problem, budget).run();
}

/**
 * The search state for one key: the event list, the stack of linearized ops
 * (each with the register state before it), the bitset of the stack's ops
 * and the configurations entered so far.
 */
class KeySearch {
  private readonly problem: KeyProblem;
  private readonly budget: number;
  private readonly events: EventList;
  private readonly linearized: OpBitset;
  private readonly seen = new Set<string>();
  private readonly stackOp: Int32Array;
  private readonly stackStateBefore: Int32Array;
  /** Per value, how many of its unknown writes are on the stack (always the first ones). */
  private readonly unknownUsed: Int32Array;
  private depth = 0;
  private state: number;
  private requiredLeft: number;
  // For the failure message: the deepest dead end and the op that caused it.
  private deepest = -1;
  private blockedOp: number | undefined;

  constructor(problem: KeyProblem, budget: number) {
    const n = problem.ops.length;
    this.problem = problem;
    this.budget = budget;
    this.events = new EventList(problem);
    this.linearized = new OpBitset(n);
    this.stackOp = new Int32Array(n);
    this.stackStateBefore = new Int32Array(n);
    this.unknownUsed = new Int32Array(problem.valueCount);
    this.state = problem.initialId;
    this.requiredLeft = problem.required.reduce((sum, r) => sum + r, 0);
  }

  run(): KeyOutcome {
    let entry = this.events.first();
    while (this.requiredLeft > 0) {
      if (entry !== NIL && entry % 2 === 0) {
        const op = entry >> 1;
        const entered = this.admissible(op) ? this.tryEnter(op) : 'skip';
        if (entered === 'limit') return { verdict: 'limit', explored: this.seen.size };
        entry = entered === 'entered' ? this.events.first() : this.events.after(entry);
        continue;
      }
      // A return event (or, defensively, the end of the list): the op it
      // closes had to be linearized by now and was not, so this branch is dead.
      if (entry !== NIL && this.depth > this.deepest) {
        this.deepest = this.depth;
        this.blockedOp = entry >> 1;
      }
      if (this.depth === 0) {
        const reason = deadEndReason(this.problem, this.deepest, this.blockedOp);
        return { verdict: 'violation', explored: this.seen.size, reason };
      }
      entry = this.events.after(2 * this.undoLast());
    }
    return { verdict: 'linearizable', explored: this.seen.size };
  }

  /**
   * Whether op may be linearized next. Reads must return the current value.
   * Unknown writes are restricted further, without losing any linearization
   * (each rule turns a linearization into one that obeys it, so if any
   * exists one obeying all exists); without this every pending unknown write
   * would double the configurations, since it never returns:
   *   - it must change the value, and the op after it must be a read — else
   *     it is invisible and the same order without it works too;
   *   - of the unknown writes of one value, the earliest invoked unused one
   *     is taken — swapping two writes of the same value keeps a valid order,
   *     as the earlier-invoked one can go wherever the later one went.
   */
  private admissible(op: number): boolean {
    const { problem } = this;
    const value = problem.valueId[op] as number;
    if (problem.isRead[op] === 1) return value === this.state;
    if (this.depth > 0 && problem.required[this.stackOp[this.depth - 1] as number] === 0) {
      return false;
    }
    if (problem.required[op] === 1) return true;
    return value !== this.state && problem.unknownRank[op] === this.unknownUsed[value];
  }

  /** Linearizes op unless its configuration was entered before (from there it failed). */
  private tryEnter(op: number): 'entered' | 'skip' | 'limit' {
    const { problem } = this;
    const nextState = problem.isRead[op] === 1 ? this.state : (problem.valueId[op] as number);
    this.linearized.set(op);
    // The key also says whether op is an unknown write: then only a read may follow.
    const configuration = this.linearized.configurationKey(
      2 * nextState + (1 - (problem.required[op] as number)),
    );
    if (this.seen.has(configuration)) {
      this.linearized.clear(op);
      return 'skip';
    }
    if (this.seen.size >= this.budget) return 'limit';
    this.seen.add(configuration);
    this.stackOp[this.depth] = op;
    this.stackStateBefore[this.depth] = this.state;
    this.depth++;
    this.state = nextState;
    this.events.lift(op);
    this.requiredLeft -= problem.required[op] as number;
    if (problem.required[op] === 0) this.countUnknown(op, 1);
    return 'entered';
  }

  /** Pops the last linearized op, restoring everything `tryEnter` changed; returns it. */
  private undoLast(): number {
    const { problem } = this;
    this.depth--;
    const op = this.stackOp[this.depth] as number;
    this.state = this.stackStateBefore[this.depth] as number;
    this.linearized.clear(op);
    this.events.unlift(op);
    this.requiredLeft += problem.required[op] as number;
    if (problem.required[op] === 0) this.countUnknown(op, -1);
    return op;
  }

  private countUnknown(op: number, delta: number): void {
    const value = this.problem.valueId[op] as number;
    this.unknownUsed[value] = (this.unknownUsed[value] as number) + delta;
  }
}

function deadEndReason(
  problem: KeyProblem,
  deepest: number,
  blockedOp: number | undefined,
): string {
  const blocked =
    blockedOp === undefined ? 'no op' : describeOp(problem.ops[blockedOp] as RegisterOp);
  return (
    `not linearizable: no order of the ${problem.ops.length} ops respects both real time and ` +
    `register semantics; the furthest attempt linearized ${Math.max(deepest, 0)} ops, then ` +
    `${blocked} could not be placed before it completed`
  );
}

function describeOp(op: RegisterOp): string {
  const value = op.value === null ? 'null' : JSON.stringify(op.value);
  const status = op.kind === 'write' && op.ok !== true ? ` (ok: ${String(op.ok)})` : '';
  return `${op.kind} ${value}${status} [${op.invoke}, ${op.complete}]`;
}

// ---------------------------------------------------------------------------
// Witness shrinking.

/**
 * An in-memory stand-in for redis-server, for machines without one.
 *
 * It implements the commands Strata uses (strings, TTLs, hashes, sets, sorted
 * sets, SCAN and SSCAN) with Redis 7.0's reply shapes as RESP2 gives them
 * (strings are Buffers, integers numbers, missing values null) and Redis's
 * error text.
 * Keys expire lazily, when touched. Scripting is not supported: EVAL/EVALSHA
 * fail with a clear error rather than a NOSCRIPT the client would retry.
 *
 * This file holds the keyspace and the dispatch; the commands themselves are
 * in embedded-commands.ts (the table) and the per-type modules it imports.
 */
import { COMMANDS } from './embedded-commands.ts';
import { CommandError, type Reply, WRONGTYPE } from './embedded-protocol.ts';

export { globToRegExp } from './embedded-keys.ts';
export { CommandError, type Reply };

type Data =
  | { type: 'string'; value: Buffer }
  | { type: 'hash'; value: Map<string, Buffer> }
  /** Member → insertion sequence (the SSCAN cursor), in insertion order. */
  | { type: 'set'; value: Map<string, number> }
  | { type: 'zset'; value: Map<string, number> };

interface Entry {
  data: Data;
  /** Unix ms, or null for no expiry. */
  expiresAt: number | null;
  /** Insertion sequence: SCAN cursors are sequence numbers. */
  seq: number;
}

export interface EmbeddedStoreOptions {
  /** Clock in Unix ms (injectable for tests). */
  now?: () => number;
}

/**
 * The keyspace plus the command table.
 *
 * @example
 * const store = new EmbeddedStore();
 * store.call(['SET', 'k', 'v', 'EX', '60']); // Buffer 'OK'
 * store.call(['GET', 'k']);                 // Buffer 'v'
 */
export class EmbeddedStore {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #seq = 0;

  constructor(opts: EmbeddedStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
  }

  /** Validates name and argument count only (what Redis checks when queueing inside MULTI). */
  check(args: readonly string[]): void {
    const name = (args[0] ?? '').toLowerCase();
    const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!spec) {
      const rest = args
        .slice(1)
        .map((a) => `'${a}' `)
        .join('');
      throw new CommandError(
        `ERR unknown command '${args[0] ?? ''}', with args beginning with: ${rest}`,
      );
    }
    const [arity] = spec;
    if (arity > 0 ? args.length !== arity : args.length < -arity) {
      throw new CommandError(`ERR wrong number of arguments for '${name}' command`);
    }
  }

  /** Runs one command; throws `CommandError` with Redis's error text. */
  call(args: readonly string[]): Reply {
    this.check(args);
    const spec = COMMANDS[(args[0] ?? '').toLowerCase()];
    if (!spec) throw new CommandError('ERR unknown command');
    return spec[1](this, args);
  }

  /** Current time in Unix ms. */
  now(): number {
    return this.#now();
  }

  /** The live entry for `key`, dropping it first if it has expired. */
  lookup(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Typed lookup: undefined when missing, WRONGTYPE when another type. */
  read<T extends Data['type']>(key: string, type: T): Extract<Data, { type: T }> | undefined {
    const entry = this.lookup(key);
    if (!entry) return undefined;
    if (entry.data.type !== type) throw new CommandError(WRONGTYPE);
    return entry.data as Extract<Data, { type: T }>;
  }

  /** A string value, or null when missing or of another type (MGET semantics). */
  string(key: string): Buffer | null {
    const data = this.lookup(key)?.data;
    return data?.type === 'string' ? data.value : null;
  }

  /** Like `read`, creating an empty value of `type` when missing. */
  upsert<T extends Data['type']>(key: string, type: T): Extract<Data, { type: T }> {
    const found = this.read(key, type);
    if (found) return found;
    const data = (
      type === 'hash'
        ? { type, value: new Map() }
        : type === 'set'
          ? { type, value: new Map() }
          : type === 'zset'
            ? { type, value: new Map() }
            : { type, value: Buffer.alloc(0) }
    ) as Extract<Data, { type: T }>;
    this.write(key, data, null);
    return data;
  }

  write(key: string, data: Data, expiresAt: number | null): void {
    const entry = this.lookup(key);
    if (entry) {
      entry.data = data;
      entry.expiresAt = expiresAt;
    } else {
      this.#entries.set(key, { data, expiresAt, seq: this.nextSeq() });
    }
  }

  /** A fresh insertion sequence, larger than every one issued (keys and set members share it). */
  nextSeq(): number {
    return ++this.#seq;
  }

  remove(key: string): boolean {
    return this.lookup(key) !== undefined && this.#entries.delete(key);
  }

  /** Drops `key` if its collection became empty (Redis never keeps empty hashes/sets). */
  dropIfEmpty(key: string, data: { value: { size: number } }): void {
    if (data.value.size === 0) this.#entries.delete(key);
  }

  flush(): void {
    this.#entries.clear();
  }

  /** Live entries in insertion order, purging expired ones on the way. */
  *live(): Generator<[string, Entry]> {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.#entries.delete(key);
      else yield [key, entry];
    }
  }
}

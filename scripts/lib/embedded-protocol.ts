/**
 * What the embedded store's commands share: RESP2 reply shapes, Redis's error
 * text, the handler signature, and Redis's parsing of integer arguments.
 */
import type { EmbeddedStore } from './embedded-store.ts';

/** A RESP2 reply: bulk/simple strings as Buffers. */
export type Reply = Buffer | number | bigint | null | Reply[];

/** A Redis error reply; `message` is the exact text Redis would send. */
export class CommandError extends Error {
  override name = 'CommandError';
}

/** One command's implementation; `args[0]` is the command name. */
export type Run = (db: EmbeddedStore, args: readonly string[]) => Reply;

export const OK = Buffer.from('OK');
export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const NOT_INT = 'ERR value is not an integer or out of range';
export const SYNTAX = 'ERR syntax error';
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

export const buf = (s: string): Buffer => Buffer.from(s, 'utf8');
export const arg = (args: readonly string[], i: number): string => args[i] ?? '';

/** A signed 64-bit integer argument, as strictly as Redis reads one. */
export function parseInt64(raw: string, message = NOT_INT): bigint {
  if (!/^(0|-?[1-9]\d{0,19})$/.test(raw)) throw new CommandError(message);
  const n = BigInt(raw);
  if (n < INT64_MIN || n > INT64_MAX) throw new CommandError(message);
  return n;
}

/** An integer reply: a number when it is exact as one, else a bigint. */
export function int(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n;
}

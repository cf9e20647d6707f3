/**
 * A local Upstash-REST-compatible L3 endpoint in front of a real redis-server
 * (or, with `embedded: true`, an in-memory store), speaking exactly the
 * protocol in /work/shared/L3-PROTOCOL.md as `@upstash/redis` uses it:
 * POST `/`, `/pipeline` and `/multi-exec`, Bearer auth, `Upstash-Encoding: base64`.
 *
 * Run directly: `L3_PORT=8079 L3_TOKEN=secret REDIS_URL=redis://127.0.0.1:6379 node scripts/l3-server.ts`
 * (without REDIS_URL it starts its own redis-server, or the embedded store).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, ErrorReply, RESP_TYPES } from 'redis';
import { CommandError, EmbeddedStore } from './lib/embedded-store.ts';
import { findRedisServer, type RedisProcess, startRedis } from './lib/redis-process.ts';

/** A RESP2 reply: strings as Buffers, integers as decimal strings or numbers, error replies as `Error`. */
type Reply = Buffer | string | number | bigint | null | Error | Reply[];

/** Where commands run. Redis error replies are returned as `Error` values; a thrown error means the backend is unreachable. */
interface Backend {
  call(command: string[]): Promise<Reply>;
  pipeline(commands: string[][]): Promise<Reply[]>;
  /** The EXEC replies, or the EXECABORT error when the transaction was discarded. */
  transaction(commands: string[][]): Promise<Reply[] | Error>;
  close(): Promise<void>;
}

/** What the `onRequest` hook sees (tests count `/pipeline` requests with it). */
export interface L3RequestInfo {
  path: string;
  status: number;
  commands: string[][];
}

export interface L3ServerOptions {
  /** `redis://127.0.0.1:<port>` of the redis-server to front. */
  redisUrl?: string;
  /** Use the in-memory store instead of Redis (for machines without redis-server). */
  embedded?: boolean;
  /** The Bearer token clients must send. */
  token: string;
  /** Defaults to a port chosen free by the OS. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** One line per request. */
  log?: (line: string) => void;
  /** Called after every request (a hook for tests). */
  onRequest?: (info: L3RequestInfo) => void;
  /** Request bodies past this are refused with 413. Default 10 MB. */
  maxBodyBytes?: number;
}

export interface L3Server {
  url: string;
  port: number;
  close(): Promise<void>;
}

const OK = Buffer.from('OK');
const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
/** Past this much (drained) body we stop reading and drop the connection. */
const HARD_BODY_CAP_FACTOR = 8;

/** Commands Upstash refuses over REST: connection state is not kept between requests. */
const REJECTED: Record<string, string> = {
  MULTI: 'use the /multi-exec endpoint for transactions',
  EXEC: 'use the /multi-exec endpoint for transactions',
  DISCARD: 'use the /multi-exec endpoint for transactions',
  WATCH: 'no connection state is kept between requests',
  UNWATCH: 'no connection state is kept between requests',
  SELECT: 'no connection state is kept between requests',
  AUTH: 'authenticate with the Bearer token',
  HELLO: 'no connection state is kept between requests',
  RESET: 'no connection state is kept between requests',
  QUIT: 'no connection state is kept between requests',
  SUBSCRIBE: 'pub/sub is not available over REST requests',
  PSUBSCRIBE: 'pub/sub is not available over REST requests',
  SSUBSCRIBE: 'pub/sub is not available over REST requests',
  UNSUBSCRIBE: 'pub/sub is not available over REST requests',
  PUNSUBSCRIBE: 'pub/sub is not available over REST requests',
  SUNSUBSCRIBE: 'pub/sub is not available over REST requests',
  MONITOR: 'not available over REST',
  SYNC: 'not available over REST',
  PSYNC: 'not available over REST',
  SHUTDOWN: 'not available over REST',
  BLPOP: 'blocking commands are not supported',
  BRPOP: 'blocking commands are not supported',
  BRPOPLPUSH: 'blocking commands are not supported',
  BLMOVE: 'blocking commands are not supported',
  BLMPOP: 'blocking commands are not supported',
  BZPOPMIN: 'blocking commands are not supported',
  BZPOPMAX: 'blocking commands are not supported',
  BZMPOP: 'blocking commands are not supported',
  WAIT: 'blocking commands are not supported',
  WAITAOF: 'blocking commands are not supported',
};

/** The error text for a command this server refuses, or null. */
function refusal(command: string[]): string | null {
  const name = (command[0] ?? '').toUpperCase();
  let reason = Object.hasOwn(REJECTED, name) ? REJECTED[name] : undefined;
  if (
    (name === 'XREAD' || name === 'XREADGROUP') &&
    command.some((a) => a.toUpperCase() === 'BLOCK')
  ) {
    reason = 'blocking commands are not supported';
  }
  if (name === 'CLIENT' && ['REPLY', 'PAUSE'].includes((command[1] ?? '').toUpperCase())) {
    reason = 'no connection state is kept between requests';
  }
  return reason ? `ERR Command is not allowed: ${name} (${reason})` : null;
}

/** Random URL-safe token for local endpoints. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

async function redisBackend(url: string, log?: (line: string) => void): Promise<Backend> {
  // RESP2 replies as Upstash returns them: strings as Buffers (binary-safe),
  // integers as decimal text (exact past 2^53; JSON-encoded as raw numbers).
  const client = createClient({
    url,
    RESP: 2,
    // Fail fast while Redis is down instead of queueing: the caller gets a 502.
    disableOfflineQueue: true,
    commandOptions: {
      typeMapping: {
        [RESP_TYPES.BLOB_STRING]: Buffer,
        [RESP_TYPES.SIMPLE_STRING]: Buffer,
        [RESP_TYPES.NUMBER]: String,
      },
    },
  });
  client.on('error', (error: unknown) => log?.(`redis client error: ${String(error)}`));
  await client.connect();
  const send = (command: string[]) => client.sendCommand(command) as Promise<Reply>;
  const settle = (outcome: PromiseSettledResult<Reply>): Reply => {
    if (outcome.status === 'fulfilled') return outcome.value;
    if (outcome.reason instanceof ErrorReply) return outcome.reason;
    throw outcome.reason;
  };
  return {
    call: async (command) =>
      settle((await Promise.allSettled([send(command)]))[0] as PromiseSettledResult<Reply>),
    // All sendCommand calls in one tick: node-redis writes them as one pipeline.
    pipeline: async (commands) => (await Promise.allSettled(commands.map(send))).map(settle),
    // By hand rather than client.multi(): multi().exec() decodes EXEC's reply
    // without the type mapping (binary values come back as lossy strings) and
    // reports a queueing error instead of EXECABORT. Queued in one tick, so no
    // other request's command can land between MULTI and EXEC.
    transaction: async (commands) => {
      const outcomes = await Promise.allSettled([
        send(['MULTI']),
        ...commands.map(send),
        send(['EXEC']),
      ]);
      for (const outcome of outcomes.slice(0, -1)) settle(outcome);
      const exec = settle(outcomes[outcomes.length - 1] as PromiseSettledResult<Reply>);
      if (exec instanceof Error) return exec;
      if (!Array.isArray(exec)) return new Error('EXECABORT Transaction discarded');
      return exec;
    },
    close: async () => {
      if (client.isOpen) await client.close();
    },
  };
}

function embeddedBackend(): Backend {
  const store = new EmbeddedStore();
  const run = (command: string[]): Reply => {
    try {
      return store.call(command);
    } catch (error) {
      if (error instanceof CommandError) return error;
      throw error;
    }
  };
  return {
    call: async (command) => run(command),
    pipeline: async (commands) => commands.map(run),
    transaction: async (commands) => {
      try {
        for (const command of commands) store.check(command);
      } catch (error) {
        if (error instanceof CommandError) {
          return new CommandError('EXECABORT Transaction discarded because of previous errors.');
        }
        throw error;
      }
      // Synchronous, hence atomic.
      return commands.map(run);
    },
    close: async () => {},
  };
}

// A guard function: `instanceof Buffer` does not narrow with these lib/types settings.
function isBuffer(reply: Reply): reply is Buffer {
  return Buffer.isBuffer(reply);
}

/** JSON text for one reply. With base64, every string except the literal "OK" is base64. */
function encodeReply(reply: Reply, base64: boolean): string {
  if (reply === null || reply === undefined) return 'null';
  if (isBuffer(reply)) {
    if (!base64) return JSON.stringify(reply.toString('utf8'));
    return reply.equals(OK) ? '"OK"' : `"${reply.toString('base64')}"`;
  }
  if (typeof reply === 'string') return /^-?\d+$/.test(reply) ? reply : JSON.stringify(reply);
  if (typeof reply === 'number') return Number.isFinite(reply) ? String(reply) : 'null';
  if (typeof reply === 'bigint') return reply.toString();
  // An error nested inside an array (a script's table, say): sent as its text.
  if (reply instanceof Error) return encodeReply(Buffer.from(reply.message), base64);
  return `[${reply.map((r) => encodeReply(r, base64)).join(',')}]`;
}

function encodeItem(reply: Reply, base64: boolean): string {
  return reply instanceof Error
    ? `{"error":${JSON.stringify(reply.message)}}`
    : `{"result":${encodeReply(reply, base64)}}`;
}

/** Every argument as a string (the client sends numbers and booleans as JSON). */
function parseCommand(raw: unknown): string[] | null {
  if (!Array.isArray(raw) || raw.length === 0) return null;
  const out: string[] = [];
  for (const a of raw) {
    if (typeof a === 'string') out.push(a);
    else if (typeof a === 'number' || typeof a === 'boolean') out.push(String(a));
    else return null;
  }
  return out;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const INVALID_COMMAND =
  'ERR invalid command: expected a non-empty JSON array of strings, numbers or booleans';

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      // Keep draining a too-large body so the 413 reaches the client, up to a hard cap.
      else if (size > limit * HARD_BODY_CAP_FACTOR) req.destroy();
    });
    req.on('end', () =>
      size > limit
        ? reject(new HttpError(413, `ERR request body is larger than ${limit} bytes`))
        : resolveBody(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Starts the L3 server.
 *
 * @example
 * const l3 = await startL3Server({ redisUrl: 'redis://127.0.0.1:6379', token: 'secret' });
 * const redis = new Redis({ url: l3.url, token: 'secret' });
 * await l3.close();
 */
export async function startL3Server(opts: L3ServerOptions): Promise<L3Server> {
  if (!opts.token) throw new Error('startL3Server: a token is required');
  if (!opts.embedded && !opts.redisUrl)
    throw new Error('startL3Server: pass redisUrl, or embedded: true');
  const backend = opts.embedded
    ? embeddedBackend()
    : await redisBackend(opts.redisUrl ?? '', opts.log);
  const expected = digest(opts.token);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;

  async function respond(
    req: IncomingMessage,
    path: string,
    commands: string[][],
  ): Promise<[number, string]> {
    // Constant-time compare of fixed-length digests: no early exit on the first differing byte.
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!timingSafeEqual(digest(given), expected)) return [401, '{"error":"Unauthorized"}'];
    if (req.method !== 'POST') throw new HttpError(405, 'ERR only POST is supported');
    // The client's subscribe()/psubscribe() open an SSE stream on /subscribe/<channel>.
    const stream = /^\/(p?subscribe)\//.exec(path);
    if (stream) throw new HttpError(400, refusal([stream[1] ?? 'subscribe']) ?? 'ERR not allowed');
    if (path !== '/' && path !== '/pipeline' && path !== '/multi-exec') {
      throw new HttpError(404, `ERR unknown endpoint ${path}: use /, /pipeline or /multi-exec`);
    }
    const body = await readBody(req, maxBody);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new HttpError(
        400,
        `ERR failed to parse the request body as JSON: ${(error as Error).message}`,
      );
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';

    if (path === '/') {
      const command = parseCommand(parsed);
      if (!command) throw new HttpError(400, INVALID_COMMAND);
      commands.push(command);
      const refused = refusal(command);
      if (refused) throw new HttpError(400, refused);
      const reply = await backend.call(command);
      return reply instanceof Error
        ? [400, encodeItem(reply, base64)]
        : [200, encodeItem(reply, base64)];
    }

    if (!Array.isArray(parsed)) throw new HttpError(400, 'ERR expected a JSON array of commands');
    for (const raw of parsed) {
      const command = parseCommand(raw);
      if (!command) throw new HttpError(400, INVALID_COMMAND);
      commands.push(command);
    }
    const refusals = commands.map(refusal);
    let replies: Reply[];
    if (path === '/pipeline') {
      // Refused commands fail on their own; the rest of the pipeline runs.
      const runnable = commands.filter((_, i) => !refusals[i]);
      const results = runnable.length ? await backend.pipeline(runnable) : [];
      let next = 0;
      replies = refusals.map((refused) =>
        refused ? new Error(refused) : (results[next++] ?? null),
      );
    } else {
      const refused = refusals.find(Boolean);
      if (refused) throw new HttpError(400, refused);
      if (commands.length === 0) throw new HttpError(400, 'ERR empty transaction');
      const result = await backend.transaction(commands);
      // A discarded transaction must be non-2xx: the client would crash mapping a single error.
      if (result instanceof Error) return [400, encodeItem(result, base64)];
      replies = result;
    }
    return [200, `[${replies.map((r) => encodeItem(r, base64)).join(',')}]`];
  }

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = (
      new URL(req.url ?? '/', 'http://l3').pathname.replace(/\/+$/, '') || '/'
    ).toLowerCase();
    const commands: string[][] = [];
    let status: number;
    let body: string;
    try {
      [status, body] = await respond(req, path, commands);
    } catch (error) {
      // An HttpError is the client's fault; anything else means Redis is unreachable.
      status = error instanceof HttpError ? error.status : 502;
      const message =
        error instanceof HttpError ? error.message : `ERR L3 backend unavailable: ${String(error)}`;
      body = JSON.stringify({ error: message });
    }
    if (!res.destroyed) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    }
    opts.onRequest?.({ path, status, commands });
    if (opts.log) {
      const names = commands.map((c) => c[0]?.toUpperCase()).join(' ');
      opts.log(
        `${req.method} ${path} ${status} [${names}] ${(performance.now() - started).toFixed(1)}ms`,
      );
    }
  });
  // Bodies are bounded by maxBodyBytes; no need for the default request timeout to cut slow tests.
  server.requestTimeout = 0;

  const host = opts.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolveListen());
    });
  } catch (error) {
    await backend.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections();
        await closed;
        await backend.close();
      })();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const token = process.env.L3_TOKEN || randomToken();
  const port = process.env.L3_PORT ? Number(process.env.L3_PORT) : 0;
  let redisUrl = process.env.REDIS_URL;
  let redis: RedisProcess | undefined;
  if (!redisUrl && findRedisServer()) {
    redis = await startRedis({});
    redisUrl = redis.url;
  } else if (!redisUrl) {
    console.log(
      'redis-server not found: using the embedded in-memory L3 store (data is lost on exit)',
    );
  }
  const l3 = await startL3Server({
    redisUrl,
    embedded: !redisUrl,
    token,
    port,
    log: (l) => console.log(l),
  });
  console.log(`L3 server listening on ${l3.url} (backend: ${redisUrl ?? 'embedded'})`);
  console.log(`UPSTASH_REDIS_REST_URL=${l3.url}`);
  if (!process.env.L3_TOKEN) console.log(`UPSTASH_REDIS_REST_TOKEN=${token}`);
  const shutdown = async () => {
    await l3.close();
    await redis?.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

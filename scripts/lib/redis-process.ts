/**
 * Runs a real `redis-server` as a child process for tests and the local stack.
 *
 * The server binds to 127.0.0.1 on a port chosen free at run time, and is
 * killed on `stop()` (or, as a last resort, when this process exits), so a
 * crashed test run does not leave a Redis behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A running redis-server started by `startRedis`. */
export interface RedisProcess {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** The child's pid (for diagnostics). */
  pid: number;
  /** Resolves when the server has exited; safe to call twice. */
  stop(): Promise<void>;
  /** Resolves with the exit code (or signal) if the server exits on its own or is stopped. */
  exited: Promise<number | string | null>;
}

export interface StartRedisOptions {
  /** Port to listen on; a free one is chosen when omitted. */
  port?: number;
  /** Working directory (RDB/AOF files). Required when `persist` is set. */
  dir?: string;
  /** Keep data across restarts (AOF + default RDB save points) instead of a pure in-memory server. */
  persist?: boolean;
  /** Path of the binary; defaults to the `redis-server` found on PATH. */
  binary?: string;
  /** Milliseconds to wait for the first PONG. */
  readyTimeoutMs?: number;
}

/**
 * Finds `redis-server` on PATH.
 *
 * @example
 * const bin = findRedisServer(); // '/usr/bin/redis-server' or null
 */
export function findRedisServer(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/**
 * Returns a TCP port that was free on 127.0.0.1 a moment ago (listen on 0, read, close).
 *
 * @example
 * const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read a free port'))));
    });
  });
}

/**
 * Spawns redis-server on 127.0.0.1 and waits until it answers PING.
 *
 * @example
 * const redis = await startRedis({});
 * // ... use redis.url ...
 * await redis.stop();
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisProcess> {
  const binary = opts.binary ?? findRedisServer();
  if (!binary) {
    throw new Error(
      'redis-server not found on PATH; install it with `apt-get install redis-server`',
    );
  }
  if (opts.persist && !opts.dir) throw new Error('startRedis: `persist` needs a `dir`');
  const dir = opts.dir ?? tmpdir();
  mkdirSync(dir, { recursive: true });
  // A port found free can be taken before redis binds it; retry on a fresh one.
  let lastError: unknown;
  for (let attempt = 0; attempt < (opts.port ? 1 : 3); attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await spawnRedis(binary, port, dir, opts);
    } catch (error) {
      lastError = error;
      if (!String(error).includes('Address already in use')) break;
    }
  }
  throw lastError;
}

async function spawnRedis(
  binary: string,
  port: number,
  dir: string,
  opts: StartRedisOptions,
): Promise<RedisProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'];
  if (opts.persist) args.push('--appendonly', 'yes');
  else args.push('--save', '', '--appendonly', 'no');
  // Own process group: a terminal Ctrl-C reaches only our parent, which stops
  // us in order (the dev stack must not see redis "die unexpectedly").
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.once('error', () => resolve(null));
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  try {
    await waitForPong(port, child, exited, opts.readyTimeoutMs ?? 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`redis-server on port ${port} did not start: ${String(error)}\n${output}`);
  }
  child.stdout?.off('data', keep);
  child.stderr?.off('data', keep);
  child.stdout?.resume();
  child.stderr?.resume();

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    exited,
    stop() {
      stopping ??= stopChild(child, exited);
      return stopping;
    },
  };
}

/** SIGTERM (redis saves and exits cleanly), then SIGKILL after 5 s. */
async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

async function waitForPong(
  port: number,
  child: ChildProcess,
  exited: Promise<unknown>,
  timeoutMs: number,
): Promise<void> {
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (dead) throw new Error(`exited early (${child.exitCode ?? child.signalCode})`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no PONG within ${timeoutMs} ms`);
}

/** One inline PING over a raw socket; true on `+PONG`. */
export function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

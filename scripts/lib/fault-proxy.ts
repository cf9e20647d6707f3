/**
 * A small HTTP reverse proxy on 127.0.0.1 in front of one region, for fault
 * injection: peers reach the region through it, so `setDown(true)` cuts the
 * region off from them (a partition) while tests still talk to it directly.
 *
 * While down it destroys every incoming connection as soon as it is accepted,
 * and going down aborts the requests in flight and drops idle keep-alive
 * connections, so callers see a network error (as with a dead link), never an
 * HTTP status.
 */
import {
  Agent,
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FaultProxyOptions {
  /** Base URL of the region, e.g. `http://127.0.0.1:8788`; `setTarget` changes it. */
  target: string;
  /** Port to listen on; 0 (default) lets the OS choose. */
  port?: number;
}

export interface FaultProxyStats {
  /** Requests received while up (forwarded or failed upstream). */
  requests: number;
  /** Connections destroyed because the proxy was down. */
  refused: number;
  /** In-flight requests aborted by `setDown(true)`. */
  aborted: number;
  /** Requests answered 502 because the region was unreachable. */
  upstreamErrors: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  readonly down: boolean;
  /** Down: refuse new connections, abort in-flight requests. Up: forward again. */
  setDown(down: boolean): void;
  /** Forward to another base URL from now on. */
  setTarget(target: string): void;
  /** Requests received while up. */
  readonly requests: number;
  stats(): FaultProxyStats;
  /** Zeroes the counters. */
  resetStats(): void;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * @example
 * const proxy = await startFaultProxy({ target: region.url });
 * // peers use proxy.url
 * proxy.setDown(true);  // partition
 * proxy.setDown(false); // heal
 * await proxy.close();
 */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  let target = new URL(opts.target);
  let down = false;
  const stats: FaultProxyStats = { requests: 0, refused: 0, aborted: 0, upstreamErrors: 0 };
  const sockets = new Set<Socket>();
  // No pooled upstream connections: after a region is killed and restarted, a
  // stale one would turn the first forwarded request into an error.
  const agent = new Agent({ keepAlive: false });
  const inFlight = new Set<ClientRequest>();

  const server: Server = createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      stats.refused++;
      return;
    }
    stats.requests++;
    const upstream = httpRequest(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        agent,
        // Host stays as the client sent it: to the region this is a link, not a gateway.
        headers: endToEnd(req.headers),
      },
      (upstreamRes) => {
        res.writeHead(
          upstreamRes.statusCode ?? 502,
          upstreamRes.statusMessage,
          endToEnd(upstreamRes.headers),
        );
        upstreamRes.pipe(res);
        upstreamRes.once('error', () => res.destroy());
      },
    );
    inFlight.add(upstream);
    upstream.once('close', () => inFlight.delete(upstream));
    upstream.once('error', (error) => {
      if (down || res.destroyed) {
        res.destroy();
        return;
      }
      stats.upstreamErrors++;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`fault-proxy: ${target.origin} unreachable: ${error.message}\n`);
    });
    // The client went away: stop the upstream request too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.on('connection', (socket: Socket) => {
    if (down) {
      stats.refused++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that sends garbage or disconnects mid-request must not crash the test process.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get down() {
      return down;
    },
    get requests() {
      return stats.requests;
    },
    setDown(value: boolean) {
      down = value;
      if (!down) return;
      for (const upstream of inFlight) {
        stats.aborted++;
        upstream.destroy();
      }
      inFlight.clear();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    setTarget(url: string) {
      target = new URL(url);
    },
    stats: () => ({ ...stats }),
    resetStats() {
      stats.requests = 0;
      stats.refused = 0;
      stats.aborted = 0;
      stats.upstreamErrors = 0;
    },
    close() {
      for (const upstream of inFlight) upstream.destroy();
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A local stand-in for Cloudflare's zone purge API, on 127.0.0.1 and a port
 * chosen at run time, for tests and the local stack.
 *
 *   POST {url}/zones/{zone_id}/purge_cache   Authorization: Bearer <token>
 *        {"tags": [...]} (or hosts, prefixes, files; at most 100 items)
 *     200 {"success": true, "errors": [], "messages": [], "result": {"id": "..."}}
 *     403 wrong token · 404 unknown zone · 400 malformed body
 *     429 + Retry-After (seconds) when the zone's token bucket is empty
 *
 * It records every purge call and enforces the rate limit of a plan (by
 * default the `free` plan's, as in src/purge/zone-limits.ts). Each zone has its
 * own calls, faults and bucket, so test files using different zone ids do not
 * disturb each other. A control API on the same server, outside `/client/v4`:
 *
 *   GET  /__calls?zone=ID    the zone's recorded calls, oldest first
 *   POST /__reset?zone=ID    forget its calls and faults, refill its bucket, and
 *                            register the zone if new; body (optional):
 *                            {"rateLimit": {"ratePerSecond": 1, "burst": 2} | null}
 *   POST /__fault?zone=ID    queue faults for its next calls:
 *                            {"status": 500, "times": 2}, {"status": 429, "retryAfter": 7},
 *                            {"delayMs": 2000} (answer late, e.g. past a client timeout)
 *
 * `zone` defaults to the server's own zone id. Faults apply after the token
 * and zone checks, before the rate limit.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BucketState,
  fullBucket,
  msUntilToken,
  takeToken,
  ZONE_PLAN_LIMITS,
  type ZoneLimits,
} from '../../src/purge/zone-limits.ts';

export interface ZoneCall {
  /** Epoch ms the call arrived. */
  at: number;
  zoneId: string;
  /** The status it was answered with. */
  status: number;
  /** The parsed JSON body (or the raw text if it was not JSON). */
  body: unknown;
}

/** What the next call(s) of a zone should suffer. */
export interface ZoneFault {
  /** Answer this status instead of purging (with a Cloudflare-style error body). */
  status?: number;
  /** With 429: the Retry-After seconds. */
  retryAfter?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** How many calls the fault applies to (default 1). */
  times?: number;
}

export type StandInRateLimit = Pick<ZoneLimits, 'ratePerSecond' | 'burst'> | null;

export interface ZoneApiStandInOptions {
  /** The zone id it serves (32 hex digits); random if omitted. */
  zoneId?: string;
  /** The Bearer token it accepts; random if omitted. */
  token?: string;
  /** Rate limit of each zone; default the free plan's; null for none. */
  rateLimit?: StandInRateLimit;
  /** Items one call may carry (default 100). */
  itemsPerCall?: number;
  /** Port; 0 (default) lets the OS choose. */
  port?: number;
  /** Clock of the rate limit (default `Date.now`). */
  now?: () => number;
}

export interface ZoneApiStandIn {
  /** The API base, `http://127.0.0.1:<port>/client/v4` (what CF_API_BASE takes). */
  url: string;
  /** `http://127.0.0.1:<port>`, where the control API lives. */
  origin: string;
  zoneId: string;
  token: string;
  /** Every purge call of every zone, oldest first (live). */
  calls: ZoneCall[];
  /** Queues a fault for a zone (default: its own). */
  fault(fault: ZoneFault, zoneId?: string): void;
  /** Resets a zone (registering it if new), optionally with a new rate limit. */
  reset(zoneId?: string, rateLimit?: StandInRateLimit): void;
  close(): Promise<void>;
}

interface ZoneState {
  faults: ZoneFault[];
  limit: StandInRateLimit;
  bucket: BucketState | null;
}

const API_PREFIX = '/client/v4';
const ZONE_ID = /^[0-9a-f]{32}$/;

/** A random id shaped like a Cloudflare zone id. */
export function randomZoneId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * @example
 * const api = await start({ rateLimit: { ratePerSecond: 1, burst: 2 } });
 * // CF_API_BASE=api.url CF_ZONE_ID=api.zoneId CF_API_TOKEN=api.token
 * api.fault({ status: 500 });
 * await api.close();
 */
export async function start(opts: ZoneApiStandInOptions = {}): Promise<ZoneApiStandIn> {
  const zoneId = opts.zoneId ?? randomZoneId();
  if (!ZONE_ID.test(zoneId)) throw new Error('zoneId must be 32 lowercase hex digits');
  const token = opts.token ?? randomBytes(20).toString('hex');
  const defaultLimit: StandInRateLimit =
    opts.rateLimit === undefined ? ZONE_PLAN_LIMITS.free : opts.rateLimit;
  const itemsPerCall = opts.itemsPerCall ?? 100;
  const now = opts.now ?? Date.now;
  const calls: ZoneCall[] = [];
  const zones = new Map<string, ZoneState>();

  const reset = (id: string, limit: StandInRateLimit = defaultLimit): void => {
    zones.set(id, { faults: [], limit, bucket: null });
    for (let i = calls.length - 1; i >= 0; i--) if (calls[i]?.zoneId === id) calls.splice(i, 1);
  };
  reset(zoneId);

  const purge = async (id: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = now();
    const text = await readBody(req);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      calls.push({ at, zoneId: id, status, body });
      send(res, status, payload, headers);
    };
    const zone = zones.get(id);
    if (!zone) {
      answer(404, envelope(7003, 'Could not route to the zone: unknown zone identifier'));
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      answer(403, envelope(10000, 'Authentication error'));
      return;
    }
    const fault = zone.faults[0];
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) zone.faults.shift();
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.status === 429) {
        const retryAfter = String(fault.retryAfter ?? 1);
        answer(429, envelope(429, 'Rate limited'), { 'retry-after': retryAfter });
        return;
      }
      if (fault.status) {
        answer(fault.status, envelope(fault.status, `Injected fault ${fault.status}`));
        return;
      }
    }
    if (zone.limit) {
      const limits = { ...zone.limit, itemsPerCall };
      const take = takeToken(zone.bucket ?? fullBucket(limits, at), limits, at);
      zone.bucket = take.state;
      if (!take.ok) {
        const seconds = Math.max(1, Math.ceil(msUntilToken(take.state, limits) / 1000));
        answer(429, envelope(429, 'Rate limited'), { 'retry-after': String(seconds) });
        return;
      }
    }
    const problem = checkPurgeBody(body, itemsPerCall);
    if (problem) {
      answer(400, envelope(1012, problem));
      return;
    }
    answer(200, { success: true, errors: [], messages: [], result: { id: randomZoneId() } });
  };

  const control = async (path: string, url: URL, req: IncomingMessage, res: ServerResponse) => {
    const id = url.searchParams.get('zone') ?? zoneId;
    if (req.method === 'GET' && path === '/__calls') {
      send(
        res,
        200,
        calls.filter((c) => c.zoneId === id),
      );
      return;
    }
    const text = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      send(res, 400, { error: 'body must be JSON' });
      return;
    }
    if (req.method === 'POST' && path === '/__reset') {
      reset(id, 'rateLimit' in body ? (body.rateLimit as StandInRateLimit) : defaultLimit);
      send(res, 200, { ok: true });
    } else if (req.method === 'POST' && path === '/__fault') {
      const zone = zones.get(id);
      if (!zone) send(res, 404, { error: 'unknown zone: POST /__reset?zone=… first' });
      else {
        zone.faults.push({ ...(body as ZoneFault) });
        send(res, 200, { ok: true });
      }
    } else send(res, 404, { error: 'not found' });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const match = /^\/client\/v4\/zones\/([^/]+)\/purge_cache$/.exec(url.pathname);
    const work =
      req.method === 'POST' && match?.[1]
        ? purge(match[1], req, res)
        : url.pathname.startsWith('/__')
          ? control(url.pathname, url, req, res)
          : Promise.resolve(send(res, 404, envelope(7000, 'No route for that URI')));
    work.catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, envelope(500, String(err)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}${API_PREFIX}`,
    origin,
    zoneId,
    token,
    calls,
    fault(fault, id = zoneId) {
      const zone = zones.get(id);
      if (!zone) throw new Error(`unknown zone ${id}`);
      zone.faults.push({ ...fault });
    },
    reset(id = zoneId, rateLimit = defaultLimit) {
      reset(id, rateLimit);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Why a purge body is refused, or null if it is fine. */
function checkPurgeBody(body: unknown, itemsPerCall: number): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'Request body must be a JSON object';
  }
  const fields = body as Record<string, unknown>;
  if (fields.purge_everything === true) return null;
  let items = 0;
  for (const name of ['tags', 'hosts', 'prefixes', 'files']) {
    const list = fields[name];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v === '')) {
      return `${name} must be an array of non-empty strings`;
    }
    items += list.length;
  }
  if (items === 0) return 'Nothing to purge: give tags, hosts, prefixes or files';
  if (items > itemsPerCall) return `At most ${itemsPerCall} items may be purged in one request`;
  return null;
}

function envelope(code: number, message: string) {
  return { success: false, errors: [{ code, message }], messages: [], result: null };
}

function send(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(payload));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A scriptable HTTP origin for trying and testing proxy mode: it answers
 * any path with what the query string asks for, or with a script of
 * responses a test queued for that path, and records every request it got.
 *
 *   GET /page?h=cache-control:max-age%3D60&h=cache-tag:news&body=hello
 *       200, those fields, body "hello" (default body: "<METHOD> <path> #<n>",
 *       n counting this path's requests, so a cached answer is recognisable)
 *   &status=404          the status
 *   &etag=v1             ETag "v1"; a matching If-None-Match gets a 304
 *   &lm=<HTTP-date>      Last-Modified; If-Modified-Since at or after it gets a 304
 *   &vary=accept-language  Vary, and the body names the request's values
 *   &delay=250           answer after 250 ms
 *
 * Control endpoints (not proxied content; tests call them directly):
 *   POST /__origin/script  {"path": "/x", "responses": [{status, headers, body}]}
 *                          the next requests for /x get these in order, then the query string's
 *   GET  /__origin/requests?path=/x   [{method, url, headers, body}] received for /x
 *   POST /__origin/mode    {"mode": "up" | "down" | "error"}  down: every request's
 *                          connection is dropped unanswered; error: every answer is a 503
 *   POST /__origin/reset   forget scripts, requests and mode
 *
 * Listens on 127.0.0.1 only.
 *
 * @example
 * const origin = await startScriptedOrigin(0);
 * await fetch(`${origin.url}/a?h=cache-control:max-age%3D5`);
 * origin.requests('/a').length; // 1
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Milliseconds to wait before answering. */
  delay?: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface ScriptedOrigin {
  url: string;
  port: number;
  requests(path: string): RecordedRequest[];
  stop(): Promise<void>;
}

type Mode = 'up' | 'down' | 'error';

export async function startScriptedOrigin(port = 0, host = '127.0.0.1'): Promise<ScriptedOrigin> {
  const scripts = new Map<string, ScriptedResponse[]>();
  const seen = new Map<string, RecordedRequest[]>();
  let mode: Mode = 'up';

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://origin.local');
    const body = await readBody(req);
    if (url.pathname.startsWith('/__origin/')) return control(url, req.method ?? 'GET', body, res);
    if (mode === 'down') {
      req.socket.destroy();
      return;
    }
    const list = seen.get(url.pathname) ?? [];
    list.push({
      method: req.method ?? 'GET',
      url: url.pathname + url.search,
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.join(', ') : (v ?? ''),
        ]),
      ),
      body,
    });
    seen.set(url.pathname, list);
    if (mode === 'error') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('origin error');
      return;
    }
    const queued = scripts.get(url.pathname)?.shift();
    const answer = queued ?? fromQuery(url, req, list.length);
    if (answer.delay) await new Promise((r) => setTimeout(r, answer.delay));
    const headers = { ...(answer.headers ?? {}) };
    const status = answer.status ?? 200;
    res.writeHead(status, headers);
    res.end(
      req.method === 'HEAD' || status === 304 || status === 204 ? undefined : (answer.body ?? ''),
    );
  }

  function control(url: URL, method: string, body: string, res: ServerResponse): void {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const op = url.pathname.slice('/__origin/'.length);
    if (op === 'requests' && method === 'GET') {
      json(200, seen.get(url.searchParams.get('path') ?? '') ?? []);
      return;
    }
    if (method !== 'POST') {
      json(405, { error: 'POST' });
      return;
    }
    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    if (op === 'script') {
      const path = String(input.path);
      scripts.set(path, [
        ...(scripts.get(path) ?? []),
        ...((input.responses as ScriptedResponse[]) ?? []),
      ]);
      json(200, { queued: scripts.get(path)?.length ?? 0 });
      return;
    }
    if (op === 'mode') {
      mode = (['up', 'down', 'error'] as const).find((m) => m === input.mode) ?? 'up';
      json(200, { mode });
      return;
    }
    if (op === 'reset') {
      scripts.clear();
      seen.clear();
      mode = 'up';
      json(200, { ok: true });
      return;
    }
    json(404, { error: `unknown control ${op}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    requests: (path) => seen.get(path) ?? [],
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The answer the query string describes (see the module comment). */
function fromQuery(url: URL, req: IncomingMessage, n: number): ScriptedResponse {
  const q = url.searchParams;
  const headers: Record<string, string> = {};
  for (const h of q.getAll('h')) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  let status = Number(q.get('status') ?? 200);
  const etag = q.get('etag');
  const lm = q.get('lm');
  if (etag) headers.etag = `"${etag}"`;
  if (lm) headers['last-modified'] = lm;
  const vary = q.get('vary');
  if (vary) headers.vary = vary;
  let body = q.get('body') ?? `${req.method} ${url.pathname} #${n}`;
  if (vary) {
    const values = vary
      .split(',')
      .map((name) => `${name.trim()}=${req.headers[name.trim().toLowerCase()] ?? ''}`);
    body += ` (${values.join('; ')})`;
  }
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  if (
    etag &&
    typeof inm === 'string' &&
    inm.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${etag}"`)
  )
    status = 304;
  else if (!etag && lm && typeof ims === 'string' && Date.parse(ims) >= Date.parse(lm))
    status = 304;
  headers['content-type'] ??= 'text/plain';
  return { status, headers, body, delay: Number(q.get('delay') ?? 0) };
}

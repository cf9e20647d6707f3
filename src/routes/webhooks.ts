/**
 * Signed invalidation webhooks (Standard Webhooks). No API key: the
 * signature is the credential, so `/v1/webhooks/*` skips the auth middleware.
 *
 * - `POST /v1/webhooks/invalidate`            endpoint `default`
 * - `POST /v1/webhooks/invalidate/:endpoint`  a named endpoint
 *
 * Order of checks, cheapest first, each with its answer:
 *   unknown endpoint, or one without secrets            404 not-found
 *   no `webhook-signature`, or more than 10 entries      401 invalid-signature
 *   no or malformed `webhook-id` / `webhook-timestamp`   400 bad-request
 *   timestamp more than 300 s from now, either way       401 invalid-signature
 *   body over 64 KiB (counted while reading)             413 payload-too-large
 *   no entry signed by any of the endpoint's secrets     401 invalid-signature
 *   not JSON, `type` not `cache.invalidate`, bad `data`  400 bad-request / invalid-purge / ...
 *   `data.namespace` outside the endpoint's namespaces   403 forbidden
 *   `webhook-id` already accepted by this endpoint       409 conflict
 *   otherwise the purge is submitted                     202, as `POST /v1/purge`
 *
 * The id is claimed only once the delivery is known to be good (so a
 * rejected delivery may be resent under the same id), and in the same
 * transaction that accepts the purge (so a failure between the two cannot
 * lose the purge and refuse its resend). Secrets and signatures
 * are never logged or echoed.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { configFor } from '../env.ts';
import { StrataError } from '../errors.ts';
import { isolateMetrics } from '../metrics/recorder.ts';
import { type PurgeRequest, parsePurgeRequest } from '../purge/request.ts';
import { type PurgeAccepted, submitWebhookPurge } from '../purge/submit.ts';
import { DEFAULT_ENDPOINT, endpointFor, type WebhookEndpoint } from '../webhooks/config.ts';
import {
  checkHeaders,
  TOLERANCE_SECONDS,
  verifySignature,
  type WebhookFailure,
} from '../webhooks/standard-webhooks.ts';
import { readBody } from './cache.ts';

/** Largest webhook body read; a purge names at most 100 selectors, far below this. */
export const MAX_WEBHOOK_BYTES = 64 * 1024;
/** The one event type this endpoint acts on. */
export const INVALIDATE_EVENT = 'cache.invalidate';
/** How long an accepted id is remembered: a replay must be refused for as long as its timestamp passes. */
const REPLAY_WINDOW_MS = 2 * TOLERANCE_SECONDS * 1000;
// Malformed UTF-8 is an error, not U+FFFD: a purge must name exactly what was signed.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

type WebhookResult = 'ok' | 'invalid-signature' | 'expired' | 'replay' | 'invalid';

export const webhookRoutes = new Hono<AppEnv>();

webhookRoutes.post('/invalidate', (c) => invalidate(c, DEFAULT_ENDPOINT));
webhookRoutes.post('/invalidate/:endpoint', (c) => invalidate(c, c.req.param('endpoint')));

async function invalidate(c: Context<AppEnv>, name: string): Promise<Response> {
  const endpoint = endpointFor(c.env, name);
  // Same answer for unknown and disabled endpoints; not counted, so no label from the URL.
  if (!endpoint) throw new StrataError('not-found', 'No such webhook endpoint.');
  try {
    const accepted = await accept(c, endpoint);
    count(endpoint, 'ok');
    return c.json(accepted, 202, { location: accepted.status });
  } catch (err) {
    // Server-side failures (5xx) are the HTTP metrics' business, not the sender's fault.
    if (err instanceof StrataError && err.status < 500) count(endpoint, resultOf(err));
    throw err;
  }
}

async function accept(c: Context<AppEnv>, endpoint: WebhookEndpoint): Promise<PurgeAccepted> {
  const check = checkHeaders(
    {
      id: c.req.header('webhook-id'),
      timestamp: c.req.header('webhook-timestamp'),
      signature: c.req.header('webhook-signature'),
    },
    Date.now(),
  );
  if (!check.ok) throw headerError(check.reason, check.skewSeconds);
  const body = await readWebhookBody(c.req.raw);
  if (!(await verifySignature(check.headers, body, endpoint.keys)))
    throw headerError('invalid-signature');

  const request = parseEvent(body);
  if (endpoint.namespaces && !endpoint.namespaces.has(request.namespace))
    throw new StrataError(
      'forbidden',
      `This webhook endpoint may not purge the namespace "${request.namespace}".`,
    );

  // The region's PurgeDO records the id with the purge, in one transaction: a replay accepts nothing.
  const accepted = await submitWebhookPurge(c.env, configFor(c.env), request, {
    endpoint: endpoint.name,
    id: check.headers.id,
    expiresAt: Date.now() + REPLAY_WINDOW_MS,
  });
  if (!accepted)
    throw new StrataError(
      'conflict',
      'This webhook-id was already accepted: the delivery is a replay and was not applied again.',
      { extensions: { reason: 'replay' } },
    );
  return accepted;
}

/** The body as bytes (signatures cover bytes), refused past `MAX_WEBHOOK_BYTES` while reading. */
async function readWebhookBody(req: Request): Promise<Uint8Array> {
  try {
    return await readBody(req, MAX_WEBHOOK_BYTES);
  } catch (err) {
    if (err instanceof StrataError && err.code === 'payload-too-large')
      throw new StrataError(
        'payload-too-large',
        `Webhook bodies are limited to ${MAX_WEBHOOK_BYTES} bytes.`,
        { cause: err, extensions: { limit: MAX_WEBHOOK_BYTES } },
      );
    throw err;
  }
}

/** `{"type": "cache.invalidate", "timestamp": "<ISO 8601>", "data": <a POST /v1/purge body>}`. */
function parseEvent(body: Uint8Array): PurgeRequest {
  let event: unknown;
  try {
    event = JSON.parse(utf8.decode(body));
  } catch {
    throw new StrataError('bad-request', 'The webhook body is not UTF-8 JSON.');
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new StrataError(
      'bad-request',
      `A webhook body is a JSON object: {"type": "${INVALIDATE_EVENT}", "timestamp": "<ISO 8601>", "data": {...}}.`,
    );
  const { type, timestamp, data } = event as Record<string, unknown>;
  if (type !== INVALIDATE_EVENT)
    throw new StrataError(
      'invalid-purge',
      `Unknown webhook type ${JSON.stringify(typeof type === 'string' ? type.slice(0, 64) : (type ?? null))}: this endpoint acts on "${INVALIDATE_EVENT}" only.`,
    );
  // The signed header timestamp is what counts; the payload's is informative, but must be well formed.
  if (
    timestamp !== undefined &&
    (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp)))
  )
    throw new StrataError('bad-request', 'The webhook "timestamp" is not an ISO 8601 date.');
  return parsePurgeRequest(data);
}

function headerError(reason: WebhookFailure, skewSeconds?: number): StrataError {
  switch (reason) {
    case 'missing-signature':
      return new StrataError('invalid-signature', 'The webhook-signature header is missing.');
    case 'too-many-signatures':
      return new StrataError(
        'invalid-signature',
        'The webhook-signature header lists more than 10 signatures.',
      );
    case 'missing-id':
      return new StrataError('bad-request', 'The webhook-id header is missing.');
    case 'malformed-id':
      return new StrataError(
        'bad-request',
        'The webhook-id header must be 1-256 visible ASCII characters.',
      );
    case 'missing-timestamp':
      return new StrataError('bad-request', 'The webhook-timestamp header is missing.');
    case 'malformed-timestamp':
      return new StrataError(
        'bad-request',
        'The webhook-timestamp header must be Unix seconds (digits only).',
      );
    case 'expired':
      return new StrataError(
        'invalid-signature',
        `The webhook-timestamp is ${Math.abs(skewSeconds ?? 0)} s in the ${(skewSeconds ?? 0) < 0 ? 'past' : 'future'}; at most ${TOLERANCE_SECONDS} s either way is accepted.`,
        { extensions: { reason: 'expired', tolerance: TOLERANCE_SECONDS } },
      );
    case 'invalid-signature':
      return new StrataError(
        'invalid-signature',
        'No webhook-signature entry matches this delivery under any of the endpoint’s secrets.',
      );
  }
}

function resultOf(err: StrataError): WebhookResult {
  if (err.code === 'conflict') return 'replay';
  if (err.code === 'invalid-signature')
    return err.extensions.reason === 'expired' ? 'expired' : 'invalid-signature';
  return 'invalid';
}

function count(endpoint: WebhookEndpoint, result: WebhookResult): void {
  isolateMetrics.inc('strata_webhooks_total', { endpoint: endpoint.name, result });
}

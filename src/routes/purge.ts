/**
 * `POST /v1/purge` and `GET /v1/purge/:id` (README "Purge").
 *
 * A purge needs `write` on its namespace; reading its status needs `read`
 * on the same namespace. The body is validated before anything happens
 * (src/purge/request.ts); the answer is 202 with the purge's id once this
 * region's shards have applied it, the other regions, L3 and the zone
 * following from the region's PurgeDO.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { authorize } from '../auth/principal.ts';
import { configFor } from '../env.ts';
import { StrataError } from '../errors.ts';
import { parsePurgeRequest } from '../purge/request.ts';
import { PURGE_ID, purgeStatus, submitPurge } from '../purge/submit.ts';
import { readBody } from './cache.ts';

export const purgeRoutes = new Hono<AppEnv>();

/** Largest purge body: 100 selectors of at most 512 bytes each fit with room to spare. */
export const MAX_PURGE_BODY_BYTES = 64 * 1024;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

purgeRoutes.post('/', async (c) => {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new StrataError('bad-request', 'A purge is sent as application/json.');
  const bytes = await readBody(c.req.raw, MAX_PURGE_BODY_BYTES);
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new StrataError('invalid-purge', 'The body is not valid UTF-8 JSON.');
  }
  const request = parsePurgeRequest(body);
  const principal = c.get('principal');
  authorize(principal, 'write', request.namespace);
  const config = configFor(c.env);
  // Without a webhook claim there is no replay to refuse: an answer always comes back.
  const accepted = (await submitPurge(
    c.env,
    config,
    request,
    `api:${principal.id}`,
  )) as NonNullable<Awaited<ReturnType<typeof submitPurge>>>;
  return c.json(accepted, 202, { location: accepted.status });
});

purgeRoutes.get('/:id', async (c) => {
  const id = c.req.param('id');
  if (!PURGE_ID.test(id)) throw new StrataError('not-found', 'No such purge.');
  const status = await purgeStatus(c.env, configFor(c.env), id);
  if (!status) throw new StrataError('not-found', 'No such purge in this region.');
  authorize(c.get('principal'), 'read', status.namespace);
  return c.json(status, 200);
});

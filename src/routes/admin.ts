/**
 * Key management, mounted at `/v1/admin` behind `authenticate()`:
 *
 * - `POST /keys` `{ name?, namespaces, scopes }` → 201 with the full key,
 *   shown this once (`Cache-Control: no-store`);
 * - `GET /keys` → every key of this region, without secrets or hashes;
 * - `DELETE /keys/:id` → 204, or 404 if the id is unknown.
 *
 * Every route needs the `admin` scope on every namespace. Revocation takes
 * effect at once in this isolate and within `AUTH_CACHE_TTL` seconds in the
 * others (see src/auth/api-keys.ts).
 */
import { Hono, type MiddlewareHandler } from 'hono';
// zod/mini: the same validator, tree-shakable (the full build adds ~800 KB to the Worker).
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { AppEnv } from '../app-env.ts';
import {
  formatApiKey,
  isKeyId,
  isNamespacePattern,
  type KeySummary,
  MAX_NAMESPACE_PATTERNS,
  SCOPES,
} from '../auth/api-keys.ts';
import { KEYS_OBJECT_NAME, keyRecordCacheFor } from '../auth/middleware.ts';
import { authorize } from '../auth/principal.ts';
import { StrataError } from '../errors.ts';

/** Largest accepted request body for key creation, in bytes. */
export const MAX_ADMIN_BODY_BYTES = 16 * 1024;

const CONTROL = /\p{Cc}/u;

/** Body of `POST /v1/admin/keys`. Unknown fields are rejected, so a typo such as `scope` cannot pass silently. */
export const createKeyBody = z.strictObject({
  name: z.optional(
    z.string().check(
      z.minLength(1),
      z.maxLength(100),
      z.refine((s) => !CONTROL.test(s), 'must not contain control characters'),
    ),
  ),
  namespaces: z
    .array(
      z
        .string()
        .check(
          z.refine(
            isNamespacePattern,
            'must be "*", a namespace, or a namespace prefix followed by "*"',
          ),
        ),
    )
    .check(z.minLength(1), z.maxLength(MAX_NAMESPACE_PATTERNS)),
  scopes: z.array(z.enum(SCOPES as ['read', 'write', 'admin'])).check(z.minLength(1)),
});

/** A key as the admin API shows it: never a secret or a hash. */
interface KeyView {
  id: string;
  name: string | null;
  namespaces: string[];
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
}

// English messages for validation problems (zod/mini ships none by default).
z.config(en());

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use('*', async function requireAdmin(c, next) {
  const principal = c.get('principal');
  if (!principal)
    throw new StrataError('internal', 'Admin routes are mounted without authentication.');
  authorize(principal, 'admin', null);
  await next();
} satisfies MiddlewareHandler<AppEnv>);

adminRoutes.post('/keys', async (c) => {
  const body = createKeyBody.safeParse(await readJson(c.req.raw));
  if (!body.success) {
    const problems = body.error.issues.map((i) => ({
      path: i.path.join('.') || '(body)',
      message: i.message,
    }));
    throw new StrataError(
      'bad-request',
      `Invalid key request: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}.`,
      { extensions: { errors: problems } },
    );
  }
  const { name, namespaces, scopes } = body.data;
  const created = await c.env.KEYS.getByName(KEYS_OBJECT_NAME).create({
    ...(name !== undefined ? { name } : {}),
    namespaces,
    scopes,
  });
  const view = toView(created.record);
  return c.json(
    {
      id: view.id,
      key: formatApiKey({ id: created.id, secret: created.secret }),
      name: view.name,
      namespaces: view.namespaces,
      scopes: view.scopes,
      createdAt: view.createdAt,
    },
    201,
    { 'Cache-Control': 'no-store' },
  );
});

adminRoutes.get('/keys', async (c) => {
  const keys = await c.env.KEYS.getByName(KEYS_OBJECT_NAME).list();
  return c.json({ keys: keys.map(toView) }, 200, { 'Cache-Control': 'no-store' });
});

adminRoutes.delete('/keys/:id', async (c) => {
  const id = c.req.param('id');
  const revoked = isKeyId(id) && (await c.env.KEYS.getByName(KEYS_OBJECT_NAME).revoke(id));
  if (!revoked) {
    throw new StrataError('not-found', 'No API key has this id.', {
      extensions: { id: id.slice(0, 64) },
    });
  }
  // This isolate stops accepting the key now; others within AUTH_CACHE_TTL.
  keyRecordCacheFor(c.env).delete(id);
  return c.body(null, 204, { 'Cache-Control': 'no-store' });
});

/**
 * Reads a JSON body: `application/json` (or a `+json` type), at most
 * `MAX_ADMIN_BODY_BYTES`, parsable. Everything else is a 400 problem.
 */
async function readJson(request: Request): Promise<unknown> {
  const type =
    (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    // 415 would be the precise status (RFC 9110 §15.5.16); errors.ts has no code for it yet.
    throw new StrataError('bad-request', 'Send the body as Content-Type: application/json.');
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_ADMIN_BODY_BYTES) throw tooLarge();
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > MAX_ADMIN_BODY_BYTES) throw tooLarge();
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (cause) {
    throw new StrataError('bad-request', 'The request body is not valid JSON.', { cause });
  }
}

function tooLarge(): StrataError {
  return new StrataError('payload-too-large', `The body exceeds ${MAX_ADMIN_BODY_BYTES} bytes.`, {
    extensions: { limit: MAX_ADMIN_BODY_BYTES },
  });
}

function toView(key: KeySummary): KeyView {
  return {
    id: key.id,
    name: key.name,
    namespaces: [...key.namespaces],
    scopes: [...key.scopes],
    createdAt: new Date(key.createdAt).toISOString(),
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}

/**
 * Webhook endpoints: which secrets sign deliveries to
 * `POST /v1/webhooks/invalidate/<endpoint>`, and which namespaces each
 * endpoint may purge. Parsed once per `env` object (a WeakMap, as
 * `configFor`); a malformed variable throws, which is a deploy error.
 *
 *   WEBHOOK_ENDPOINTS='{"cms": {"secrets": ["whsec_...", "whsec_..."], "namespaces": ["pages"]}}'
 *   STRATA_WEBHOOK_SECRET='whsec_... [whsec_...]'   # endpoint "default", every namespace
 *
 * Several secrets are valid at once (rotation). An endpoint listed with
 * `"secrets": []` is switched off and answers 404, as an unknown one does.
 * Pure: no runtime imports.
 */
import type { Env } from '../env.ts';
import { LIMITS } from '../limits.ts';
import { parseSecret } from './standard-webhooks.ts';

/** Endpoint names, as namespaces: lower-case letters, digits, `-` and `_`, 1-64 chars. */
export const ENDPOINT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** The endpoint `POST /v1/webhooks/invalidate` speaks to, and the one `STRATA_WEBHOOK_SECRET` configures. */
export const DEFAULT_ENDPOINT = 'default';
/** Secrets one endpoint may have at once: a rotation needs two, a slow one three. */
export const MAX_SECRETS = 10;

export interface WebhookEndpoint {
  name: string;
  /** HMAC keys (the decoded secrets), any of which may sign. Never logged. */
  keys: readonly Uint8Array[];
  /** The namespaces this endpoint may purge; `null`: every namespace. */
  namespaces: ReadonlySet<string> | null;
}

type WebhookVars = Pick<Env, 'WEBHOOK_ENDPOINTS' | 'STRATA_WEBHOOK_SECRET'>;

const cache = new WeakMap<object, ReadonlyMap<string, WebhookEndpoint>>();

/**
 * The endpoints configured in `env`, parsed once per `env` object.
 * @example webhookEndpointsFor(c.env).get('cms')
 */
export function webhookEndpointsFor(env: WebhookVars): ReadonlyMap<string, WebhookEndpoint> {
  const cached = cache.get(env);
  if (cached) return cached;
  const endpoints = parseWebhookEndpoints(env);
  cache.set(env, endpoints);
  return endpoints;
}

/**
 * The endpoint called `name` if it exists and has at least one secret, else
 * `null` (the route answers 404 either way, so configured names stay private).
 * @example endpointFor(c.env, c.req.param('endpoint'))
 */
export function endpointFor(env: WebhookVars, name: string): WebhookEndpoint | null {
  if (!ENDPOINT_PATTERN.test(name)) return null;
  const endpoint = webhookEndpointsFor(env).get(name);
  return endpoint && endpoint.keys.length > 0 ? endpoint : null;
}

/**
 * Parses both variables. Throws an `Error` naming the variable and the field
 * at fault, never a secret's value.
 * @example parseWebhookEndpoints({ STRATA_WEBHOOK_SECRET: 'whsec_...' }).get('default')
 */
export function parseWebhookEndpoints(vars: WebhookVars): Map<string, WebhookEndpoint> {
  const endpoints = parseEndpointsJson(vars.WEBHOOK_ENDPOINTS);
  const single = vars.STRATA_WEBHOOK_SECRET?.trim();
  if (single) {
    if (endpoints.has(DEFAULT_ENDPOINT))
      throw new Error(
        `STRATA_WEBHOOK_SECRET and WEBHOOK_ENDPOINTS both configure the endpoint "${DEFAULT_ENDPOINT}": use one of them`,
      );
    const secrets = single.split(/\s+/);
    endpoints.set(DEFAULT_ENDPOINT, {
      name: DEFAULT_ENDPOINT,
      keys: parseSecrets('STRATA_WEBHOOK_SECRET', secrets),
      namespaces: null,
    });
  }
  return endpoints;
}

function parseEndpointsJson(raw: string | undefined): Map<string, WebhookEndpoint> {
  const endpoints = new Map<string, WebhookEndpoint>();
  if (raw === undefined || raw.trim() === '') return endpoints;
  const shape =
    'WEBHOOK_ENDPOINTS must be a JSON object: {"<endpoint>": {"secrets": ["whsec_..."], "namespaces"?: ["<namespace>"]}}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(shape);
  }
  if (!isObject(parsed)) throw new Error(shape);
  for (const [name, value] of Object.entries(parsed)) {
    const where = `WEBHOOK_ENDPOINTS.${name}`;
    if (!ENDPOINT_PATTERN.test(name))
      throw new Error(
        `WEBHOOK_ENDPOINTS: "${name}" is not a valid endpoint name (${ENDPOINT_PATTERN.source})`,
      );
    if (!isObject(value)) throw new Error(`${where} must be an object with "secrets"`);
    const unknown = Object.keys(value).filter((k) => k !== 'secrets' && k !== 'namespaces');
    if (unknown.length > 0)
      throw new Error(
        `${where} has unknown fields (${unknown.join(', ')}): only "secrets" and "namespaces"`,
      );
    const secrets = value.secrets;
    if (!Array.isArray(secrets) || !secrets.every((s) => typeof s === 'string'))
      throw new Error(`${where}.secrets must be an array of "whsec_..." strings`);
    endpoints.set(name, {
      name,
      keys: parseSecrets(`${where}.secrets`, secrets),
      namespaces: value.namespaces === undefined ? null : parseNamespaces(where, value.namespaces),
    });
  }
  return endpoints;
}

function parseSecrets(where: string, secrets: readonly string[]): Uint8Array[] {
  if (secrets.length > MAX_SECRETS)
    throw new Error(`${where} lists ${secrets.length} secrets; at most ${MAX_SECRETS}`);
  return secrets.map((secret, i) => {
    try {
      return parseSecret(secret);
    } catch (err) {
      // The message is parseSecret's own, which never contains the secret.
      throw new Error(`${where}[${i}]: ${(err as Error).message}`);
    }
  });
}

function parseNamespaces(where: string, value: unknown): ReadonlySet<string> {
  if (!Array.isArray(value) || value.length === 0)
    throw new Error(
      `${where}.namespaces must be a non-empty array of namespaces (leave it out for every namespace)`,
    );
  for (const ns of value)
    if (typeof ns !== 'string' || !LIMITS.namespacePattern.test(ns))
      throw new Error(`${where}.namespaces: ${JSON.stringify(ns)} is not a valid namespace`);
  return new Set(value as string[]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

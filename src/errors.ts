/**
 * One error class for everything Strata reports to a client, with a `code`
 * union so `switch (err.code)` narrows, and one mapping to RFC 9457
 * problem+json (`problemResponse`).
 */

export type ErrorCode =
  | 'bad-request'
  | 'invalid-namespace'
  | 'invalid-key'
  | 'invalid-cache-control'
  | 'invalid-tag'
  | 'invalid-content-type'
  | 'invalid-priority'
  | 'payload-too-large'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'tier-unavailable'
  | 'invalid-consistency'
  | 'quorum-not-reached'
  | 'home-unreachable'
  | 'conflict'
  | 'invalid-purge'
  | 'invalid-signature'
  | 'uri-too-long'
  | 'origin-unreachable'
  | 'origin-timeout'
  | 'not-cached'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  'bad-request': 400,
  'invalid-namespace': 400,
  'invalid-key': 400,
  'invalid-cache-control': 400,
  'invalid-tag': 400,
  'invalid-content-type': 400,
  'invalid-priority': 400,
  'payload-too-large': 413,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'tier-unavailable': 503,
  'invalid-consistency': 400,
  'quorum-not-reached': 503,
  'home-unreachable': 503,
  conflict: 409,
  'invalid-purge': 400,
  'invalid-signature': 401,
  'uri-too-long': 414,
  'origin-unreachable': 502,
  'origin-timeout': 504,
  'not-cached': 504,
  internal: 500,
};

const TITLE: Record<ErrorCode, string> = {
  'bad-request': 'Bad request',
  'invalid-namespace': 'Invalid namespace',
  'invalid-key': 'Invalid key',
  'invalid-cache-control': 'Invalid Cache-Control',
  'invalid-tag': 'Invalid Cache-Tag',
  'invalid-content-type': 'Invalid Content-Type',
  'invalid-priority': 'Invalid Cache-Priority or Cache-Cost',
  'payload-too-large': 'Payload too large',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  'tier-unavailable': 'Tier unavailable',
  'invalid-consistency': 'Invalid Strata-Consistency',
  'quorum-not-reached': 'Quorum not reached',
  'home-unreachable': 'Home region unreachable',
  conflict: 'Conflict',
  'invalid-purge': 'Invalid purge',
  'invalid-signature': 'Invalid webhook signature',
  'uri-too-long': 'URI too long',
  'origin-unreachable': 'Origin unreachable',
  'origin-timeout': 'Origin timeout',
  'not-cached': 'Not in cache',
  internal: 'Internal error',
};

export interface StrataErrorOptions {
  cause?: unknown;
  /** Extra members for the problem document (RFC 9457 §3.2), e.g. `{ limit: 512 }`. */
  extensions?: Record<string, unknown>;
  /** Response headers, e.g. `WWW-Authenticate` on 401. */
  headers?: Record<string, string>;
}

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail: string, options: StrataErrorOptions = {}) {
    super(detail, { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.status = STATUS[code];
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

/** The URI naming a problem type (RFC 9457 §3.1.1). */
export function problemType(code: ErrorCode): string {
  return `urn:strata:problem:${code}`;
}

/**
 * Renders an error as `application/problem+json`. Unknown errors become a
 * generic 500 whose detail never leaks internals.
 */
export function problemResponse(err: unknown, instance?: string): Response {
  const e =
    err instanceof StrataError
      ? err
      : new StrataError('internal', 'The request could not be completed.');
  // Extensions first: a standard member (RFC 9457 §3.1) must never be overridden.
  const body = {
    ...e.extensions,
    type: problemType(e.code),
    title: TITLE[e.code],
    status: e.status,
    detail: e.message,
    ...(instance ? { instance } : {}),
  };
  return new Response(JSON.stringify(body), {
    status: e.status,
    headers: { 'content-type': 'application/problem+json', ...e.headers },
  });
}

/**
 * Who is calling, and what they may do. Produced by the auth middleware from
 * an API key or a JWT; consumed by routes through `authorize`.
 */
import { StrataError } from '../errors.ts';

export type Scope = 'read' | 'write' | 'admin';

export interface Principal {
  /** `key:<id>`, `admin:bootstrap` or `jwt:<sub>`; safe to log (never a secret). */
  id: string;
  kind: 'api-key' | 'jwt' | 'bootstrap';
  scopes: ReadonlySet<Scope>;
  /**
   * Namespace patterns: an exact name, a prefix ending in `*` (`team-a-*`),
   * or `*` for every namespace.
   */
  namespaces: readonly string[];
}

/** True if `pattern` (exact, `prefix*` or `*`) covers `namespace`. */
export function namespaceMatches(pattern: string, namespace: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return namespace.startsWith(pattern.slice(0, -1));
  return pattern === namespace;
}

/**
 * Throws 403 unless `principal` holds `scope` (or `admin`) on `namespace`.
 * Pass `namespace = null` for cluster-wide operations (key management),
 * which need `admin` on `*`.
 */
export function authorize(principal: Principal, scope: Scope, namespace: string | null): void {
  const hasScope = principal.scopes.has(scope) || principal.scopes.has('admin');
  const inNamespace =
    namespace === null
      ? principal.namespaces.includes('*')
      : principal.namespaces.some((p) => namespaceMatches(p, namespace));
  if (!hasScope || !inNamespace) {
    throw new StrataError(
      'forbidden',
      namespace === null
        ? `This operation needs the "${scope}" scope on every namespace.`
        : `This credential lacks the "${scope}" scope on namespace "${namespace}".`,
    );
  }
}

/** Namespace pattern matching and `authorize`, as tables (node). */
import { describe, expect, it } from 'vitest';
import {
  authorize,
  namespaceMatches,
  type Principal,
  type Scope,
} from '../../src/auth/principal.ts';
import { StrataError } from '../../src/errors.ts';

describe('namespaceMatches', () => {
  it.each([
    ['*', 'anything', true],
    ['a', 'a', true],
    ['a', 'ab', false],
    ['a', 'b', false],
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'team', false],
    ['team-*', 'other-team-a', false],
    ['t*', 'team', true],
  ])('%j covers %j: %s', (pattern, namespace, expected) => {
    expect(namespaceMatches(pattern, namespace)).toBe(expected);
  });
});

describe('authorize', () => {
  const principal = (scopes: Scope[], namespaces: string[]): Principal => ({
    id: 'key:test',
    kind: 'api-key',
    scopes: new Set(scopes),
    namespaces,
  });

  const table: [string, Principal, Scope, string | null, boolean][] = [
    ['read on own namespace', principal(['read'], ['a']), 'read', 'a', true],
    ['write without write scope', principal(['read'], ['a']), 'write', 'a', false],
    ['read on another namespace', principal(['read', 'write'], ['a']), 'read', 'b', false],
    ['prefix grant', principal(['write'], ['team-*']), 'write', 'team-x', true],
    ['prefix grant, outside', principal(['write'], ['team-*']), 'write', 'tea', false],
    ['admin implies read', principal(['admin'], ['a']), 'read', 'a', true],
    ['admin implies write', principal(['admin'], ['a']), 'write', 'a', true],
    [
      'admin on one namespace is not cluster admin',
      principal(['admin'], ['a']),
      'admin',
      null,
      false,
    ],
    ['admin on a prefix is not cluster admin', principal(['admin'], ['a*']), 'admin', null, false],
    ['admin on * is cluster admin', principal(['admin'], ['*']), 'admin', null, true],
    ['read on * is not admin', principal(['read', 'write'], ['*']), 'admin', null, false],
    ['several grants', principal(['read'], ['x', 'y-*']), 'read', 'y-1', true],
  ];

  it.each(table)('%s', (_name, p, scope, namespace, allowed) => {
    if (allowed) {
      expect(() => authorize(p, scope, namespace)).not.toThrow();
    } else {
      try {
        authorize(p, scope, namespace);
        expect.unreachable('authorize should have thrown');
      } catch (err) {
        expect(err).toBeInstanceOf(StrataError);
        expect((err as StrataError).status).toBe(403);
        expect((err as StrataError).code).toBe('forbidden');
      }
    }
  });
});

import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { noauthContext, type NoauthSettings } from '../../src/auth/context.js';

// noauth's identity: the configured one, or the trusted X-* headers, which then carry the roles too.

const settings = (trustHeaders: boolean): NoauthSettings => ({ project: 'admin', user: 'admin', roles: ['admin', 'member', 'reader'], trustHeaders });
const headers = (h: Record<string, string>) => (n: string) => h[n];

test('untrusted headers: the configured identity and roles, whatever is sent', () => {
  const c = noauthContext(settings(false), headers({ 'x-project-id': 'p1', 'x-roles': 'reader' }), 'req-1');
  assert.equal([c.projectId, c.userId, c.roles, c.isAdmin], ['admin', 'admin', ['admin', 'member', 'reader'], true]);
});

test('trusted headers: project and user default to the configured ones, roles to none', () => {
  const none = noauthContext(settings(true), headers({}), 'req-2');
  assert.equal([none.projectId, none.userId, none.roles, none.isAdmin], ['admin', 'admin', [], false]);
  const project = noauthContext(settings(true), headers({ 'x-project-id': 'p1' }), 'req-3');
  assert.equal([project.projectId, project.roles, project.isAdmin], ['p1', [], false]);
  const roles = noauthContext(settings(true), headers({ 'x-tenant-id': 'p2', 'x-user-id': 'u', 'x-roles': ' Admin , reader,' }), 'req-4');
  assert.equal([roles.projectId, roles.userId, roles.roles, roles.isAdmin], ['p2', 'u', ['admin', 'reader'], true]);
});

test.run();
